//! Upstream artifacts: conditional, resumable, verified downloads into a cache (`fetch_if_modified`).

use crate::lua::Api;

/// Registers this family's functions on `apex.core`.
pub fn register(_api: &mut Api) -> mlua::Result<()> {
    Ok(())
}
