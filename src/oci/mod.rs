//! What the Docker engine and the registry client both speak about: image
//! references and registry credentials. It sits below both families, so
//! neither imports the other (the engine pushes to a registry by name, the
//! registry client copies without an engine; a flow in Lua combines them).

pub mod auth;
pub(crate) mod reference;

pub use auth::Credentials;
pub use reference::ImageRef;
