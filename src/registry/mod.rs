//! Registries on the OCI distribution API: catalog, tags, manifests (tag,
//! delete, check their blobs), and an engine-free image copy (flow steps
//! 8c/8f). The patched-image rebuild (8d) and `apex registry prune` are Lua
//! flows over these and the engine's primitives.

mod blobs;
mod challenge;
mod client;
mod copy;
mod lua;
mod manifests;
mod mirror;
mod phases;
mod repository;
mod token;
mod transport;

// The OCI types live below the registry and engine families; these paths
// are kept so `registry::auth`, `registry::ImageRef` still name them.
use crate::oci::reference;
pub use crate::oci::{Credentials, ImageRef, auth};
pub use blobs::{Mount, UploadRefused};
pub use client::{Registry, RegistrySettings};
pub use copy::{
    BlobLedger, CopyContext, CopyOptions, CopyReport, CopyStats, CopyStatus, abandon_open_uploads,
    copy_image,
};
pub use lua::register;
pub use manifests::{BlobCheck, delete_manifest, missing_blobs, put_tag};
pub use mirror::{
    MirrorFailure, MirrorItem, MirrorOptions, MirrorSummary, Registries, mirror_images,
};
pub use repository::{
    DOCKER_LIST, DOCKER_MANIFEST, Descriptor, ManifestBody, OCI_INDEX, OCI_MANIFEST, RawManifest,
    sha256_digest,
};
pub use token::Scopes;
pub use transport::{RateLimited, StatusError};
