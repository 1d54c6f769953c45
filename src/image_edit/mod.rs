//! Overcloud image customization: file operations and shell commands
//! applied to a qcow2/raw image through a loop mount.
//!
//! Plan mode writes the list of operations (e.g. the Ceph plugin's sparse
//! `/srv/data.img` and its loop unit); this module applies them without
//! libguestfs: `qemu-img convert` to raw, attach with a loop device (the
//! whole image, or the byte range of one partition read from its MBR/GPT),
//! mount, write files inside the mounted root (paths resolved with
//! `RESOLVE_IN_ROOT` so the image's symlinks cannot reach the host),
//! run shell commands chrooted into it (`run`: the host's /proc, /sys, /dev
//! bound in read-only, undone on every exit path), unmount, convert back.

mod image;
mod lua;
mod ops;
mod partitions;
mod patch;
mod run;

pub use image::{CustomizeOpts, CustomizeReport, customize_image};
pub use lua::register;
pub use ops::Op;
pub use partitions::{Partition, read_partitions};
pub use run::DEFAULT_TIMEOUT as DEFAULT_RUN_TIMEOUT;
pub(crate) use run::kill_processes_in;
