//! Lua binding of the VM family: `core.vm.*` (`core.vm.wait_ssh` among them) and `core.vbmc.*`.

use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    Bmc, DomainSpec, Libvirt, NetworkSpec, Vbmc, create_disk, domain_xml, mac_from_seed,
    network_xml, wait_ssh,
};
use crate::loopdev::ByteSize;
use crate::lua::api::{Api, Effect, FnSpec};

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
#[serde(deny_unknown_fields)]
struct Xml {
    /// The libvirt URI, default qemu:///system.
    uri: Option<String>,
    xml: String,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
#[serde(deny_unknown_fields)]
struct Named {
    /// The libvirt URI, default qemu:///system.
    uri: Option<String>,
    /// The domain's (or network's) name.
    name: String,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
#[serde(deny_unknown_fields)]
struct RemoveOpts {
    /// The libvirt URI, default qemu:///system.
    uri: Option<String>,
    name: String,
    /// Refuse unless the domain carries this owner mark.
    owner: Option<String>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
#[serde(deny_unknown_fields)]
struct NetworkOpts {
    /// The libvirt URI, default qemu:///system.
    uri: Option<String>,
    name: String,
    /// The network's XML.
    xml: String,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
#[serde(deny_unknown_fields)]
struct Seed {
    seed: String,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
#[serde(deny_unknown_fields)]
struct DiskOpts {
    path: PathBuf,
    /// Bytes, or e.g. "40G".
    size: ByteSize,
    backing: Option<PathBuf>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
#[serde(deny_unknown_fields)]
struct WaitOpts {
    address: String,
    port: Option<u16>,
    /// Seconds, default 300.
    timeout: Option<u64>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
#[serde(deny_unknown_fields)]
struct VbmcOpts {
    vbmc: Vbmc,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
#[serde(deny_unknown_fields)]
struct VbmcAdd {
    vbmc: Vbmc,
    bmc: Bmc,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
#[serde(deny_unknown_fields)]
struct VbmcDomain {
    vbmc: Vbmc,
    /// The domain whose BMC goes.
    domain: String,
}

/// Nothing to report.
#[derive(Serialize, schemars::JsonSchema)]
#[schemars(inline)]
struct Done {}

#[derive(Serialize, schemars::JsonSchema)]
#[schemars(inline)]
struct Mac {
    mac: String,
}

#[derive(Serialize, schemars::JsonSchema)]
#[schemars(inline)]
struct Removed {
    /// False when there was none.
    removed: bool,
}

#[derive(Serialize, schemars::JsonSchema)]
#[schemars(inline)]
struct Created {
    /// Whether this call defined it.
    created: bool,
}

#[derive(Serialize, schemars::JsonSchema)]
#[schemars(inline)]
struct Stopped {
    /// False when none ran.
    stopped: bool,
}

#[derive(Serialize, schemars::JsonSchema)]
#[schemars(inline)]
struct SshUp {
    /// How long the wait took.
    seconds: f64,
    /// The server's identification line.
    banner: String,
}

#[derive(Serialize, schemars::JsonSchema)]
#[schemars(inline)]
struct VbmcList {
    /// The domains with a BMC.
    names: Vec<String>,
    /// Whether the vbmcd runs.
    running: bool,
}

#[derive(Serialize, schemars::JsonSchema)]
#[schemars(inline)]
struct XmlOut {
    xml: String,
}

/// A domain's state.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "apex.VmState")]
struct StateOut {
    exists: bool,
    running: bool,
    /// virsh domstate's word (running, shut off, ...).
    state: Option<String>,
    /// The owner mark of its XML.
    owner: Option<String>,
}

fn lv(uri: Option<String>) -> Libvirt {
    Libvirt::new(uri.as_deref())
}

/// Registers the VM family's functions, one group per job.
pub fn register(api: &mut Api) -> mlua::Result<()> {
    api.class::<DomainSpec>();
    api.class::<StateOut>();
    api.class::<Vbmc>();
    api.class::<Bmc>();
    register_rendering(api)?;
    register_domains(api)?;
    register_networks(api)?;
    register_disks(api)?;
    register_ssh_wait(api)?;
    register_vbmc(api)?;
    Ok(())
}

/// What is rendered or derived without touching a host: domain and network XML, MACs.
fn register_rendering(api: &mut Api) -> mlua::Result<()> {
    api.sync(
        FnSpec::local(
            "vm.domain_xml",
            "Renders the libvirt domain XML of a VM (disks, NICs, direct kernel or network boot, serial log, owner mark); checks names, MACs and buses."),
        |_, s: DomainSpec| Ok(XmlOut { xml: domain_xml(&s)? }),
    )?;
    api.sync(
        FnSpec::local(
            "vm.network_xml",
            "Renders an isolated libvirt network (a bridge with no host address, no forwarding).",
        ),
        |_, s: NetworkSpec| {
            Ok(XmlOut {
                xml: network_xml(&s)?,
            })
        },
    )?;
    api.sync(
        FnSpec::local(
            "vm.mac",
            "A MAC address derived from a seed (stable, so a plan shows the MACs the VMs get; first octet 00 as Apex's)."),
        |_, o: Seed| Ok(Mac {
            mac: mac_from_seed(&o.seed),
        }),
    )?;
    Ok(())
}

/// libvirt domains: define, start, state, remove (with the owner mark checked).
fn register_domains(api: &mut Api) -> mlua::Result<()> {
    api.async_fn(
        FnSpec {
            name: "vm.define",
            doc: "Defines (or redefines) a persistent libvirt domain from its XML (virsh define).",
            is_async: true,
            effect: Effect::Remote,
            ..FnSpec::TYPED
        },
        |o: Xml| async move {
            lv(o.uri).define(&o.xml).await?;
            Ok(Done {})
        },
    )?;
    api.async_fn(
        FnSpec {
            name: "vm.start",
            doc: "Starts a defined domain (nothing when it runs).",
            is_async: true,
            effect: Effect::Remote,
            ..FnSpec::TYPED
        },
        |o: Named| async move {
            lv(o.uri).start(&o.name).await?;
            Ok(Done {})
        },
    )?;
    api.async_fn(
        FnSpec {
            name: "vm.state",
            doc: "Whether a domain exists, runs, and whose it is (its owner mark).",
            is_async: true,
            effect: Effect::ReadRemote,
            ..FnSpec::TYPED
        },
        |o: Named| async move {
            Ok(match lv(o.uri).state(&o.name).await? {
                Some(s) => StateOut {
                    exists: true,
                    running: s.running,
                    state: Some(s.state),
                    owner: s.owner,
                },
                None => StateOut {
                    exists: false,
                    running: false,
                    state: None,
                    owner: None,
                },
            })
        },
    )?;
    api.async_fn(
        FnSpec {
            name: "vm.remove",
            doc: "Powers off and undefines a domain; with `owner`, a domain not carrying that owner mark is refused. `removed` is false when there was none.",
            is_async: true,
            effect: Effect::Remote,
            ..FnSpec::TYPED
        },
        |o: RemoveOpts| async move {
            let l = lv(o.uri);
            if let Some(want) = &o.owner
                && let Some(s) = l.state(&o.name).await?
                && s.owner.as_deref() != Some(want.as_str())
            {
                anyhow::bail!(
                    "domain {} is not apex's for {want} (its owner mark: {}); left alone",
                    o.name,
                    s.owner.as_deref().unwrap_or("none")
                );
            }
            Ok(Removed {
                removed: l.remove(&o.name).await?,
            })
        },
    )?;
    Ok(())
}

/// libvirt networks: ensure (define and start), remove.
fn register_networks(api: &mut Api) -> mlua::Result<()> {
    api.async_fn(
        FnSpec {
            name: "vm.network_ensure",
            doc: "Defines and starts a libvirt network from its XML unless it exists; `created` says whether this call defined it.",
            is_async: true,
            effect: Effect::Remote,
            ..FnSpec::TYPED
        },
        |o: NetworkOpts| async move {
            Ok(Created {
                created: lv(o.uri).ensure_network(&o.name, &o.xml).await?,
            })
        },
    )?;
    api.async_fn(
        FnSpec {
            name: "vm.network_remove",
            doc: "Stops and undefines a libvirt network; `removed` is false when there was none.",
            is_async: true,
            effect: Effect::Remote,
            ..FnSpec::TYPED
        },
        |o: Named| async move {
            Ok(Removed {
                removed: lv(o.uri).remove_network(&o.name).await?,
            })
        },
    )?;
    Ok(())
}

/// qcow2 disks.
fn register_disks(api: &mut Api) -> mlua::Result<()> {
    api.async_fn(
        FnSpec {
            name: "vm.disk",
            doc: "Creates a qcow2 disk: empty of `size`, or a copy-on-write overlay of `backing` grown to `size`; an existing file is an error.",
            is_async: true,
            effect: Effect::Remote,
            ..FnSpec::TYPED
        },
        |o: DiskOpts| async move {
            tokio::task::spawn_blocking(move || create_disk(&o.path, o.size.0, o.backing.as_deref())).await?
        },
    )?;
    Ok(())
}

/// Waiting for a VM's SSH server.
fn register_ssh_wait(api: &mut Api) -> mlua::Result<()> {
    api.async_fn(
        FnSpec {
            name: "vm.wait_ssh",
            doc: "Waits until an SSH server sends its banner on address:port (a forwarded port alone is not enough).",
            is_async: true,
            effect: Effect::ReadRemote,
            ..FnSpec::TYPED
        },
        |o: WaitOpts| async move {
            let (seconds, banner) =
                wait_ssh(&o.address, o.port.unwrap_or(22), Duration::from_secs(o.timeout.unwrap_or(300))).await?;
            Ok(SshUp { seconds, banner })
        },
    )?;
    Ok(())
}

/// Virtual BMCs of the deploy's vbmcd: add, remove, stop, list.
fn register_vbmc(api: &mut Api) -> mlua::Result<()> {
    api.async_fn(
        FnSpec {
            name: "vbmc.add",
            doc: "Starts the deploy's vbmcd when needed, then adds (when missing) and starts the virtual BMC of a domain.",
            is_async: true,
            effect: Effect::Remote,
            ..FnSpec::TYPED
        },
        |o: VbmcAdd| async move {
            tokio::task::spawn_blocking(move || o.vbmc.add(&o.bmc)).await??;
            Ok(Done {})
        },
    )?;
    api.async_fn(
        FnSpec {
            name: "vbmc.remove",
            doc: "Stops and deletes the virtual BMC of a domain; `removed` is false when there was none.",
            is_async: true,
            effect: Effect::Remote,
            ..FnSpec::TYPED
        },
        |o: VbmcDomain| async move {
            let removed = tokio::task::spawn_blocking(move || o.vbmc.remove(&o.domain)).await??;
            Ok(Removed { removed })
        },
    )?;
    api.async_fn(
        FnSpec {
            name: "vbmc.stop",
            doc: "Stops the deploy's vbmcd and every BMC it runs; `stopped` is false when none ran.",
            is_async: true,
            effect: Effect::Remote,
            ..FnSpec::TYPED
        },
        |o: VbmcOpts| async move {
            let stopped = tokio::task::spawn_blocking(move || o.vbmc.stop()).await??;
            Ok(Stopped { stopped })
        },
    )?;
    api.async_fn(
        FnSpec {
            name: "vbmc.list",
            doc: "The domains whose BMC the deploy's vbmcd knows (empty when it does not run).",
            is_async: true,
            effect: Effect::ReadRemote,
            ..FnSpec::TYPED
        },
        |o: VbmcOpts| async move {
            tokio::task::spawn_blocking(move || {
                let running = o.vbmc.pid().is_some();
                let names = if running { o.vbmc.list()? } else { Vec::new() };
                Ok(VbmcList { names, running })
            })
            .await?
        },
    )?;
    Ok(())
}
