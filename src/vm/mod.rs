//! Virtual machines on the jump host: the undercloud VM apex creates from
//! the upstream undercloud image and the overcloud node VMs of a virtual
//! deploy, each node behind a virtual BMC.
//!
//! Plain Rust in the modules ([`domain`]: domain and network XML, [`libvirt`]:
//! libvirt through `virsh`, [`disk`]: qcow2 overlays and empty disks with
//! qemu-img, [`wait`]: an SSH banner, [`vbmc`]: VirtualBMC); the Lua binding
//! (`core.vm.*`, `core.vbmc.*`) is in [`lua`].

pub mod disk;
pub mod domain;
pub mod libvirt;
mod lua;
pub mod vbmc;
pub mod wait;

pub use disk::{DiskInfo, create_disk, disk_info};
pub use domain::{
    DiskSpec, DomainSpec, Forward, NetworkSpec, NicSpec, domain_xml, mac_from_seed, network_xml,
    owner_of,
};
pub use libvirt::{DEFAULT_URI, DomainState, Libvirt};
pub use lua::register;
pub use vbmc::{Bmc, Vbmc};
pub use wait::wait_ssh;
