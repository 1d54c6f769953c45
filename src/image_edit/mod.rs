//! Overcloud image customization: file operations applied to a qcow2/raw image through a loop mount.

use crate::lua::Api;

/// Registers this family's functions on `apex.core`.
pub fn register(_api: &mut Api) -> mlua::Result<()> {
    Ok(())
}
