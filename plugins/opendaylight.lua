--- OpenDaylight: neutron driver `odl` (neutron-server-opendaylight and the
--- opendaylight image), the version swap inside the `opendaylight` image
--- (remove the installed ODL, add the yum repo of the chosen release,
--- install it; `master` means the newest release), puppet-opendaylight of the
--- matching branch in the overcloud image, and the env files per feature.
--- The overcloud image also gets, as Apex's prep_image gives it: the OVS
--- agent units removed (ODL replaces the agent), the ODL release's yum
--- repository (Apex's add_repo: /etc/yum.repos.d/opendaylight-<release>.repo)
--- and, with vpn (BGPVPN), Quagga and ZRPCD (Apex's inject_quagga: the
--- quagga tarball unpacked in /root, its packages but debuginfo, devel and
--- contrib installed, zrpcd started from rc.local).
---
--- Where apex differs from Apex on purpose: Apex appends the zrpcd line with
--- `sed -i` to /etc/rc.local and to /etc/rc.d/rc.local, which turns the
--- /etc/rc.local symlink into a copy; apex appends it to each file that does
--- not hold it yet, so the symlink stays and the line is there once.
local core = require("apex.core")
local util = require("apex.util")
local opnfv_env = require("apex.opnfv_env")
local overcloud_base = require("apex.overcloud_base")
local customize = require("apex.customize")
local dockerfile = require("apex.dockerfile")

local M = {
  description = "OpenDaylight SDN controller (neutron driver odl; ODL version swap; sfc, vpn, l2gw, sriov, gluon, vpp)",
  kind = "sdn",
}

--- The ODL versions deploy_options.odl_version accepts (Apex's).
M.VERSIONS = { "carbon", "nitrogen", "oxygen", "fluorine", "neon", "master" }
--- The package release `master` installs: the newest release.
M.NEWEST_RELEASE = "neon"

--- ODL's deploy options (validated by apex like the core ones).
M.options = {
  odl_version = { type = "string", default = "oxygen", valid = M.VERSIONS,
    description = "the OpenDaylight version swapped into the opendaylight image (master: the newest release)" },
  odl_vpp_netvirt = { type = "boolean", default = false,
    description = "with vpp: ODL's netvirt-vpp env file instead of honeycomb" },
  odl_vpp_routing_node = { type = "string",
    description = "with dataplane fdio: the node routing for VPP (a host name; the overcloud domain is appended)" },
}

M.NEXUS = "https://nexus.opendaylight.org/content/repositories"

--- The package release of an ODL version: `master` is M.NEWEST_RELEASE.
---@param odl_version string
---@return string
function M.release(odl_version)
  if odl_version == "master" then
    return M.NEWEST_RELEASE
  end
  return odl_version
end

--- The yum repository of an ODL release.
---@param release string
---@return string
function M.repo_url(release)
  return string.format("%s/opendaylight-%s-epel-7-x86_64-devel/", M.NEXUS, release)
end

---@param s apex.DeploySettings
function M.validate(s)
  local o = s.deploy_options
  if o.vpp and o.dataplane ~= "fdio" then
    util.fail("%s: deploy_options.vpp: vpp with OpenDaylight needs dataplane fdio (got %s; valid: fdio)",
      s.source, o.dataplane)
  end
end

---@param ctx apex.HookCtx
---@return apex.ImagesResult
function M.images(ctx)
  return { driver = "odl" }
end

---@param ctx apex.HookCtx
---@return apex.ContainerPatch[]
function M.patches(ctx)
  local version = ctx.settings.deploy_options.odl_version
  local release = M.release(version)
  local repo = table.concat({
    "RUN printf '%s\\n'",
    "'[opendaylight-" .. release .. "]'",
    "'name=OpenDaylight " .. release .. "'",
    "'baseurl=" .. M.repo_url(release) .. "'",
    "'gpgcheck=0'",
    "'enabled=1'",
    "> /etc/yum.repos.d/opendaylight.repo",
  }, " ")
  return { {
    image = "opendaylight",
    reason = string.format("OpenDaylight %s (package release %s) replaces the upstream ODL", version, release),
    ops = dockerfile.as_root({
      "RUN yum -y remove opendaylight",
      repo,
      "RUN yum -y install opendaylight",
    }),
  } }
end

--- The puppet-opendaylight module matching the ODL version: its branch and
--- the tarball of it the artifact server publishes.
---@param ctx apex.HookCtx
---@return string branch, string tarball, string reason
local function puppet_module(ctx)
  local version = ctx.settings.deploy_options.odl_version
  local branch = version == "master" and "master" or "stable/" .. version
  local tarball = "puppet-opendaylight-" .. branch:gsub("/", "-") .. ".tar"
  return branch, tarball, "puppet-opendaylight " .. branch .. " for OpenDaylight " .. version
end

--- The yum repository file of an ODL release, as Apex's add_repo writes it.
---@param release string
---@return string path, string content
function M.repo_file(release)
  local name = "opendaylight-" .. release
  return "/etc/yum.repos.d/" .. name .. ".repo",
    string.format("[%s]\nname=%s\nbaseurl=%s\ngpgcheck=0\n", name, name, M.repo_url(release))
end

M.QUAGGA_TAR = "quagga-4.tar.gz"
M.ZRPCD_START = "/opt/quagga/etc/init.d/zrpcd_start.sh"
M.RC_LOCAL = { "/etc/rc.local", "/etc/rc.d/rc.local" }
local QUAGGA_REASON = "vpn (BGPVPN): Quagga and ZRPCD for ODL's BGP speaker"

--- Quagga/ZRPCD for BGPVPN, as Apex's inject_quagga and prep_image do.
---@return apex.Customization[]
function M.quagga()
  local line = M.ZRPCD_START
  local append = {}
  for _, f in ipairs(M.RC_LOCAL) do
    append[#append + 1] = string.format("{ grep -qxF %s %s 2>/dev/null || echo %s >> %s; }", line, f, line, f)
  end
  return {
    { id = "quagga", op = "unpack", file = M.QUAGGA_TAR, dest = "/root/", reason = QUAGGA_REASON },
    { id = "quagga", op = "run-command", needs = { "ls", "grep" }, reason = QUAGGA_REASON,
      arg = "cd /root/quagga && packages=$(ls | grep -vE 'debuginfo|devel|contrib') && "
        .. customize.package_command("install", "$packages", "the quagga packages") },
    { id = "quagga", op = "write", arg = M.ZRPCD_START, content = "sudo /opt/quagga/etc/init.d/zrpcd start\n",
      mode = "0755", reason = QUAGGA_REASON },
    { id = "quagga", op = "run-command", needs = { "grep", "chmod" }, reason = QUAGGA_REASON,
      arg = table.concat(append, " && ") .. " && chmod +x " .. table.concat(M.RC_LOCAL, " ") },
  }
end

--- The overcloud image: the OVS agent removed, the ODL repo, the puppet
--- module of the chosen ODL version in place of its own (file operations apex
--- applies itself), Java; Quagga with vpn.
---@param ctx apex.HookCtx
---@return apex.Customization[]
function M.overcloud_customize(ctx)
  local _, tarball, reason = puppet_module(ctx)
  local release = M.release(ctx.settings.deploy_options.odl_version)
  local repo_path, repo = M.repo_file(release)
  local out = overcloud_base.ovs_agent_removal("opendaylight")
  util.extend(out, {
    { id = "odl-repo", op = "write", arg = repo_path, content = repo, mode = "0644",
      reason = "the yum repository of OpenDaylight " .. release },
    { id = "puppet-opendaylight", op = "remove", arg = "/etc/puppet/modules/opendaylight", reason = reason },
    { id = "puppet-opendaylight", op = "unpack", file = tarball, dest = "/etc/puppet/modules/", reason = reason },
    { id = "puppet-opendaylight", op = "install", arg = "java-1.8.0-openjdk", reason = reason },
  })
  if ctx.settings.deploy_options.vpn then
    util.extend(out, M.quagga())
  end
  return out
end

--- The puppet module tarball, from the artifact server beside the images;
--- with vpn, the quagga tarball (required: Apex fails without it).
---@param ctx apex.HookCtx
---@return apex.ExtraArtifact[]
function M.artifacts(ctx)
  local _, tarball, reason = puppet_module(ctx)
  local out = { { name = tarball, reason = reason } }
  if ctx.settings.deploy_options.vpn then
    out[#out + 1] = { name = M.QUAGGA_TAR, required = true, reason = QUAGGA_REASON }
  end
  return out
end

---@param ctx apex.HookCtx
---@return apex.EnvFile[]
function M.env_files(ctx)
  local o = ctx.settings.deploy_options
  local out = { { path = "services/neutron-opendaylight.yaml", reason = "sdn_controller: opendaylight" } }
  local function add(path, reason) out[#out + 1] = { path = path, reason = reason } end
  if o.sfc then add("services/neutron-sfc-opendaylight.yaml", "sfc") end
  if o.vpn then add("services/neutron-bgpvpn-opendaylight.yaml", "vpn (bgpvpn)") end
  if o.gluon then add("gluon.yaml", "gluon") end
  if o.vpp then
    if o.odl_vpp_netvirt then
      add("neutron-opendaylight-netvirt-vpp.yaml", "vpp with odl_vpp_netvirt")
    elseif o.dvr then
      add("neutron-opendaylight-fdio-dvr.yaml", "vpp with dvr")
    else
      add("neutron-opendaylight-honeycomb.yaml", "vpp (honeycomb)")
    end
  end
  if o.l2gw then add("neutron-l2gw-opendaylight.yaml", "l2gw") end
  if o.sriov then add("services/neutron-opendaylight-sriov.yaml", "sriov on " .. o.sriov) end
  return out
end

M.SRIOV_ENV = "neutron-opendaylight-sriov.yaml"
M.HONEYCOMB_MAPPING = "tripleo::profile::base::neutron::agents::honeycomb::interface_role_mapping"

--- THT's OpenDaylight SR-IOV env file as Apex's prep_sriov_env leaves it:
--- the scheduler filters switched on, the SR-IOV NIC on the nfv_sriov physnet
--- with 8 VFs, passed through to instances. Shipped whole (Apex copies its
--- edited file over THT's), so template paths are absolute.
---@param iface string
---@return string
function M.sriov_env(iface)
  local tht = require("apex.tht")
  local physnet = opnfv_env.SRIOV_PHYSNET
  return core.yaml.dump({
    resource_registry = {
      ["OS::TripleO::Services::ComputeNeutronCorePlugin"] = tht.THT_DIR .. "/docker/services/neutron-plugin-ml2.yaml",
      ["OS::TripleO::Services::NeutronSriovAgent"] = tht.THT_DIR .. "/docker/services/neutron-sriov-agent.yaml",
      ["OS::TripleO::Services::NeutronSriovHostConfig"] = tht.THT_DIR .. "/puppet/services/neutron-sriov-host-config.yaml",
    },
    parameter_defaults = {
      NeutronMechanismDrivers = { "sriovnicswitch", "opendaylight_v2" },
      NovaSchedulerDefaultFilters = { "RetryFilter", "AvailabilityZoneFilter", "ComputeFilter",
        "ComputeCapabilitiesFilter", "ImagePropertiesFilter", "ServerGroupAntiAffinityFilter",
        "ServerGroupAffinityFilter", "PciPassthroughFilter" },
      NovaSchedulerAvailableFilters = { "nova.scheduler.filters.all_filters",
        "nova.scheduler.filters.pci_passthrough_filter.PciPassthroughFilter" },
      NeutronPhysicalDevMappings = physnet .. ":" .. iface,
      NeutronSriovNumVFs = iface .. ":8",
      NovaPCIPassthrough = { { devname = iface, physical_network = physnet } },
    },
  })
end

--- OpenDaylight's share of opnfv-environment.yaml (Apex's prep_env) and the
--- SR-IOV env file (prep_sriov_env): provider mappings for tenant VLANs, the
--- VPP routing node, DVR's DHCP agents, honeycomb's NIC roles with fdio.
---@param ctx apex.HookCtx
---@return apex.EnvParams
function M.env_params(ctx)
  local o = ctx.settings.deploy_options
  local pd, files = {}, {}
  local tenant = opnfv_env.tenant(ctx.network)
  if tenant.vlan and tenant.overlay_id_range then
    pd.OpenDaylightProviderMappings = opnfv_env.bridge_mappings(tenant.overlay_id_range)
  end
  if o.odl_vpp_routing_node then
    pd.ExtraConfig = {
      ["opendaylight::vpp_routing_node"] = o.odl_vpp_routing_node .. "." .. opnfv_env.domain(ctx.network),
    }
  end
  if o.dvr then
    -- Apex also moves the DHCP agent from the controllers' service list to the
    -- computes'; apex writes no role service lists (see apex.opnfv_env).
    local scales = opnfv_env.env_context(ctx).scales
    pd.NeutronDhcpAgentsPerNetwork = scales.compute == 0 and scales.control or scales.compute
  end
  local perf = opnfv_env.performance(ctx.settings)
  if perf and o.dataplane == "fdio" then
    local roles = {
      Compute = { tenant.nics.NovaCompute .. ":tenant-interface", tenant.external_nics.NovaCompute .. ":public-interface" },
      Controller = { tenant.nics.Controller .. ":tenant-interface" },
    }
    for role, param in pairs(opnfv_env.EXTRA_CONFIG) do
      if perf[role].vpp and next(perf[role].vpp) then
        pd[param] = { [M.HONEYCOMB_MAPPING] = roles[role] }
      end
    end
  end
  if o.sriov then
    files[M.SRIOV_ENV] = M.sriov_env(o.sriov)
  end
  return { parameter_defaults = pd, files = files }
end

return M
