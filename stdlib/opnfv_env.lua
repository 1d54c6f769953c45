--- The env files that carry the deploy options: opnfv-environment.yaml (what
--- Apex's prep_env writes: the overcloud SSH key, tenant VLANs and tunnel
--- types, SR-IOV's physnet, the `performance` section, rt_kvm, OVS-DPDK),
--- virtual- or baremetal-environment.yaml, kubernetes-environment.yaml, the
--- Heat templates opnfv-environment.yaml points at, and the env files and
--- parameters the enabled plugins return from their `env_params` hook.
---
--- Apex edited template files line by line; apex builds the same parameters
--- as data and writes them with core.yaml.dump (keys sorted), so the output is
--- byte-for-byte stable for the same inputs.
---
--- Base parameters: Apex's container flow (apex/deploy.py) swaps its default
--- env file for build/upstream-environment.yaml, because the role service lists
--- of build/opnfv-environment.yaml predate containers. apex keeps that choice
--- (no ControllerServices/ComputeServices lists, no puppet-era BarbicanApi
--- mapping) and adds the other common parameters of opnfv-environment.yaml
--- plus every edit prep_env makes, whether or not Apex's template had the line
--- it edits.
local core = require("apex.core")
local util = require("apex.util")

local M = {}

---@class apex.SshKeyPair
---@field public string   OpenSSH public key line
---@field private string  PEM private key

---@class apex.EnvScales
---@field control integer
---@field compute integer

---@class apex.PluginEnvParams
---@field plugin string                       the plugin's name
---@field parameter_defaults? table           merged into opnfv-environment.yaml
---@field resource_registry? table<string, string|table>  merged into opnfv-environment.yaml
---@field files? table<string, string>        whole files, name relative to the deploy dir

---@class apex.OpnfvEnvInputs
---@field settings apex.DeploySettings   validated
---@field network apex.NetworkSettings   validated (apex.network): domain, tenant and external networks
---@field ssh_key apex.SshKeyPair        the overcloud key pair (MigrationSshKey)
---@field virtual boolean
---@field plugin_params apex.PluginEnvParams[]  what each enabled plugin's env_params returned, in plugin order
---@field ceph_image? string             "host:port/ceph/daemon:tag" in the local registry
---@field libvirt_type "kvm"|"qemu"
---@field scales apex.EnvScales

---@class apex.EnvContext
---@field virtual boolean
---@field ceph_image? string
---@field scales apex.EnvScales
---@field libvirt_type "kvm"|"qemu"

M.OPNFV_ENV = "opnfv-environment.yaml"
--- Files of `build()` that hold a secret (the overcloud's private key is a
--- parameter of opnfv-environment.yaml): written and uploaded 0600.
M.SECRET_FILES = { [M.OPNFV_ENV] = true }
M.VIRTUAL_ENV = "virtual-environment.yaml"
M.BAREMETAL_ENV = "baremetal-environment.yaml"
M.K8S_ENV = "kubernetes-environment.yaml"
M.FIRST_BOOT = "first-boot.yaml"
M.OVS_DPDK_PRECONFIG = "ovs-dpdk-preconfig.yaml"
--- Files other parts of the flow write: a plugin may not ship one of these names.
M.RESERVED = { "network-environment.yaml", "docker-images.yaml", "containers-prepare-parameter.yaml", "deploy_command" }

M.DEFAULT_NICS = { tenant = "eth1", external = "eth2" } -- config/network/network_settings.yaml's nic order
M.DEFAULT_VLAN_RANGES = "datacentre:500:525"  -- build/opnfv-environment.yaml
M.DATACENTRE_RANGE = "datacentre:1:1000"      -- prep_env: added beside tenant VLANs and SR-IOV
M.SRIOV_PHYSNET = "nfv_sriov"                 -- prep_env / prep_sriov_env: SR-IOV's provider physnet
M.NUMA_FILTERS = "RamFilter,ComputeFilter,AvailabilityZoneFilter,ComputeCapabilitiesFilter,"
    .. "ImagePropertiesFilter,NUMATopologyFilter" -- prep_env, with compute kernel args
M.RT_KVM_RPM = "kvmfornfv_kernel.rpm"        -- build/enable_rt_kvm.yaml

--- performance.Compute.ovs keys and the THT parameter each sets (prep_env's OVS_PERF_MAP).
M.OVS_PERF = {
  dpdk_cores = "HostCpusList",
  pmd_cores = "NeutronDpdkCoreList",
  socket_memory = "NeutronDpdkSocketMemory",
  memory_channels = "NeutronDpdkMemoryChannels",
}
--- performance.<role>.vpp keys and the hiera key each sets; uio-driver and
--- interface-options belong to the NIC config (network env), not here.
M.VPP_PERF = {
  ["main-core"] = "fdio::vpp_cpu_main_core",
  ["corelist-workers"] = "fdio::vpp_cpu_corelist_workers",
  ["uio-driver"] = false,
  ["interface-options"] = false,
}
--- performance.Compute.nova keys: Apex's pinning option (its early scripts set
--- LibvirtCPUPinSet; THT names it NovaVcpuPinSet now).
M.NOVA_PERF = { libvirtpin = "NovaVcpuPinSet" }
--- The THT parameter holding each performance role's hiera.
M.EXTRA_CONFIG = { Compute = "NovaComputeExtraConfig", Controller = "ControllerExtraConfig" }

-- ---------------------------------------------------------------------------
-- What prep_env reads of the network settings (validated by apex.network)
-- ---------------------------------------------------------------------------

--- The overcloud's domain: `dns-domain`, defaulted by apex.network.
---@param network apex.NetworkSettings
---@return string
function M.domain(network)
  return network.domain
end

--- The first NIC of a network for a role (validated: enabled networks map
--- both roles), else nil.
---@param net apex.Network?
---@param role "controller"|"compute"
---@return string?
local function first_member(net, role)
  local m = net and net.enabled and net.nic_mapping and net.nic_mapping[role]
  return m and m.members[1] or nil
end

--- The public external network (`networks.external`'s public item), validated.
---@param network apex.NetworkSettings
---@return apex.Network?
function M.external(network)
  return network.networks.external
end

---@class apex.TenantNetwork
---@field vlan boolean             the tenant network is enabled and segmentation_type is vlan
---@field overlay_id_range? string e.g. "vlan:500:525" (physnet:min:max, comma separated)
---@field nics {Controller: string, NovaCompute: string}  first tenant NIC per role
---@field external_nics {Controller: string, NovaCompute: string}  first public NIC per role

--- The tenant network as prep_env reads it.
---@param network apex.NetworkSettings
---@return apex.TenantNetwork
function M.tenant(network)
  local t = network.networks.tenant
  local ext = M.external(network)
  return {
    vlan = t ~= nil and t.enabled and t.segmentation_type == "vlan",
    overlay_id_range = t and t.enabled and t.overlay_id_range or nil,
    nics = {
      Controller = first_member(t, "controller") or M.DEFAULT_NICS.tenant,
      NovaCompute = first_member(t, "compute") or M.DEFAULT_NICS.tenant,
    },
    external_nics = {
      Controller = first_member(ext, "controller") or M.DEFAULT_NICS.external,
      NovaCompute = first_member(ext, "compute") or M.DEFAULT_NICS.external,
    },
  }
end

--- Bridge mappings for tenant VLANs: every physnet of the range other than
--- datacentre on br-vlan, then datacentre on br-ex (prep_env's
--- NeutronBridgeMappings and OpenDaylightProviderMappings).
---@param range string
---@return string
function M.bridge_mappings(range)
  local out = {}
  for item in range:gmatch("[^,]+") do
    local physnet = item:match("^%s*([^:%s]+)")
    if physnet and physnet ~= "datacentre" then
      out[#out + 1] = physnet .. ":br-vlan"
    end
  end
  out[#out + 1] = "datacentre:br-ex"
  return table.concat(out, ",")
end

-- ---------------------------------------------------------------------------
-- The context plugins' env_params hooks read
-- ---------------------------------------------------------------------------

--- What env_params hooks need beyond the settings: `ctx.env` when set (a
--- hook's apex.HookCtx always has it; the flow's ctx from step 7, the same
--- values it gives build), else derived from the flow's ctx as the flow
--- does (virtual: --virtual, an inventory of node VMs, or no nodes at all;
--- nodes registered in the undercloud's ironic are baremetal, as any node
--- Apex deploys without --virtual; the Ceph image in the local registry).
--- apex.hook_ctx makes a view's `env` with it.
---@param ctx apex.HookCtx|apex.Ctx
---@return apex.EnvContext
function M.env_context(ctx)
  if type(ctx.env) == "table" then
    return ctx.env
  end
  local inventory = ctx.inventory or (ctx.scenario and ctx.scenario.inventory)
  local registered = ctx.infra and ctx.infra.undercloud and ctx.infra.undercloud.registered_nodes
  local virtual = (ctx.opts and ctx.opts.virtual) and true or false
  if not virtual then
    if type(inventory) == "table" then virtual = inventory.virtual == true else virtual = inventory == nil and not registered end
  end
  local ha = ctx.settings and ctx.settings.global_params.ha_enabled or false
  local scales = ctx.scales or require("apex.tht").scales(ha, inventory)
  local ceph_image
  if ctx.site and ctx.site.local_registry then
    local c = require("apex.images").CEPH
    ceph_image = ctx.site.local_registry .. "/ceph/" .. c.name .. ":" .. c.tag
  end
  return { virtual = virtual, ceph_image = ceph_image, scales = scales, libvirt_type = "kvm" }
end

--- Calls every plugin's env_params hook (shape-checked by apex.plugins) and
--- returns the list build takes.
---@param list apex.Plugin[]
---@param view apex.HookCtx  the step's hook context (apex.hook_ctx.new)
---@return apex.PluginEnvParams[]
function M.plugin_params(list, view)
  local out = {}
  for _, r in ipairs(require("apex.plugins").call_all(list, "env_params", view)) do
    local p = r.result
    out[#out + 1] = {
      plugin = r.plugin.name,
      parameter_defaults = p.parameter_defaults,
      resource_registry = p.resource_registry,
      files = p.files,
    }
  end
  return out
end

-- ---------------------------------------------------------------------------
-- The performance section
-- ---------------------------------------------------------------------------

local function scalar(v)
  if type(v) == "number" and math.type(v) == "float" and v == math.floor(v) then
    return string.format("%d", v)
  end
  return tostring(v)
end

--- Kernel args from a role's `kernel` mapping: "key=value" joined by spaces.
--- YAML mappings lose their order, so keys are sorted, except that `hugepages`
--- follows `hugepagesz` (the count applies to the size given before it).
---@param kernel table<string, any>
---@return string
function M.kernel_args(kernel)
  local function rank(k)
    return k == "hugepages" and "hugepagesz\1" or k
  end
  local keys = {}
  for k in pairs(kernel) do
    keys[#keys + 1] = tostring(k)
  end
  table.sort(keys, function(a, b) return rank(a) < rank(b) end)
  local parts = {}
  for i, k in ipairs(keys) do
    parts[i] = k .. "=" .. scalar(kernel[k])
  end
  return table.concat(parts, " ")
end

local function check_keys(src, at, t, known)
  if type(t) ~= "table" then
    util.fail("%s: deploy_options.performance.%s: expected a mapping, got %s", src, at, type(t))
  end
  for k in pairs(t) do
    if known[k] == nil then
      util.fail("%s: deploy_options.performance.%s.%s: unknown option (valid: %s)", src, at, tostring(k),
        table.concat(util.sorted_keys(known), ", "))
    end
  end
  return t
end

---@class apex.PerfRole
---@field kernel? table
---@field nova? table
---@field vpp? table
---@field ovs? table

--- The performance section per role, its option keys checked.
---@param settings apex.DeploySettings
---@return {Compute: apex.PerfRole, Controller: apex.PerfRole}?
function M.performance(settings)
  local perf = settings.deploy_options.performance
  if perf == nil then
    return nil
  end
  local src = settings.source
  local out = {}
  for _, role in ipairs({ "Compute", "Controller", "ObjectStorage" }) do
    local sets = perf[role] or {}
    local r = {}
    if sets.kernel ~= nil and type(sets.kernel) ~= "table" then
      util.fail("%s: deploy_options.performance.%s.kernel: expected a mapping of kernel args, got %s", src, role,
        type(sets.kernel))
    end
    r.kernel = sets.kernel
    if sets.ovs ~= nil then r.ovs = check_keys(src, role .. ".ovs", sets.ovs, M.OVS_PERF) end
    if sets.vpp ~= nil then r.vpp = check_keys(src, role .. ".vpp", sets.vpp, M.VPP_PERF) end
    if sets.nova ~= nil then r.nova = check_keys(src, role .. ".nova", sets.nova, M.NOVA_PERF) end
    out[role] = r
  end
  return out
end

-- ---------------------------------------------------------------------------
-- Merging
-- ---------------------------------------------------------------------------

local function is_map(v)
  return type(v) == "table" and (next(v) ~= nil and not util.is_list(v))
end

local function same(a, b)
  if type(a) ~= "table" or type(b) ~= "table" then
    return a == b
  end
  for k, v in pairs(a) do
    if not same(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

--- Merges `src` into `dst` (mappings recursively; anything else replaces).
--- `owner` records which plugin set each leaf, so two plugins setting one
--- leaf differently is an error naming both.
local function merge(dst, src, owner, who, path)
  for k, v in pairs(src) do
    local at = path == "" and tostring(k) or path .. "." .. tostring(k)
    if type(v) == "table" and next(v) == nil and is_map(dst[k]) then
      -- an empty mapping adds nothing to a mapping
    elseif is_map(v) and is_map(dst[k]) then
      owner[k] = type(owner[k]) == "table" and owner[k] or {}
      merge(dst[k], v, owner[k], who, at)
    else
      local prev = owner[k]
      if type(prev) == "string" and prev ~= who and not same(dst[k], v) then
        util.fail("plugins %s and %s: env_params: both set %s, differently", prev, who, at)
      end
      dst[k] = util.deep_copy(v)
      owner[k] = who
    end
  end
end

-- ---------------------------------------------------------------------------
-- The files
-- ---------------------------------------------------------------------------

local function header(name, from)
  return "# " .. name .. ": written by apex from " .. from .. "\n"
end

local function yaml_file(name, from, doc)
  return header(name, from) .. core.yaml.dump(doc)
end

--- THT parameters of opnfv-environment.yaml that do not depend on the
--- deploy options (build/opnfv-environment.yaml, build/upstream-environment.yaml).
local function base_parameter_defaults()
  return {
    -- upstream-environment.yaml (Apex's env file for container deploys)
    DockerPuppetProcessCount = 10,
    NeutronNetworkType = "vxlan",
    SshServerOptions = {
      HostKey = { "/etc/ssh/ssh_host_rsa_key", "/etc/ssh/ssh_host_ecdsa_key", "/etc/ssh/ssh_host_ed25519_key" },
      SyslogFacility = "AUTHPRIV",
      AuthorizedKeysFile = ".ssh/authorized_keys",
      PasswordAuthentication = "no",
      ChallengeResponseAuthentication = "no",
      GSSAPIAuthentication = "no",
      GSSAPICleanupCredentials = "no",
      UsePAM = "yes",
      X11Forwarding = "yes",
      UsePrivilegeSeparation = "sandbox",
      AcceptEnv = {
        "LANG LC_CTYPE LC_NUMERIC LC_TIME LC_COLLATE LC_MONETARY LC_MESSAGES",
        "LC_PAPER LC_NAME LC_ADDRESS LC_TELEPHONE LC_MEASUREMENT",
        "LC_IDENTIFICATION LC_ALL LANGUAGE",
        "XMODIFIERS",
      },
      Subsystem = "sftp  /usr/libexec/openssh/sftp-server",
      UseDNS = "no",
    },
    -- opnfv-environment.yaml's common parameters
    CeilometerStoreEvents = true,
    NeutronEnableForceMetadata = true,
    NeutronEnableDHCPMetadata = true,
    NeutronEnableIsolatedMetadata = true,
    NeutronPluginExtensions = "qos,port_security,neutron.plugins.ml2.extensions.data_plane_status:DataPlaneStatusExtensionDriver",
    NeutronNetworkVLANRanges = M.DEFAULT_VLAN_RANGES,
    ExtraConfig = {
      ["tripleo::ringbuilder::build_ring"] = false,
      ["nova::policy::policies"] = {
        ["nova-os_compute_api:servers:show:host_status"] = {
          key = "os_compute_api:servers:show:host_status",
          value = "rule:admin_or_owner",
        },
      },
      ["neutron::policy::policies"] = {
        ["neutron-admin_or_data_plane_int"] = {
          key = "admin_or_data_plane_int",
          value = "rule:context_is_admin or role:data_plane_integrator",
        },
        ["neutron-update_port:data_plane_status"] = {
          key = "update_port:data_plane_status",
          value = "rule:admin_or_data_plane_int",
        },
      },
      ["nova::api::default_floating_pool"] = "external",
    },
  }
end

--- The first-boot template (OS::TripleO::NodeUserData) that applies
--- ComputeKernelArgs (every node: Apex uses the compute's args for all) and
--- installs the KVM4NFV kernel on computes, rebooting when it changed either.
local function first_boot_template()
  local script = [[
#!/bin/bash
set -eux
reboot_needed=no
if [ -n "$KERNEL_ARGS" ]; then
  sed -i "s|^\(GRUB_CMDLINE_LINUX=\".*\)\"|\1 $KERNEL_ARGS\"|" /etc/default/grub
  grub2-mkconfig -o /etc/grub2.cfg
  pages=$(echo " $KERNEL_ARGS" | sed -n 's/.* hugepages=\([0-9][0-9]*\).*/\1/p')
  pages=${pages:-1024}
  {
    echo "vm.hugetlb_shm_group=0"
    echo "vm.max_map_count=$(( pages * 22 / 10 ))"
    echo "kernel.shmmax=$(( pages * 2 * 1024 * 1024 ))"
  } >> /usr/lib/sysctl.d/00-system.conf
  reboot_needed=yes
fi
if [ -n "$RT_KERNEL_RPM" ]; then
  pattern=$(echo "${HOSTNAME_FORMAT:-compute}" | sed 's/%index%//g; s/%stackname%//g')
  case "$(hostname)" in
    *"${pattern:-compute}"*)
      yum install -y "/root/$RT_KERNEL_RPM"
      grub2-mkconfig -o /etc/grub2.cfg
      reboot_needed=yes
      ;;
  esac
fi
if [ "$reboot_needed" = yes ]; then
  reboot
fi
]]
  return {
    heat_template_version = "2014-10-16",
    description = "apex first boot: kernel args (hugepages, iommu, isolcpus) and the real-time KVM kernel",
    parameters = {
      ComputeKernelArgs = { type = "string", default = "", description = "kernel args appended to GRUB_CMDLINE_LINUX" },
      KVMForNFVKernelRPM = { type = "string", default = "", description = "kernel RPM under /root installed on computes" },
      ComputeHostnameFormat = { type = "string", default = "" },
    },
    resources = {
      userdata = {
        type = "OS::Heat::MultipartMime",
        properties = { parts = { { config = { get_resource = "kernel_config" } } } },
      },
      kernel_config = {
        type = "OS::Heat::SoftwareConfig",
        properties = {
          config = {
            str_replace = {
              template = script,
              params = {
                ["$KERNEL_ARGS"] = { get_param = "ComputeKernelArgs" },
                ["$RT_KERNEL_RPM"] = { get_param = "KVMForNFVKernelRPM" },
                ["$HOSTNAME_FORMAT"] = { get_param = "ComputeHostnameFormat" },
              },
            },
          },
        },
      },
    },
    outputs = { ["OS::stack_id"] = { value = { get_resource = "userdata" } } },
  }
end

--- The compute pre-config (OS::TripleO::ComputeExtraConfigPre) for OVS-DPDK:
--- DPDK on in Open vSwitch, socket memory, and the PMD and lcore CPU masks
--- from the core lists.
local function ovs_dpdk_template()
  local script = [[
#!/bin/bash
set -eux
# hex CPU mask of a core list such as "1,2" or "2-4,6"
cpu_mask() {
  python -c 'import sys
cores = set()
for part in filter(None, sys.argv[1].split(",")):
    lo, _, hi = part.partition("-")
    cores.update(range(int(lo), int(hi or lo) + 1))
print("%x" % sum(1 << c for c in cores) if cores else "")' "$1"
}
if [ -d /root/dpdk_rpms ]; then
  yum install -y /root/dpdk_rpms/*
fi
sed -i 's/^#\?user\s*=.*/user = "root"/; s/^#\?group\s*=.*/group = "root"/' /etc/libvirt/qemu.conf
systemctl restart openvswitch
ovs-vsctl --no-wait set Open_vSwitch . other_config:dpdk-init=true
if [ -n "$SOCKET_MEMORY" ]; then
  ovs-vsctl --no-wait set Open_vSwitch . "other_config:dpdk-socket-mem=$SOCKET_MEMORY"
fi
pmd_mask=$(cpu_mask "$PMD_CORES")
if [ -n "$pmd_mask" ]; then
  ovs-vsctl --no-wait set Open_vSwitch . "other_config:pmd-cpu-mask=$pmd_mask"
fi
lcore_mask=$(cpu_mask "$DPDK_CORES")
if [ -n "$lcore_mask" ]; then
  ovs-vsctl --no-wait set Open_vSwitch . "other_config:dpdk-lcore-mask=$lcore_mask"
fi
systemctl restart openvswitch
]]
  return {
    heat_template_version = "2014-10-16",
    description = "apex OVS-DPDK pre-config of computes: DPDK init, socket memory, PMD and lcore masks",
    parameters = {
      server = { type = "string" },
      HostCpusList = { type = "string", default = "", description = "cores for the DPDK lcore threads" },
      NeutronDpdkCoreList = { type = "string", default = "", description = "cores for the PMD threads" },
      NeutronDpdkSocketMemory = { type = "string", default = "", description = "memory per NUMA socket" },
    },
    resources = {
      OvsDpdkSetup = {
        type = "OS::Heat::StructuredDeployment",
        properties = { server = { get_param = "server" }, config = { get_resource = "OvsDpdkConfig" } },
      },
      OvsDpdkConfig = {
        type = "OS::Heat::SoftwareConfig",
        properties = {
          group = "script",
          config = {
            str_replace = {
              template = script,
              params = {
                ["$DPDK_CORES"] = { get_param = "HostCpusList" },
                ["$PMD_CORES"] = { get_param = "NeutronDpdkCoreList" },
                ["$SOCKET_MEMORY"] = { get_param = "NeutronDpdkSocketMemory" },
              },
            },
          },
        },
      },
    },
    outputs = { deploy_stdout = { value = { get_attr = { "OvsDpdkSetup", "deploy_stdout" } } } },
  }
end

--- Worker counts and (virtual) the libvirt type: build/virtual-environment.yaml
--- and build/baremetal-environment.yaml.
local function node_env(virtual, libvirt_type)
  local services = { "Heat", "Ceilometer", "Cinder", "Glance", "Keystone", "Neutron", "Nova", "Swift" }
  local p = {}
  for _, s in ipairs(services) do
    p[s .. "Workers"] = virtual and 1 or 12
  end
  if virtual then
    p.GnocchiMetricdWorkers = 1
    -- Apex's key, lower-case c: Heat ignores it, so the ControllerExtraConfig
    -- of opnfv-environment.yaml stays in force (a real ControllerExtraConfig
    -- here would replace it).
    p.controllerExtraConfig = { ["heat::api_cloudwatch::enabled"] = false, ["heat::api_cfn::enabled"] = false }
    p.NovaComputeLibvirtType = libvirt_type or "kvm"
  end
  return { parameter_defaults = p }
end

--- build/kubernetes-environment.yaml: no Docker service, the base services only.
local function k8s_env()
  local services = {
    "OS::TripleO::Services::Kernel", "OS::TripleO::Services::Ntp", "OS::TripleO::Services::Snmp",
    "OS::TripleO::Services::Timezone", "OS::TripleO::Services::TripleoPackages", "OS::TripleO::Services::Sshd",
  }
  return {
    resource_registry = { ["OS::TripleO::Services::Docker"] = "OS::Heat::None" },
    parameter_defaults = {
      ControllerServices = util.deep_copy(services),
      ComputeServices = util.deep_copy(services),
      Debug = true,
    },
  }
end

--- What prep_env sets from the deploy options and the network settings,
--- before the plugins' parameters: {parameters, parameter_defaults,
--- resource_registry} and the templates they name.
---@param inp apex.OpnfvEnvInputs
---@return table doc, table<string, table> templates
function M.core_params(inp)
  local o = inp.settings.deploy_options
  if type(inp.ssh_key) ~= "table" or type(inp.ssh_key.public) ~= "string" or type(inp.ssh_key.private) ~= "string" then
    util.fail("opnfv_env.build: ssh_key: expected {public = string, private = string}")
  end
  local pd = base_parameter_defaults()
  local rr = {
    ["OS::TripleO::Services::SwiftStorage"] = "OS::Heat::None",
    ["OS::TripleO::Services::SwiftProxy"] = "OS::Heat::None",
    ["OS::TripleO::ComputeExtraConfigPre"] = "OS::Heat::None",
    ["OS::TripleO::ControllerExtraConfigPre"] = "OS::Heat::None",
  }
  local templates = {}

  -- deploy.py prep_env: MigrationSshKey, the key pair the caller made
  local private = inp.ssh_key.private
  pd.MigrationSshKey = { public_key = inp.ssh_key.public, private_key = private:sub(-1) == "\n" and private or private .. "\n" }

  -- deploy.py prep_env: tenant VLANs, SR-IOV's physnet, tunnel types
  local tenant = M.tenant(inp.network)
  local vlan_ranges = ""
  if tenant.vlan and tenant.overlay_id_range then
    vlan_ranges = tenant.overlay_id_range
    if not vlan_ranges:find("datacentre", 1, true) then
      vlan_ranges = vlan_ranges .. "," .. M.DATACENTRE_RANGE
    end
  end
  if o.sriov then
    vlan_ranges = vlan_ranges ~= "" and vlan_ranges .. "," .. M.SRIOV_PHYSNET
        or M.DATACENTRE_RANGE .. "," .. M.SRIOV_PHYSNET
  end
  if vlan_ranges ~= "" then
    pd.NeutronNetworkVLANRanges = vlan_ranges
  end
  if tenant.vlan then
    if tenant.overlay_id_range then
      pd.NeutronBridgeMappings = M.bridge_mappings(tenant.overlay_id_range)
    end
    pd.NeutronNetworkType = "vlan"
    pd.NeutronTunnelTypes = ""
  else
    pd.NeutronTunnelTypes = "vxlan"
  end

  -- deploy.py prep_env: the performance section
  local perf = M.performance(inp.settings)
  local kernel = perf and perf.Compute.kernel
  if perf then
    for role, param in pairs(M.EXTRA_CONFIG) do
      local vpp = perf[role].vpp
      if vpp then
        local hiera = {}
        for key, hkey in pairs(M.VPP_PERF) do
          if hkey and vpp[key] ~= nil then
            hiera[hkey] = scalar(vpp[key])
          end
        end
        if next(hiera) then
          pd[param] = hiera
        end
      end
    end
    local ovs = perf.Compute.ovs
    if o.dataplane == "ovs_dpdk" and ovs then
      for key, param in pairs(M.OVS_PERF) do
        if ovs[key] ~= nil then
          pd[param] = scalar(ovs[key])
        end
      end
    end
    local nova = perf.Compute.nova
    if nova then
      for key, param in pairs(M.NOVA_PERF) do
        if nova[key] ~= nil then
          pd[param] = scalar(nova[key])
        end
      end
    end
    if kernel and next(kernel) then
      pd.NovaSchedulerDefaultFilters = M.NUMA_FILTERS
      pd.ComputeKernelArgs = M.kernel_args(kernel)
    end
  end

  -- deploy.py prep_env: first boot applies kernel args and the rt_kvm kernel
  if (kernel and next(kernel)) or o.rt_kvm then
    rr["OS::TripleO::NodeUserData"] = M.FIRST_BOOT
    templates[M.FIRST_BOOT] = first_boot_template()
  end
  if o.rt_kvm then
    pd.KVMForNFVKernelRPM = M.RT_KVM_RPM -- build/enable_rt_kvm.yaml
  end

  -- deploy.py prep_env: OVS-DPDK's compute pre-config
  if o.dataplane == "ovs_dpdk" then
    rr["OS::TripleO::ComputeExtraConfigPre"] = "./" .. M.OVS_DPDK_PRECONFIG
    templates[M.OVS_DPDK_PRECONFIG] = ovs_dpdk_template()
  end

  local doc = {
    parameters = { CloudDomain = M.domain(inp.network) }, -- deploy.py prep_env: CloudDomain
    parameter_defaults = pd,
    resource_registry = rr,
  }
  return doc, templates
end

local function plugin_list(inp)
  local names = {}
  for _, p in ipairs(inp.plugin_params or {}) do
    names[#names + 1] = p.plugin
  end
  return #names > 0 and table.concat(names, ", ") or "none"
end

--- Checks a file name a plugin ships: a plain relative path.
---@param plugin string
---@param name any
function M.check_file_name(plugin, name)
  local ok = type(name) == "string" and name ~= "" and name:sub(1, 1) ~= "/" and not name:find("\\", 1, true)
  if ok then
    for seg in (name .. "/"):gmatch("([^/]*)/") do
      if seg == "" or seg == "." or seg == ".." then
        ok = false
      end
    end
  end
  if not ok then
    util.fail("plugin %s: env_params: files: %s is not a plain relative path (no leading /, no . or .. parts)",
      plugin, type(name) == "string" and util.show(name) or type(name))
  end
end

--- Every env file apex writes from the deploy options, relative to the deploy
--- dir: opnfv-environment.yaml (with the plugins' parameters merged in),
--- virtual- or baremetal-environment.yaml, kubernetes-environment.yaml (vim
--- k8s), first-boot.yaml / ovs-dpdk-preconfig.yaml when opnfv-environment.yaml
--- names them, and the plugins' files (storage-environment.yaml comes from the
--- ceph plugin). Each YAML file starts with a comment naming its inputs.
---@param inp apex.OpnfvEnvInputs
---@return {files: table<string, string>}
function M.build(inp)
  local doc, templates = M.core_params(inp)
  local from = string.format("deploy settings %s, network settings %s, the overcloud SSH key, plugins: %s",
    inp.settings.source, inp.network.source or "(given)", plugin_list(inp))

  local files = {}
  local owner_pd, owner_rr, file_owner = {}, {}, {}
  local reserved = util.extend({ M.OPNFV_ENV, M.VIRTUAL_ENV, M.BAREMETAL_ENV, M.K8S_ENV, M.FIRST_BOOT,
    M.OVS_DPDK_PRECONFIG }, M.RESERVED)
  for _, p in ipairs(inp.plugin_params or {}) do
    if p.parameter_defaults then
      merge(doc.parameter_defaults, p.parameter_defaults, owner_pd, p.plugin, "parameter_defaults")
    end
    if p.resource_registry then
      merge(doc.resource_registry, p.resource_registry, owner_rr, p.plugin, "resource_registry")
    end
    for _, name in ipairs(util.sorted_keys(p.files or {})) do
      M.check_file_name(p.plugin, name)
      if util.contains(reserved, name) then
        util.fail("plugin %s: env_params: files: %s is a file apex writes itself (reserved: %s)", p.plugin, util.show(name),
          table.concat(reserved, ", "))
      end
      if file_owner[name] then
        util.fail("plugins %s and %s: env_params: both ship %s", file_owner[name], p.plugin, name)
      end
      file_owner[name] = p.plugin
      local content = p.files[name]
      if type(content) ~= "string" then
        util.fail("plugin %s: env_params: files[%s]: expected the file's content (a string), got %s", p.plugin,
          util.show(name), type(content))
      end
      if name:match("%.ya?ml$") and not content:match("^# ") then
        content = header(name, "plugin " .. p.plugin .. "'s env_params for deploy settings " .. inp.settings.source)
            .. content
      end
      files[name] = content
    end
  end

  files[M.OPNFV_ENV] = yaml_file(M.OPNFV_ENV, from, doc)
  for name, t in pairs(templates) do
    files[name] = yaml_file(name, "apex (named by " .. M.OPNFV_ENV .. ")", t)
  end
  if inp.virtual then
    files[M.VIRTUAL_ENV] = yaml_file(M.VIRTUAL_ENV, "virtual deployment, libvirt type " .. tostring(inp.libvirt_type or "kvm"),
      node_env(true, inp.libvirt_type))
  else
    files[M.BAREMETAL_ENV] = yaml_file(M.BAREMETAL_ENV, "baremetal deployment", node_env(false))
  end
  if inp.settings.deploy_options.vim == "k8s" then
    files[M.K8S_ENV] = yaml_file(M.K8S_ENV, "deploy_options.vim k8s in " .. inp.settings.source, k8s_env())
  end
  return { files = files }
end

return M
