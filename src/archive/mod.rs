//! Tar and tar.gz: safe `unpack` (nothing written outside the destination) and reproducible `archive`.
//!
//! Step 1 unpacks upstream tar artifacts into the image directory; step 5
//! archives the patch Dockerfiles as `docker_patches.tar.gz`, whose bytes must
//! not change when its inputs do not.

mod lua;
mod pack;
mod tree;
mod unpack;
mod write;
mod writers;

pub use lua::register;
pub use pack::{ArchiveOutcome, DEFAULT_MTIME, archive, archive_tree};
pub use unpack::{DEFAULT_MAX_ENTRIES, UnpackOptions, UnpackOutcome, unpack, unpack_with};
