//! Registries on the OCI distribution API: catalog, tags, manifests, and engine-free image copy.

use crate::lua::Api;

/// Registers this family's functions on `apex.core`.
pub fn register(_api: &mut Api) -> mlua::Result<()> {
    Ok(())
}
