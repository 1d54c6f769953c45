//! Helpers Lua lacks: YAML and JSON, file operations, HTTP GET for APIs,
//! logging into the same tracing log, and small utilities.

pub mod data;
pub mod files;
pub mod http;
pub mod log;
pub mod misc;
pub mod progress;

use crate::lua::Api;

pub fn register(api: &mut Api) -> mlua::Result<()> {
    data::register(api)?;
    files::register(api)?;
    http::register(api)?;
    log::register(api)?;
    misc::register(api)?;
    progress::register(api)?;
    Ok(())
}
