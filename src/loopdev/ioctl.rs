//! The loop driver's ioctls, through rustix with linux-raw-sys's definitions:
//! pure Rust, no libc wrappers, no `losetup` subprocess.

use std::ffi::c_void;
use std::os::fd::AsFd;

use linux_raw_sys::loop_device as sys;
use rustix::io::Errno;
use rustix::ioctl::{self, Ioctl, IoctlOutput, NoArg, Opcode, Setter};

pub use sys::loop_config;

/// An ioctl whose argument is an integer and whose result is the return
/// value (the loop-control calls answer a device number that way).
struct IntCall<const OP: Opcode> {
    arg: usize,
}

// SAFETY: the argument is passed by value (no pointer), and the kernel
// returns the answer as the ioctl's return value.
unsafe impl<const OP: Opcode> Ioctl for IntCall<OP> {
    type Output = IoctlOutput;
    const IS_MUTATING: bool = false;
    fn opcode(&self) -> Opcode {
        OP
    }
    fn as_ptr(&mut self) -> *mut c_void {
        self.arg as *mut c_void
    }
    unsafe fn output_from_ptr(out: IoctlOutput, _: *mut c_void) -> rustix::io::Result<IoctlOutput> {
        Ok(out)
    }
}

/// `LOOP_CTL_GET_FREE`: the number of a free loop device (created if needed).
pub fn ctl_get_free(ctl: impl AsFd) -> Result<u32, Errno> {
    // SAFETY: LOOP_CTL_GET_FREE takes no argument and returns an int.
    let n = unsafe {
        ioctl::ioctl(
            ctl,
            IntCall::<{ sys::LOOP_CTL_GET_FREE as Opcode }> { arg: 0 },
        )
    }?;
    Ok(n as u32)
}

/// `LOOP_CTL_ADD`: creates `/dev/loop<n>`; `EEXIST` when it already exists.
pub fn ctl_add(ctl: impl AsFd, n: u32) -> Result<(), Errno> {
    // SAFETY: LOOP_CTL_ADD takes the device number by value.
    unsafe {
        ioctl::ioctl(
            ctl,
            IntCall::<{ sys::LOOP_CTL_ADD as Opcode }> { arg: n as usize },
        )
    }?;
    Ok(())
}

/// `LOOP_CONFIGURE`: binds a backing file and sets flags in one atomic call.
pub fn configure(dev: impl AsFd, config: loop_config) -> Result<(), Errno> {
    // SAFETY: LOOP_CONFIGURE reads a `struct loop_config`.
    unsafe {
        ioctl::ioctl(
            dev,
            Setter::<{ sys::LOOP_CONFIGURE as Opcode }, loop_config>::new(config),
        )
    }
}

/// `LOOP_CLR_FD`: unbinds the backing file.
pub fn clear_fd(dev: impl AsFd) -> Result<(), Errno> {
    // SAFETY: LOOP_CLR_FD takes no argument.
    unsafe { ioctl::ioctl(dev, NoArg::<{ sys::LOOP_CLR_FD as Opcode }>::new()) }
}

pub const FLAG_AUTOCLEAR: u32 = sys::LO_FLAGS_AUTOCLEAR as u32;

/// A `loop_config` for `fd` with `flags`; the rest zeroed as the kernel wants.
pub fn config_for(fd: u32, flags: u32) -> loop_config {
    // SAFETY: loop_config is plain old data; all-zero is its documented default.
    let mut c: loop_config = unsafe { std::mem::zeroed() };
    c.fd = fd;
    c.info.lo_flags = flags;
    c
}
