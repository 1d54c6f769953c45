//! Libvirt domain and network XML, rendered from plain specs.
//!
//! The undercloud VM and the virtual overcloud nodes are both a [`DomainSpec`]:
//! memory, CPUs, disks, NICs (on libvirt networks, or user-mode networking
//! whose host forwards always bind 127.0.0.1), direct kernel boot or a boot
//! device, a serial console log, and apex's owner mark in `<metadata>` so that
//! `apex destroy` removes only what a deploy made.

use std::fmt::Write as _;

use anyhow::bail;
use serde::{Deserialize, Serialize};

/// The XML namespace of apex's owner mark in a domain's `<metadata>`.
pub const OWNER_NS: &str = "https://opnfv.org/apex/rs/owner";

/// One disk of a domain.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "apex.VmDisk")]
pub struct DiskSpec {
    /// The disk image file.
    pub path: String,
    /// Image format, default qcow2.
    #[serde(default)]
    pub format: Option<String>,
    /// Bus, default virtio.
    #[serde(default)]
    #[schemars(extend("enum" = ["virtio", "sata", "scsi", "ide"]))]
    pub bus: Option<String>,
}

/// A host port forwarded to a guest port (user-mode networking): the host
/// side always listens on 127.0.0.1.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct Forward {
    pub host_port: u16,
    pub guest_port: u16,
}

/// One NIC: on a libvirt `network`, or user-mode networking (`user = true`).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "apex.VmNic")]
pub struct NicSpec {
    /// Libvirt network name.
    #[serde(default)]
    pub network: Option<String>,
    /// User-mode networking (host forwards listen on 127.0.0.1 only).
    #[serde(default)]
    pub user: bool,
    #[serde(default)]
    pub mac: Option<String>,
    /// NIC model, default virtio.
    #[serde(default)]
    pub model: Option<String>,
    /// User-mode host forwards.
    #[serde(default)]
    pub forwards: Vec<Forward>,
}

/// What a domain is made of.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "apex.DomainSpec")]
pub struct DomainSpec {
    pub name: String,
    /// MiB.
    pub memory: u64,
    pub cpus: u32,
    /// Default kvm (qemu: TCG, no /dev/kvm needed).
    #[serde(default)]
    #[schemars(extend("enum" = ["kvm", "qemu"]))]
    pub domain_type: Option<String>,
    /// A named CPU model (e.g. qemu64); none: the hypervisor's default.
    /// (`host-passthrough` aborts on some hosts: "failed to set MSR 0x10a".)
    #[serde(default)]
    pub cpu_model: Option<String>,
    #[serde(default)]
    pub disks: Vec<DiskSpec>,
    #[serde(default)]
    pub nics: Vec<NicSpec>,
    /// Direct kernel boot.
    #[serde(default)]
    pub kernel: Option<String>,
    #[serde(default)]
    pub initrd: Option<String>,
    #[serde(default)]
    pub cmdline: Option<String>,
    /// Boot devices in order: hd, network, cdrom (default hd).
    #[serde(default)]
    pub boot: Vec<String>,
    /// The serial console is logged to this file.
    #[serde(default)]
    pub serial_log: Option<String>,
    /// Apex's owner mark (e.g. the deploy's tmp dir), checked by `core.vm.remove`.
    #[serde(default)]
    pub owner: Option<String>,
}

/// Escapes text for XML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn check_name(what: &str, name: &str) -> anyhow::Result<()> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        bail!("{what} name {name:?}: use letters, digits, '-', '_' and '.' (at most 64)");
    }
    Ok(())
}

