//! The image editing family's binding: `core.image.customize`.

use super::{CustomizeOpts, customize_image};
use crate::lua::api::{Api, Effect, FnSpec};

pub fn register(api: &mut Api) -> mlua::Result<()> {
    api.class::<super::CustomizeOpts>();
    api.class::<super::CustomizeReport>();
    api.async_fn(
        FnSpec {
            name: "image.customize",
            doc: "Applies operations in order to a qcow2 or raw image through a loop mount: file operations (upload, write, mkdir, symlink, truncate, remove, unpack, patch) and `run` (a shell command chrooted into the image). The image is replaced only when every operation succeeded.",
            is_async: true,
            effect: Effect::Remote,
            ..FnSpec::TYPED
        },
        |o: CustomizeOpts| async move { tokio::task::spawn_blocking(move || customize_image(&o)).await? },
    )?;
    Ok(())
}
