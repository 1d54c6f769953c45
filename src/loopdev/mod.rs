//! Loop devices: sparse backing files attached through the loop control device, and the unit that re-attaches them at boot.

use crate::lua::Api;

/// Registers this family's functions on `apex.core`.
pub fn register(_api: &mut Api) -> mlua::Result<()> {
    Ok(())
}
