#!/usr/bin/env bash
# Installs the Debian packages the test lab needs (real services, no mocks).
# Idempotent: installs only what is missing. Needs root (CI and dev machines run as root).
set -euo pipefail

# One package per line: what it gives the lab.
packages=(
  docker.io        # the Docker engine (dockerd) for build/push tests
  docker-registry  # "upstream" and "local" registries on loopback
  skopeo           # the peer for the registry-copy benchmark
  openssh-server   # sshd standing for the undercloud
  openssh-client   # ssh, used by the openssh crate
  busybox-static   # rootfs of the locally made test images
  e2fsprogs        # mkfs.ext4 for image customization tests
  qemu-utils       # qemu-img for qcow2 conversion
  curl             # the peer for the download benchmark
  util-linux       # losetup, mount
  mount            # mount/umount used to inspect customized images
  procps           # pgrep: the SSH timeout test checks the remote process died
  patch            # applies undercloud (THT) patches on the stand-in undercloud
  libvirt-daemon-system  # libvirtd/virtlogd the VM tests start (the undercloud VM, virtual nodes)
  libvirt-clients  # virsh, apex's way to libvirt
  qemu-system-x86  # the VMs (KVM when it boots here, else TCG)
  linux-image-amd64  # the kernel the lab's undercloud image boots
  ipmitool         # the tests power virtual nodes through their BMCs
  python3-libvirt  # VirtualBMC's libvirt binding (VirtualBMC itself comes from PyPI below)
  python3-pyghmi   # VirtualBMC's IPMI server
  python3-zmq      # VirtualBMC's control channel
  python3-venv     # the venv VirtualBMC is installed into
  python3-jinja2   # THT's tools/process-templates.py, run by the lab's openstack stand-in and the THT tests
  python3-yaml     # the same, and the stand-in reading env files' resource_registry
)

missing_packages() {
  missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
}
missing_packages
if ((${#missing[@]})); then
  echo "lab: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # An install can remove a package the machine had: Debian 12's
  # qemu-system-x86 conflicts with a backported qemu-utils, which apt then
  # removes. Such a package is installed again, in the version that fits.
  missing_packages
  if ((${#missing[@]})); then
    echo "lab: installing again what that install removed: ${missing[*]}" >&2
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    missing_packages
    if ((${#missing[@]})); then
      echo "lab: still not installed: ${missing[*]}" >&2
      exit 1
    fi
  fi
fi

# VirtualBMC (PyPI) in a venv over Debian's libvirt, pyghmi and zmq bindings.
if [[ ! -x /opt/apex-vbmc/bin/vbmc ]]; then
  echo "lab: installing VirtualBMC into /opt/apex-vbmc" >&2
  /usr/bin/python3 -m venv --system-site-packages /opt/apex-vbmc
  /opt/apex-vbmc/bin/pip install -q virtualbmc
fi
