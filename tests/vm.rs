//! The undercloud VM and the virtual overcloud nodes on a real libvirtd
//! (started by the test), KVM when /dev/kvm works, else TCG.

use apex::lab::undercloud_vm;

#[test]
fn lab_undercloud_image_builds_and_is_cached() {
    let img = undercloud_vm::ensure_image().unwrap();
    eprintln!("{img:?}");
    assert!(img.qcow2.is_file() && img.kernel.is_file() && img.initrd.is_file());
    let again = undercloud_vm::ensure_image().unwrap();
    assert_eq!(again.built_seconds, 0.0);
}
