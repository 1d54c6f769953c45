//! The loop device family's binding: `core.loop.create`, `core.loop.detach`
//! and `core.loop.unit`.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ByteSize, UnitSpec, create_loop_device, detach_loop_device, loop_unit_with};
use crate::lua::api::{Api, Effect, FnSpec};

/// A loop device to create (or find) for a backing file.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "apex.LoopDeviceOpts")]
struct CreateOpts {
    /// Backing file (created sparse when missing).
    file: PathBuf,
    /// Bytes, or e.g. "10G" (powers of 1024): a positive multiple of 512, at most 16T.
    size: ByteSize,
    /// Exact device to use, e.g. "/dev/loop3"; default a free one.
    device: Option<PathBuf>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
#[serde(deny_unknown_fields)]
struct DeviceOpts {
    device: PathBuf,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
#[serde(deny_unknown_fields)]
struct UnitOpts {
    /// /dev/loopN.
    device: PathBuf,
    file: PathBuf,
    /// Default apex-loopN.service.
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    purpose: Option<String>,
    /// Units that need the device.
    #[serde(default)]
    before: Vec<String>,
}

#[derive(Serialize, schemars::JsonSchema)]
#[schemars(inline)]
struct Detached {
    detached: bool,
}

pub fn register(api: &mut Api) -> mlua::Result<()> {
    api.class::<CreateOpts>();
    api.class::<super::LoopDevice>();
    api.class::<super::LoopUnit>();
    api.async_fn(
        FnSpec {
            name: "loop.create",
            doc: "Creates (or reuses) a sparse backing file and attaches it as a loop device; returns the device already serving that file when there is one.\n\
                  Everything is checked before the file is touched; a refused or failed call leaves the file as it was (no new file).",
            is_async: true,
            effect: Effect::Remote,
            ..FnSpec::TYPED
        },
        |o: CreateOpts| async move {
            tokio::task::spawn_blocking(move || create_loop_device(&o.file, o.size.0, o.device.as_deref())).await?
        },
    )?;
    api.async_fn(
        FnSpec {
            name: "loop.detach",
            doc: "Detaches a loop device; `detached` is false when it was not attached; a device that does not exist is an error.",
            is_async: true,
            effect: Effect::Remote,
            ..FnSpec::TYPED
        },
        |o: DeviceOpts| async move {
            let detached =
                tokio::task::spawn_blocking(move || detach_loop_device(&o.device)).await??;
            Ok(Detached { detached })
        },
    )?;
    api.sync(
        FnSpec {
            name: "loop.unit",
            doc: "Renders the systemd unit that re-attaches a backing file to its loop device at boot, with the enable symlink; write it on a host or into an image with image.customize.",
            is_async: false,
            effect: Effect::Local,
            ..FnSpec::TYPED
        },
        |_, o: UnitOpts| {
            let spec = UnitSpec {
                name: o.name,
                purpose: o.purpose,
                before: o.before,
            };
            loop_unit_with(&o.device, &o.file, &spec)
        },
    )?;
    Ok(())
}
