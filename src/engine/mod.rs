//! A Docker engine through bollard: build, pull, tag, inspect, push.

use crate::lua::Api;

/// Registers this family's functions on `apex.core`.
pub fn register(_api: &mut Api) -> mlua::Result<()> {
    Ok(())
}
