//! Tar and tar.gz: safe `unpack` (nothing written outside the destination) and reproducible `archive`.

use crate::lua::Api;

/// Registers this family's functions on `apex.core`.
pub fn register(_api: &mut Api) -> mlua::Result<()> {
    Ok(())
}