/// Whether `mac` is a MAC address in colon form.
pub fn valid_mac(mac: &str) -> bool {
    let parts: Vec<&str> = mac.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A MAC address derived from `seed` (stable across runs, so a plan shows
/// the MACs the nodes get), with the first octet 00 as Apex's
/// `generate_baremetal_macs` makes them (locally administered bit low, so
/// bridges behave as with real hardware).
pub fn mac_from_seed(seed: &str) -> String {
    use sha2::Digest as _;
    let d = sha2::Sha256::digest(seed.as_bytes());
    format!(
        "00:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        d[0], d[1], d[2], d[3], d[4]
    )
}

/// Renders the libvirt domain XML of `spec`.
pub fn domain_xml(spec: &DomainSpec) -> anyhow::Result<String> {
    check_name("domain", &spec.name)?;
    if spec.memory == 0 || spec.cpus == 0 {
        bail!("domain {}: memory and cpus must be above 0", spec.name);
    }
    let dtype = spec.domain_type.as_deref().unwrap_or("kvm");
    if !matches!(dtype, "kvm" | "qemu") {
        bail!(
            "domain {}: domain_type {dtype:?} (valid: kvm, qemu)",
            spec.name
        );
    }
    let user_nics: Vec<(usize, &NicSpec)> = spec
        .nics
        .iter()
        .enumerate()
        .filter(|(_, n)| n.user)
        .collect();
    let mut x = String::new();
    if user_nics.is_empty() {
        let _ = writeln!(x, "<domain type='{dtype}'>");
    } else {
        let _ = writeln!(
            x,
            "<domain type='{dtype}' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>"
        );
    }
    let _ = writeln!(x, "  <name>{}</name>", escape(&spec.name));
    if let Some(owner) = &spec.owner {
        let _ = writeln!(
            x,
            "  <metadata>\n    <apex:owner xmlns:apex='{OWNER_NS}' tmp_dir='{}'/>\n  </metadata>",
            escape(owner)
        );
    }
    let _ = writeln!(x, "  <memory unit='MiB'>{}</memory>", spec.memory);
    let _ = writeln!(
        x,
        "  <currentMemory unit='MiB'>{}</currentMemory>",
        spec.memory
    );
    let _ = writeln!(x, "  <vcpu>{}</vcpu>", spec.cpus);
    x.push_str("  <os>\n    <type arch='x86_64'>hvm</type>\n");
    if let Some(k) = &spec.kernel {
        let _ = writeln!(x, "    <kernel>{}</kernel>", escape(k));
        if let Some(i) = &spec.initrd {
            let _ = writeln!(x, "    <initrd>{}</initrd>", escape(i));
        }
        if let Some(c) = &spec.cmdline {
            let _ = writeln!(x, "    <cmdline>{}</cmdline>", escape(c));
        }
    } else if spec.initrd.is_some() || spec.cmdline.is_some() {
        bail!("domain {}: initrd and cmdline need a kernel", spec.name);
    }
    let boots: Vec<&str> = if spec.boot.is_empty() {
        vec!["hd"]
    } else {
        spec.boot.iter().map(String::as_str).collect()
    };
    if spec.kernel.is_none() {
        for b in &boots {
            if !matches!(*b, "hd" | "network" | "cdrom") {
                bail!(
                    "domain {}: boot device {b:?} (valid: hd, network, cdrom)",
                    spec.name
                );
            }
            let _ = writeln!(x, "    <boot dev='{b}'/>");
        }
        if boots.contains(&"network") {
            x.push_str("    <bootmenu enable='no'/>\n");
        }
    }
    x.push_str("  </os>\n  <features>\n    <acpi/>\n    <apic/>\n  </features>\n");
    if let Some(m) = &spec.cpu_model {
        let _ = writeln!(
            x,
            "  <cpu mode='custom' match='exact' check='none'>\n    <model fallback='allow'>{}</model>\n  </cpu>",
            escape(m)
        );
    }
    x.push_str("  <clock offset='utc'/>\n  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>restart</on_reboot>\n  <on_crash>destroy</on_crash>\n");
    x.push_str("  <devices>\n");
    let mut counters = std::collections::BTreeMap::<&str, u8>::new();
    for d in &spec.disks {
        let bus = d.bus.as_deref().unwrap_or("virtio");
        let prefix = match bus {
            "virtio" => "vd",
            "sata" | "scsi" => "sd",
            "ide" => "hd",
            other => bail!(
                "domain {}: disk bus {other:?} (valid: virtio, sata, scsi, ide)",
                spec.name
            ),
        };
        let n = counters.entry(prefix).or_default();
        let dev = format!("{prefix}{}", (b'a' + *n) as char);
        *n += 1;
        let format = d.format.as_deref().unwrap_or("qcow2");
        let _ = writeln!(
            x,
            "    <disk type='file' device='disk'>\n      <driver name='qemu' type='{}' cache='unsafe'/>\n      <source file='{}'/>\n      <target dev='{dev}' bus='{bus}'/>\n    </disk>",
            escape(format),
            escape(&d.path)
        );
    }
    for n in &spec.nics {
        if let Some(mac) = &n.mac
            && !valid_mac(mac)
        {
            bail!("domain {}: MAC {mac:?} is not a MAC address", spec.name);
        }
        if n.user {
            continue;
        }
        let Some(net) = &n.network else {
            bail!("domain {}: a NIC needs a network or user = true", spec.name);
        };
        if !n.forwards.is_empty() {
            bail!("domain {}: forwards need user-mode networking", spec.name);
        }
        x.push_str("    <interface type='network'>\n");
        if let Some(mac) = &n.mac {
            let _ = writeln!(x, "      <mac address='{}'/>", mac.to_lowercase());
        }
        let _ = writeln!(
            x,
            "      <source network='{}'/>\n      <model type='{}'/>\n    </interface>",
            escape(net),
            escape(n.model.as_deref().unwrap_or("virtio"))
        );
    }
    match &spec.serial_log {
        Some(log) => {
            let _ = writeln!(
                x,
                "    <serial type='file'>\n      <source path='{}'/>\n      <target port='0'/>\n    </serial>",
                escape(log)
            );
        }
        None => x.push_str("    <serial type='pty'>\n      <target port='0'/>\n    </serial>\n"),
    }
    x.push_str("    <memballoon model='virtio'/>\n  </devices>\n");
    if !user_nics.is_empty() {
        // User-mode networking with host forwards through qemu's own options:
        // libvirt 9's <interface type='user'> forwards need passt.
        x.push_str("  <qemu:commandline>\n");
        for (i, n) in user_nics {
            let mut netdev = format!("user,id=apexnet{i}");
            for f in &n.forwards {
                let _ = write!(
                    netdev,
                    ",hostfwd=tcp:127.0.0.1:{}-:{}",
                    f.host_port, f.guest_port
                );
            }
            let model = match n.model.as_deref().unwrap_or("virtio") {
                "virtio" => "virtio-net-pci",
                "e1000" => "e1000",
                other => bail!(
                    "domain {}: user-mode NIC model {other:?} (valid: virtio, e1000)",
                    spec.name
                ),
            };
            // A high PCI slot: libvirt places its own devices from slot 2 up.
            let mut device = format!("{model},netdev=apexnet{i},bus=pci.0,addr={:#x}", 0x18 + i);
            if let Some(mac) = &n.mac {
                let _ = write!(device, ",mac={}", mac.to_lowercase());
            }
            for arg in ["-netdev", &netdev, "-device", &device] {
                let _ = writeln!(x, "    <qemu:arg value='{}'/>", escape(arg));
            }
        }
        x.push_str("  </qemu:commandline>\n");
    }
    x.push_str("</domain>\n");
    Ok(x)
}

/// The owner mark of a domain's XML (what [`DomainSpec::owner`] wrote), if any.
pub fn owner_of(xml: &str) -> Option<String> {
    let at = xml.find(OWNER_NS)?;
    let rest = &xml[at..];
    let start = rest.find("tmp_dir=")? + "tmp_dir=".len();
    let quote = rest[start..].chars().next()?;
    let value = &rest[start + 1..];
    let end = value.find(quote)?;
    Some(unescape(&value[..end]))
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// An isolated libvirt network (a bridge with no address on the host, no
/// forwarding), as Apex's admin and external networks of a virtual deploy.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[schemars(inline)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    pub name: String,
    pub bridge: String,
}

/// Renders the libvirt network XML of `spec`.
pub fn network_xml(spec: &NetworkSpec) -> anyhow::Result<String> {
    check_name("network", &spec.name)?;
    if spec.bridge.is_empty() || spec.bridge.len() > 15 {
        bail!(
            "network {}: bridge name {:?} (1-15 characters)",
            spec.name,
            spec.bridge
        );
    }
    check_name("bridge", &spec.bridge)?;
    Ok(format!(
        "<network>\n  <name>{}</name>\n  <bridge name='{}' stp='off' delay='0'/>\n</network>\n",
        escape(&spec.name),
        escape(&spec.bridge)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> DomainSpec {
        DomainSpec {
            name: "undercloud".into(),
            memory: 10240,
            cpus: 4,
            domain_type: None,
            cpu_model: Some("qemu64".into()),
            disks: vec![DiskSpec {
                path: "/var/lib/libvirt/images/undercloud.qcow2".into(),
                format: None,
                bus: Some("sata".into()),
            }],
            nics: vec![
                NicSpec {
                    network: Some("admin".into()),
                    mac: Some("00:AA:bb:cc:dd:ee".into()),
                    ..Default::default()
                },
                NicSpec {
                    user: true,
                    forwards: vec![Forward {
                        host_port: 2222,
                        guest_port: 22,
                    }],
                    ..Default::default()
                },
            ],
            kernel: Some("/img/overcloud-full.vmlinuz".into()),
            initrd: Some("/img/overcloud-full.initrd".into()),
            cmdline: Some("console=ttyS0 root=/dev/sda".into()),
            boot: vec![],
            serial_log: Some("/tmp/a&b/console.log".into()),
            owner: Some("/tmp/apex/x'y".into()),
        }
    }

    #[test]
    fn renders_every_part() {
        let x = domain_xml(&spec()).unwrap();
        assert!(x.starts_with("<domain type='kvm' xmlns:qemu="), "{x}");
        for want in [
            "<name>undercloud</name>",
            "<memory unit='MiB'>10240</memory>",
            "<vcpu>4</vcpu>",
            "<kernel>/img/overcloud-full.vmlinuz</kernel>",
            "<cmdline>console=ttyS0 root=/dev/sda</cmdline>",
            "<model fallback='allow'>qemu64</model>",
            "<target dev='sda' bus='sata'/>",
            "<mac address='00:aa:bb:cc:dd:ee'/>",
            "<source network='admin'/>",
            "<source path='/tmp/a&amp;b/console.log'/>",
            "hostfwd=tcp:127.0.0.1:2222-:22",
            "<qemu:arg value='virtio-net-pci,netdev=apexnet1,bus=pci.0,addr=0x19'/>",
        ] {
            assert!(x.contains(want), "missing {want}:\n{x}");
        }
        assert!(
            !x.contains("<boot dev"),
            "direct boot has no boot device:\n{x}"
        );
        assert_eq!(owner_of(&x).as_deref(), Some("/tmp/apex/x'y"));
    }

    #[test]
    fn network_boot_and_no_user_nic() {
        let mut s = spec();
        s.kernel = None;
        s.initrd = None;
        s.cmdline = None;
        s.nics.truncate(1);
        s.boot = vec!["network".into(), "hd".into()];
        s.owner = None;
        let x = domain_xml(&s).unwrap();
        assert!(x.starts_with("<domain type='kvm'>"), "{x}");
        assert!(
            x.contains("<boot dev='network'/>\n    <boot dev='hd'/>"),
            "{x}"
        );
        assert!(!x.contains("qemu:commandline"));
        assert_eq!(owner_of(&x), None);
    }

    #[test]
    fn refuses_bad_specs() {
        let mut s = spec();
        s.name = "a b".into();
        assert!(
            domain_xml(&s)
                .unwrap_err()
                .to_string()
                .contains("domain name")
        );
        let mut s = spec();
        s.nics[0].mac = Some("zz".into());
        assert!(
            domain_xml(&s)
                .unwrap_err()
                .to_string()
                .contains("not a MAC")
        );
        let mut s = spec();
        s.kernel = None;
        assert!(
            domain_xml(&s)
                .unwrap_err()
                .to_string()
                .contains("need a kernel")
        );
        let mut s = spec();
        s.disks[0].bus = Some("floppy".into());
        assert!(domain_xml(&s).is_err());
        let mut s = spec();
        s.nics[0].forwards = s.nics[1].forwards.clone();
        assert!(
            domain_xml(&s)
                .unwrap_err()
                .to_string()
                .contains("user-mode")
        );
    }

    #[test]
    fn macs_are_stable_and_valid() {
        let a = mac_from_seed("x/baremetal0");
        assert_eq!(a, mac_from_seed("x/baremetal0"));
        assert_ne!(a, mac_from_seed("x/baremetal1"));
        assert!(valid_mac(&a) && a.starts_with("00:"), "{a}");
    }

    #[test]
    fn network_xml_is_an_isolated_bridge() {
        let x = network_xml(&NetworkSpec {
            name: "apex-admin".into(),
            bridge: "br-admin".into(),
        })
        .unwrap();
        assert!(x.contains("<bridge name='br-admin'"), "{x}");
        assert!(!x.contains("<ip") && !x.contains("<forward"), "{x}");
        assert!(
            network_xml(&NetworkSpec {
                name: "n".into(),
                bridge: "a-very-long-bridge-name".into()
            })
            .is_err()
        );
    }
}
