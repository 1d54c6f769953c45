//! Loop devices: sparse backing files attached through the loop control
//! device, and the unit that re-attaches them at boot.
//!
//! Ceph without a spare disk needs a block device for its OSDs (step 6 of the
//! flow): a sparse file attached as `/dev/loopN`. Attaching goes through
//! `/dev/loop-control` and `LOOP_CONFIGURE` with rustix (no `losetup`
//! subprocess, no unmaintained `loopdev` crate). The kernel forgets loop
//! devices at reboot, so [`loop_unit`] renders the systemd unit that
//! re-attaches the file, for a host or an image (see `image_edit`).

mod attach;
mod ioctl;
mod lua;
mod size;
mod unit;

pub use attach::{
    LoopDevice, MAX_SIZE, TempLoop, backing_file, check_size, create_loop_device,
    detach_loop_device, device_size, ensure_sparse_file, find_attached,
};
pub use lua::register;
pub use size::{ByteSize, parse_size};
pub use unit::{LoopUnit, UNIT_DIR, UnitSpec, loop_unit, loop_unit_with};
