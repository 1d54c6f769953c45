//! Registries on the OCI distribution API: catalog, tags, manifests, and an
//! engine-free image copy (flow steps 8c/8f), plus the patched-image rebuild
//! of step 8d that pushes back into the local registry.

pub mod auth;
mod client;
mod copy;
mod lua;
mod mirror;
mod prune;
mod rebuild;
mod reference;
mod token;

pub use auth::Credentials;
pub use client::{
    DOCKER_LIST, DOCKER_MANIFEST, Descriptor, ManifestBody, Mount, OCI_INDEX, OCI_MANIFEST,
    RateLimited, RawManifest, Registry, RegistrySettings, StatusError, UploadRefused,
    sha256_digest,
};
pub use copy::{
    BlobLedger, CopyContext, CopyOptions, CopyReport, CopyStats, CopyStatus, abandon_open_uploads,
    copy_image,
};
pub use lua::register;
pub use mirror::{
    MirrorFailure, MirrorItem, MirrorOptions, MirrorSummary, Registries, mirror_images,
};
pub use prune::{PruneOptions, PruneReport, PrunedManifest, default_tmp_dirs, prune_registry};
pub use rebuild::{RebuildFailure, RebuildOptions, RebuildSummary, Rebuilt, rebuild_patched};
pub use reference::ImageRef;
pub use token::Scopes;
