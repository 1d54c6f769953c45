//! Lua bindings of the engine primitives: thin wrappers over the Rust API.

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{BuildOptions, EngineSettings, ImageInfo, connect};
use crate::lua::api::{Api, Effect, FnSpec};
use crate::oci::Credentials;

/// What build_image builds, and on which engine.
// The one definition of the build's options for Lua: the engine API's
// `BuildOptions` is made from it (`split`).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "apex.BuildOpts")]
struct BuildOpts {
    /// Build context directory (holds the Dockerfile).
    context: PathBuf,
    /// Name of the result, `host:port/repo:tag`.
    tag: String,
    /// Path inside the context, default `Dockerfile`.
    dockerfile: Option<String>,
    /// E.g. `{REAL_USER = "nova"}`.
    #[serde(default)]
    build_args: BTreeMap<String, String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    /// Build without the layer cache.
    #[serde(default)]
    no_cache: bool,
    /// The Docker endpoint (default: the local socket).
    #[serde(default)]
    engine: EngineSettings,
}

impl BuildOpts {
    /// The engine to build on, and what to build.
    fn split(self) -> (EngineSettings, BuildOptions) {
        let build = BuildOptions {
            context: self.context,
            tag: self.tag,
            dockerfile: self.dockerfile,
            build_args: self.build_args,
            labels: self.labels,
            no_cache: self.no_cache,
        };
        (self.engine, build)
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
#[serde(deny_unknown_fields)]
struct ImageArgs {
    image: String,
    credentials: Option<Credentials>,
    /// The Docker endpoint (default: the local socket).
    #[serde(default)]
    engine: EngineSettings,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
#[serde(deny_unknown_fields)]
struct InspectArgs {
    image: String,
    /// The Docker endpoint (default: the local socket).
    #[serde(default)]
    engine: EngineSettings,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
#[serde(deny_unknown_fields)]
struct TagArgs {
    source: String,
    target: String,
    /// The Docker endpoint (default: the local socket).
    #[serde(default)]
    engine: EngineSettings,
}

#[derive(Serialize, schemars::JsonSchema)]
#[schemars(inline)]
struct Tagged {
    source: String,
    target: String,
}

/// Registers build_image, pull_image, tag_image, inspect_image, push_registry.
pub fn register(api: &mut Api) -> mlua::Result<()> {
    api.class::<BuildOpts>();
    api.class::<ImageInfo>();
    api.class::<Credentials>();
    api.async_fn(
        FnSpec {
            name: "engine.build",
            doc: "Builds an image from a context directory (sent as a tar) with build args and a tag; the build log goes to the apex log. A failed step raises with the step and its output.",
            is_async: true,
            effect: Effect::Remote,
            ..FnSpec::TYPED
        },
        |a: BuildOpts| async move {
            let (engine, opts) = a.split();
            let docker = connect(&engine).await?;
            super::build_image(&docker, &opts).await
        },
    )?;
    api.async_fn(
        FnSpec {
            name: "engine.pull",
            doc: "Pulls an image into the engine; credentials default to the Docker config file's. Returns what engine.inspect returns.",
            is_async: true,
            effect: Effect::Remote,
            ..FnSpec::TYPED
        },
        |a: ImageArgs| async move {
            let docker = connect(&a.engine).await?;
            super::pull_image(&docker, &a.image, a.credentials.as_ref()).await
        },
    )?;
    api.async_fn(
        FnSpec {
            name: "engine.tag",
            doc: "Gives an engine image another name (e.g. the local registry's `:apex` name).",
            is_async: true,
            effect: Effect::Remote,
            ..FnSpec::TYPED
        },
        |a: TagArgs| async move {
            let docker = connect(&a.engine).await?;
            super::tag_image(&docker, &a.source, &a.target).await?;
            Ok(Tagged {
                source: a.source,
                target: a.target,
            })
        },
    )?;
    api.async_fn(
        FnSpec {
            name: "engine.inspect",
            doc: "Id, user, labels, tags and digests of an engine image (the user feeds REAL_USER when patching).",
            is_async: true,
            effect: Effect::ReadRemote,
            ..FnSpec::TYPED
        },
        |a: InspectArgs| async move {
            let docker = connect(&a.engine).await?;
            super::inspect_image(&docker, &a.image).await
        },
    )?;
    api.async_fn(
        FnSpec {
            name: "engine.push",
            doc: "Pushes an engine image to the registry its name points at (plain HTTP for loopback and the engine's insecure registries, TLS otherwise); credentials default to the Docker config file's.",
            is_async: true,
            effect: Effect::Remote,
            ..FnSpec::TYPED
        },
        |a: ImageArgs| async move {
            let docker = connect(&a.engine).await?;
            super::push_image(&docker, &a.image, a.credentials.as_ref()).await
        },
    )
}
