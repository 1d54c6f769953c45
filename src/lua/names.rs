//! The families of `apex.core` and the flat names they replace.
//!
//! A host function is named `family.name` in its [`FnSpec`](super::FnSpec)
//! (`registry.copy`, `vm.define`) and lives at `core.<family>.<name>`. Every
//! family is described here once; registering a function of an undescribed
//! family fails, so the stubs always have a class doc for it.
//!
//! [`DEPRECATED`] keeps the flat names of the release before (`core.copy_image`)
//! as aliases for one release: the very same function, rendered in the stubs
//! with `---@deprecated` and listed in docs/host-api.md. Removing them is
//! deleting that list.
//!
//! Two flat names are also family names: `core.log` and `core.modules` were
//! functions and are now the tables of their families. Their old call keeps
//! working through the family table's `__call` (a sync wrapper that drops the
//! table argument), the only aliases that are not the same function. The tar
//! functions are the family `tar`, not `archive`: the old `core.archive` then
//! stays a plain alias of `core.tar.pack`, and the name says what the format is.

/// `(family, what it is for)`, in the order the stubs list them.
pub const FAMILIES: &[(&str, &str)] = &[
    (
        "artifacts",
        "Cached downloads of upstream artifacts (conditional GET, verified, resumed).",
    ),
    (
        "data",
        "Values and bytes: the list mark for YAML/JSON output, base64, SHA-256.",
    ),
    (
        "engine",
        "A Docker engine: build, pull, tag, inspect and push images.",
    ),
    (
        "fs",
        "Local files: read, write (atomic), list, remove, temporary directories.",
    ),
    ("http", "HTTP GET for APIs (e.g. Gerrit)."),
    (
        "image",
        "Edits inside a disk image (qcow2): files, packages, commands, units.",
    ),
    ("json", "JSON text to and from Lua values."),
    ("log", "The apex log (console and log file)."),
    (
        "loop",
        "Loop devices, and the systemd unit that attaches one again at boot.",
    ),
    (
        "modules",
        "The Lua modules `require` can load, shipped and from override directories.",
    ),
    ("os", "The process's environment, the clock, waiting."),
    (
        "parallel",
        "Concurrent calls of a Lua function over a list.",
    ),
    ("progress", "Progress bars on the console."),
    (
        "registry",
        "Container registries over the v2 API, without an engine: list, tag, delete, copy, mirror.",
    ),
    (
        "ssh",
        "Remote hosts over SSH: commands, uploads, key pairs, socket forwards, locks.",
    ),
    (
        "tar",
        "tar and tar.gz archives: reproducible packing, guarded unpacking.",
    ),
    (
        "tmp_dir",
        "A deploy's tmp dir: its run lock and log, and what a killed run left there.",
    ),
    ("vbmc", "Virtual BMCs: IPMI endpoints for libvirt domains."),
    (
        "vm",
        "libvirt domains, networks and disks (the undercloud VM, virtual nodes).",
    ),
    ("yaml", "YAML text to and from Lua values."),
];

/// `(old flat name, family.name)`: the aliases kept for one release.
pub const DEPRECATED: &[(&str, &str)] = &[
    ("archive", "tar.pack"),
    ("array", "data.array"),
    ("base64_decode", "data.base64_decode"),
    ("build_image", "engine.build"),
    ("claim_tmp_dir", "tmp_dir.claim"),
    ("copy_image", "registry.copy"),
    ("create_loop_device", "loop.create"),
    ("customize_image", "image.customize"),
    ("detach_loop_device", "loop.detach"),
    ("env", "os.env"),
    ("exists", "fs.exists"),
    ("fetch_if_modified", "artifacts.fetch"),
    ("forward_socket", "ssh.forward_socket"),
    ("http_get", "http.get"),
    ("inspect_image", "engine.inspect"),
    ("json_dump", "json.dump"),
    ("json_load", "json.load"),
    ("list_dir", "fs.list"),
    ("log", "log.write"),
    ("loop_unit", "loop.unit"),
    ("mirror_images", "registry.mirror"),
    ("mkdir", "fs.mkdir"),
    ("modules", "modules.list"),
    ("now", "os.now"),
    ("parallel_map", "parallel.map"),
    ("progress_finish", "progress.finish"),
    ("progress_set", "progress.set"),
    ("progress_start", "progress.start"),
    ("pull_image", "engine.pull"),
    ("push_registry", "engine.push"),
    ("read_file", "fs.read"),
    ("registry_catalog", "registry.catalog"),
    ("registry_delete_manifest", "registry.delete_manifest"),
    ("registry_digest", "registry.digest"),
    ("registry_missing_blobs", "registry.missing_blobs"),
    ("registry_put_tag", "registry.put_tag"),
    ("registry_tags", "registry.tags"),
    ("remove", "fs.remove"),
    ("run_ssh", "ssh.run"),
    ("sha256", "data.sha256"),
    ("sleep", "os.sleep"),
    ("ssh_key_pair", "ssh.key_pair"),
    ("ssh_lock", "ssh.lock"),
    ("ssh_unlock", "ssh.unlock"),
    ("tag_image", "engine.tag"),
    ("tmp_dir_status", "tmp_dir.status"),
    ("tmpdir", "fs.tmpdir"),
    ("unpack", "tar.unpack"),
    ("upload", "ssh.upload"),
    ("vbmc_add", "vbmc.add"),
    ("vbmc_list", "vbmc.list"),
    ("vbmc_remove", "vbmc.remove"),
    ("vbmc_stop", "vbmc.stop"),
    ("vm_define", "vm.define"),
    ("vm_disk", "vm.disk"),
    ("vm_domain_xml", "vm.domain_xml"),
    ("vm_mac", "vm.mac"),
    ("vm_network_ensure", "vm.network_ensure"),
    ("vm_network_remove", "vm.network_remove"),
    ("vm_network_xml", "vm.network_xml"),
    ("vm_remove", "vm.remove"),
    ("vm_start", "vm.start"),
    ("vm_state", "vm.state"),
    ("wait_ssh", "vm.wait_ssh"),
    ("write_file", "fs.write"),
    ("yaml_dump", "yaml.dump"),
    ("yaml_load", "yaml.load"),
];

/// The description of a family, when it is one.
pub fn family_doc(family: &str) -> Option<&'static str> {
    FAMILIES.iter().find(|(f, _)| *f == family).map(|(_, d)| *d)
}
