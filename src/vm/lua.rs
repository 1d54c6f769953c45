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
use crate::lua::api::{Api, Effect, FnSpec, Param};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Xml {
    uri: Option<String>,
    xml: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Named {
    uri: Option<String>,
    name: String,
    /// `core.vm.remove`: refuse unless the domain carries this owner mark.
    owner: Option<String>,
    /// vm_network_ensure: the network's XML.
    xml: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Seed {
    seed: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DiskOpts {
    path: PathBuf,
    size: ByteSize,
    backing: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WaitOpts {
    address: String,
    port: Option<u16>,
    /// Seconds, default 300.
    timeout: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VbmcOpts {
    vbmc: Vbmc,
    bmc: Option<Bmc>,
    domain: Option<String>,
}

#[derive(Serialize)]
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
            "Renders the libvirt domain XML of a VM (disks, NICs, direct kernel or network boot, serial log, owner mark); checks names, MACs and buses.",
            &[Param { name: "spec", ty: "apex.DomainSpec", doc: "" }],
            "{xml: string}",
        ),
        |_, s: DomainSpec| Ok(XmlOut { xml: domain_xml(&s)? }),
    )?;
    api.sync(
        FnSpec::local(
            "vm.network_xml",
            "Renders an isolated libvirt network (a bridge with no host address, no forwarding).",
            &[Param {
                name: "spec",
                ty: "{name: string, bridge: string}",
                doc: "",
            }],
            "{xml: string}",
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
            "A MAC address derived from a seed (stable, so a plan shows the MACs the VMs get; first octet 00 as Apex's).",
            &[Param { name: "opts", ty: "{seed: string}", doc: "" }],
            "{mac: string}",
        ),
        |_, o: Seed| Ok(serde_json::json!({ "mac": mac_from_seed(&o.seed) })),
    )?;
    Ok(())
}

/// libvirt domains: define, start, state, remove (with the owner mark checked).
fn register_domains(api: &mut Api) -> mlua::Result<()> {
    api.async_fn(
        FnSpec {
            name: "vm.define",
            doc: "Defines (or redefines) a persistent libvirt domain from its XML (virsh define).",
            params: &[Param {
                name: "opts",
                ty: "{uri?: string, xml: string}",
                doc: "uri default qemu:///system",
            }],
            returns: "{}",
            is_async: true,
            effect: Effect::Remote,
        },
        |o: Xml| async move {
            lv(o.uri).define(&o.xml).await?;
            Ok(serde_json::json!({}))
        },
    )?;
    api.async_fn(
        FnSpec {
            name: "vm.start",
            doc: "Starts a defined domain (nothing when it runs).",
            params: &[Param {
                name: "opts",
                ty: "{uri?: string, name: string}",
                doc: "",
            }],
            returns: "{}",
            is_async: true,
            effect: Effect::Remote,
        },
        |o: Named| async move {
            lv(o.uri).start(&o.name).await?;
            Ok(serde_json::json!({}))
        },
    )?;
    api.async_fn(
        FnSpec {
            name: "vm.state",
            doc: "Whether a domain exists, runs, and whose it is (its owner mark).",
            params: &[Param {
                name: "opts",
                ty: "{uri?: string, name: string}",
                doc: "",
            }],
            returns: "apex.VmState",
            is_async: true,
            effect: Effect::ReadRemote,
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
            params: &[Param { name: "opts", ty: "{uri?: string, name: string, owner?: string}", doc: "" }],
            returns: "{removed: boolean}",
            is_async: true,
            effect: Effect::Remote,
        },
        |o: Named| async move {
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
            Ok(serde_json::json!({ "removed": l.remove(&o.name).await? }))
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
            params: &[Param { name: "opts", ty: "{uri?: string, name: string, xml: string}", doc: "" }],
            returns: "{created: boolean}",
            is_async: true,
            effect: Effect::Remote,
        },
        |o: Named| async move {
            let xml = o.xml.ok_or_else(|| anyhow::anyhow!("xml is required"))?;
            Ok(serde_json::json!({ "created": lv(o.uri).ensure_network(&o.name, &xml).await? }))
        },
    )?;
    api.async_fn(
        FnSpec {
            name: "vm.network_remove",
            doc: "Stops and undefines a libvirt network; `removed` is false when there was none.",
            params: &[Param {
                name: "opts",
                ty: "{uri?: string, name: string}",
                doc: "",
            }],
            returns: "{removed: boolean}",
            is_async: true,
            effect: Effect::Remote,
        },
        |o: Named| async move {
            Ok(serde_json::json!({ "removed": lv(o.uri).remove_network(&o.name).await? }))
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
            params: &[Param { name: "opts", ty: "{path: string, size: integer|string, backing?: string}", doc: "size in bytes or e.g. \"40G\"" }],
            returns: "{format: string, virtual_size: integer, backing?: string}",
            is_async: true,
            effect: Effect::Remote,
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
            params: &[Param { name: "opts", ty: "{address: string, port?: integer, timeout?: integer}", doc: "timeout in seconds (default 300)" }],
            returns: "{seconds: number, banner: string}",
            is_async: true,
            effect: Effect::ReadRemote,
        },
        |o: WaitOpts| async move {
            let (seconds, banner) =
                wait_ssh(&o.address, o.port.unwrap_or(22), Duration::from_secs(o.timeout.unwrap_or(300))).await?;
            Ok(serde_json::json!({ "seconds": seconds, "banner": banner }))
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
            params: &[Param { name: "opts", ty: "{vbmc: apex.Vbmc, bmc: apex.Bmc}", doc: "" }],
            returns: "{}",
            is_async: true,
            effect: Effect::Remote,
        },
        |o: VbmcOpts| async move {
            let bmc = o.bmc.ok_or_else(|| anyhow::anyhow!("bmc is required"))?;
            tokio::task::spawn_blocking(move || o.vbmc.add(&bmc)).await??;
            Ok(serde_json::json!({}))
        },
    )?;
    api.async_fn(
        FnSpec {
            name: "vbmc.remove",
            doc: "Stops and deletes the virtual BMC of a domain; `removed` is false when there was none.",
            params: &[Param { name: "opts", ty: "{vbmc: apex.Vbmc, domain: string}", doc: "" }],
            returns: "{removed: boolean}",
            is_async: true,
            effect: Effect::Remote,
        },
        |o: VbmcOpts| async move {
            let domain = o.domain.ok_or_else(|| anyhow::anyhow!("domain is required"))?;
            let removed = tokio::task::spawn_blocking(move || o.vbmc.remove(&domain)).await??;
            Ok(serde_json::json!({ "removed": removed }))
        },
    )?;
    api.async_fn(
        FnSpec {
            name: "vbmc.stop",
            doc: "Stops the deploy's vbmcd and every BMC it runs; `stopped` is false when none ran.",
            params: &[Param { name: "opts", ty: "{vbmc: apex.Vbmc}", doc: "" }],
            returns: "{stopped: boolean}",
            is_async: true,
            effect: Effect::Remote,
        },
        |o: VbmcOpts| async move {
            let stopped = tokio::task::spawn_blocking(move || o.vbmc.stop()).await??;
            Ok(serde_json::json!({ "stopped": stopped }))
        },
    )?;
    api.async_fn(
        FnSpec {
            name: "vbmc.list",
            doc: "The domains whose BMC the deploy's vbmcd knows (empty when it does not run).",
            params: &[Param {
                name: "opts",
                ty: "{vbmc: apex.Vbmc}",
                doc: "",
            }],
            returns: "{names: string[], running: boolean}",
            is_async: true,
            effect: Effect::ReadRemote,
        },
        |o: VbmcOpts| async move {
            tokio::task::spawn_blocking(move || {
                let running = o.vbmc.pid().is_some();
                let names = if running { o.vbmc.list()? } else { Vec::new() };
                Ok(serde_json::json!({ "names": names, "running": running }))
            })
            .await?
        },
    )?;
    Ok(())
}
