//! Lua bindings of the engine primitives: thin wrappers over the Rust API.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{BuildOptions, EngineSettings, connect};
use crate::lua::api::{Api, Effect, FnSpec, Param};
use crate::oci::Credentials;

const CLASSES: &str = r#"---@class apex.EngineSettings
---@field endpoint? string `unix:///path.sock`, `tcp://host:2375`, `https://host:2376`; default `DOCKER_HOST` or the local socket
---@field timeout? integer seconds per engine request, default 600

---@class apex.Credentials
---@field username string
---@field password string

---@class apex.BuildOpts
---@field context string build context directory (holds the Dockerfile)
---@field tag string name of the result, `host:port/repo:tag`
---@field dockerfile? string path inside the context, default `Dockerfile`
---@field build_args? table<string,string> e.g. `{REAL_USER = "nova"}`
---@field labels? table<string,string>
---@field no_cache? boolean
---@field engine? apex.EngineSettings

---@class apex.ImageInfo
---@field id string `sha256:...`
---@field user string the user the image runs as (`Config.User`), `""` for root
---@field labels table<string,string>
---@field tags string[]
---@field digests string[] `repo@sha256:...`
---@field size integer
---@field architecture string"#;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BuildArgs {
    context: PathBuf,
    tag: String,
    dockerfile: Option<String>,
    #[serde(default)]
    build_args: BTreeMap<String, String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    no_cache: bool,
    #[serde(default)]
    engine: EngineSettings,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImageArgs {
    image: String,
    credentials: Option<Credentials>,
    #[serde(default)]
    engine: EngineSettings,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TagArgs {
    source: String,
    target: String,
    #[serde(default)]
    engine: EngineSettings,
}

#[derive(Serialize)]
struct Tagged {
    source: String,
    target: String,
}

const ENGINE_PARAM_DOC: &str = "engine selects the Docker endpoint (default: local socket)";

/// Registers build_image, pull_image, tag_image, inspect_image, push_registry.
pub fn register(api: &mut Api) -> mlua::Result<()> {
    api.class(CLASSES);
    api.async_fn(
        FnSpec {
            name: "engine.build",
            doc: "Builds an image from a context directory (sent as a tar) with build args and a tag; the build log goes to the apex log. A failed step raises with the step and its output.",
            params: &[Param { name: "opts", ty: "apex.BuildOpts", doc: ENGINE_PARAM_DOC }],
            returns: "{id: string, tag: string}",
            is_async: true,
            effect: Effect::Remote,
        },
        |a: BuildArgs| async move {
            let docker = connect(&a.engine).await?;
            let opts = BuildOptions {
                context: a.context,
                tag: a.tag,
                dockerfile: a.dockerfile,
                build_args: a.build_args,
                labels: a.labels,
                no_cache: a.no_cache,
            };
            super::build_image(&docker, &opts).await
        },
    )?;
    api.async_fn(
        FnSpec {
            name: "engine.pull",
            doc: "Pulls an image into the engine; credentials default to the Docker config file's. Returns what engine.inspect returns.",
            params: &[Param { name: "opts", ty: "{image: string, credentials?: apex.Credentials, engine?: apex.EngineSettings}", doc: "" }],
            returns: "apex.ImageInfo",
            is_async: true,
            effect: Effect::Remote,
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
            params: &[Param {
                name: "opts",
                ty: "{source: string, target: string, engine?: apex.EngineSettings}",
                doc: "",
            }],
            returns: "{source: string, target: string}",
            is_async: true,
            effect: Effect::Remote,
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
            params: &[Param { name: "opts", ty: "{image: string, engine?: apex.EngineSettings}", doc: "" }],
            returns: "apex.ImageInfo",
            is_async: true,
            effect: Effect::ReadRemote,
        },
        |a: ImageArgs| async move {
            let docker = connect(&a.engine).await?;
            super::inspect_image(&docker, &a.image).await
        },
    )?;
    api.async_fn(
        FnSpec {
            name: "engine.push",
            doc: "Pushes an engine image to the registry its name points at (plain HTTP for loopback and the engine's insecure registries, TLS otherwise); credentials default to the Docker config file's.",
            params: &[Param { name: "opts", ty: "{image: string, credentials?: apex.Credentials, engine?: apex.EngineSettings}", doc: "" }],
            returns: "{image: string, digest: string}",
            is_async: true,
            effect: Effect::Remote,
        },
        |a: ImageArgs| async move {
            let docker = connect(&a.engine).await?;
            super::push_image(&docker, &a.image, a.credentials.as_ref()).await
        },
    )
}
