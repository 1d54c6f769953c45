-- apex.opnfv_env and the plugins' env_params hook: the env files carrying the
-- deploy options, checked against what Apex's apex/overcloud/deploy.py yields
-- for the same inputs (each expected value names the Apex function it comes from).
local core = require("apex.core")
local t = require("apex.test")
local util = require("apex.util")
local settings = require("apex.settings")
local plugins = require("apex.plugins")
local opnfv_env = require("apex.opnfv_env")

local KEY = {
  public = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC7 apex-test",
  private = "-----BEGIN PRIVATE KEY-----\nMIICdwIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n",
}
local CEPH = "192.0.2.1:8787/ceph/daemon:v3.1.0-stable-3.1-luminous-centos-7-x86_64"

--- Validated settings from deploy options (HA unless said otherwise).
local function deploy(opts, ha)
  return settings.validate_deploy({ global_params = { ha_enabled = ha ~= false }, deploy_options = opts }, "t.yaml")
end

--- A shipped scenario's settings, validated as the flow does.
local function scenario(name)
  local sc = require("scenarios." .. name)
  return settings.validate_deploy({ global_params = sc.global_params, deploy_options = sc.deploy_options }, name)
end

--- Network settings: the shipped virtual lab's, changed by `edit(raw)`.
local function network(edit)
  local raw = util.deep_copy(require("apex.network_defaults"))
  if edit then edit(raw) end
  return require("apex.network").validate(raw, "net.yaml")
end

local function tenant_vlan(range)
  return network(function(raw)
    raw.networks.tenant.segmentation_type = "vlan"
    raw.networks.tenant.overlay_id_range = range
  end)
end

--- Builds the env files through the enabled plugins' hooks (plus `extra`
--- plugin tables), returns the parsed YAML files and the texts.
local function build(s, o)
  o = o or {}
  local n = o.network or network()
  local virtual = o.virtual ~= false
  local scales = o.scales or { control = s.global_params.ha_enabled and 3 or 1, compute = 1 }
  local ctx = { settings = s, network = n,
    env = { virtual = virtual, ceph_image = CEPH, scales = scales, libvirt_type = "kvm" } }
  local list = plugins.enabled(s)
  for _, p in ipairs(o.extra or {}) do list[#list + 1] = p end
  local r = opnfv_env.build({
    settings = s, network = n, ssh_key = KEY, virtual = virtual, plugin_params = opnfv_env.plugin_params(list, ctx),
    ceph_image = CEPH, libvirt_type = "kvm", scales = scales,
  })
  local docs = {}
  for name, text in pairs(r.files) do
    if name:match("%.yaml$") then
      docs[name] = core.yaml.load({ text = text, name = name })
    end
  end
  return docs, r.files
end

local function pd(docs) return docs["opnfv-environment.yaml"].parameter_defaults end
local function rr(docs) return docs["opnfv-environment.yaml"].resource_registry end

t.describe("apex.opnfv_env", function()
  t.it("writes the env files of every shipped scenario, with Apex's common parameters", function()
    local names = {}
    for _, m in ipairs(core.modules.list({ kind = "scenarios" }).modules) do names[#names + 1] = m.name end
    t.expect(#names >= 9).to_be(true)
    for _, name in ipairs(names) do
      local s = scenario(name)
      local o = s.deploy_options
      local docs, texts = build(s)
      local p = pd(docs)
      for file, text in pairs(texts) do
        t.expect(text:match("^# " .. file:gsub("%p", "%%%0") .. ": written by apex from ")).to_be_truthy()
      end
      t.expect(docs["opnfv-environment.yaml"].parameters.CloudDomain).to_be("opnfvlf.org") -- deploy.py prep_env: CloudDomain <- dns-domain
      t.expect(p.MigrationSshKey).to_equal({ public_key = KEY.public, private_key = KEY.private }) -- deploy.py prep_env: make_ssh_key's pair
      t.expect(p.NeutronNetworkVLANRanges).to_be("datacentre:500:525") -- deploy.py prep_env: template value, no tenant VLAN/SR-IOV
      t.expect(p.ExtraConfig["nova::api::default_floating_pool"]).to_be("external") -- build/opnfv-environment.yaml
      t.expect(p.SshServerOptions.UsePAM).to_be("yes") -- build/upstream-environment.yaml (a string, not a YAML boolean)
      if o.performance then -- os-nosdn-fdio-ha: Apex's performance section (checked in detail below)
        t.expect(p.ComputeKernelArgs).to_contain("hugepages=2048")
      else
        t.expect(p.ComputeKernelArgs).to_be_nil() -- deploy.py prep_env: no performance section
      end
      t.expect(docs["virtual-environment.yaml"].parameter_defaults.NovaWorkers).to_be(1) -- build/virtual-environment.yaml
      t.expect(docs["baremetal-environment.yaml"]).to_be_nil()
      t.expect(docs["kubernetes-environment.yaml"]).to_be_nil()
      if o.sdn_controller == "ovn" then
        t.expect(p.NeutronNetworkType).to_be("geneve") -- THT neutron-ovn-ha.yaml's tunnels (Apex: no OVN case)
      else
        t.expect(p.NeutronNetworkType).to_be("vxlan") -- build/upstream-environment.yaml
        t.expect(p.NeutronTunnelTypes).to_be("vxlan")
      end
      t.expect(p.OpenDaylightProviderMappings).to_be_nil() -- deploy.py prep_env: only with tenant VLANs
      if o.dataplane == "ovs_dpdk" then
        t.expect(rr(docs)["OS::TripleO::ComputeExtraConfigPre"]).to_be("./ovs-dpdk-preconfig.yaml") -- deploy.py prep_env: ComputeExtraConfigPre
        t.expect(docs["ovs-dpdk-preconfig.yaml"].resources.OvsDpdkConfig.type).to_be("OS::Heat::SoftwareConfig")
      else
        t.expect(rr(docs)["OS::TripleO::ComputeExtraConfigPre"]).to_be("OS::Heat::None") -- build/opnfv-environment.yaml
      end
      local storage = docs["storage-environment.yaml"]
      t.expect(storage ~= nil).to_be(o.ceph)
      if o.ceph then
        -- deploy.py prep_storage_env: ceph_params
        t.expect(storage.parameter_defaults.CephAnsibleDisksConfig).to_equal({
          devices = { "/dev/loop3" }, journal_size = 512, osd_scenario = "collocated" })
        t.expect(storage.parameter_defaults.CephPoolDefaultSize).to_be(2)
        t.expect(storage.parameter_defaults.CephPoolDefaultPgNum).to_be(32)
      end
    end
  end)

  t.it("is byte-for-byte stable", function()
    local s = scenario("os-odl-nofeature-ha")
    local _, a = build(s)
    local _, b = build(s)
    t.expect(a).to_equal(b)
  end)

  t.it("ovs_dpdk with a performance section and rt_kvm (os-nosdn-kvm_ovs_dpdk-ha)", function()
    local s = deploy({
      sdn_controller = false, dataplane = "ovs_dpdk", rt_kvm = true, tacker = true, congress = true,
      performance = {
        Controller = { kernel = { hugepages = 1024, hugepagesz = "2M" } },
        Compute = {
          kernel = { hugepagesz = "2M", hugepages = 2048, intel_iommu = "on", iommu = "pt" },
          ovs = { socket_memory = 1024, pmd_cores = 2, dpdk_cores = 1, memory_channels = 1 },
          nova = { libvirtpin = 1 },
        },
      },
    })
    local docs = build(s)
    local p = pd(docs)
    -- deploy.py prep_env: perf_kern_comp joined as k=v (Apex keeps the file's order and
    -- a trailing space: 'hugepagesz=2M hugepages=2048 intel_iommu=on iommu=pt ')
    t.expect(p.ComputeKernelArgs).to_be("hugepagesz=2M hugepages=2048 intel_iommu=on iommu=pt")
    t.expect(p.NovaSchedulerDefaultFilters).to_be( -- deploy.py prep_env: NUMA filters with kernel args
      "RamFilter,ComputeFilter,AvailabilityZoneFilter,ComputeCapabilitiesFilter,ImagePropertiesFilter,NUMATopologyFilter")
    t.expect(p.HostCpusList).to_be("1") -- deploy.py prep_env: OVS_PERF_MAP dpdk_cores
    t.expect(p.NeutronDpdkCoreList).to_be("2") -- deploy.py prep_env: OVS_PERF_MAP pmd_cores
    t.expect(p.NeutronDpdkSocketMemory).to_be("1024") -- deploy.py prep_env: OVS_PERF_MAP socket_memory
    t.expect(p.NeutronDpdkMemoryChannels).to_be("1") -- deploy.py prep_env: OVS_PERF_MAP memory_channels
    t.expect(p.NovaVcpuPinSet).to_be("1") -- Apex's nova libvirtpin (its early scripts' LibvirtCPUPinSet)
    t.expect(p.KVMForNFVKernelRPM).to_be("kvmfornfv_kernel.rpm") -- build/enable_rt_kvm.yaml
    t.expect(rr(docs)["OS::TripleO::NodeUserData"]).to_be("first-boot.yaml") -- deploy.py prep_env: perf kernel or rt_kvm
    t.expect(rr(docs)["OS::TripleO::ComputeExtraConfigPre"]).to_be("./ovs-dpdk-preconfig.yaml") -- deploy.py prep_env
    local fb = docs["first-boot.yaml"]
    t.expect(fb.parameters.ComputeKernelArgs.type).to_be("string")
    t.expect(fb.resources.kernel_config.properties.config.str_replace.params["$KERNEL_ARGS"])
        .to_equal({ get_param = "ComputeKernelArgs" })
    t.expect(docs["ovs-dpdk-preconfig.yaml"].parameters.NeutronDpdkCoreList.type).to_be("string")

    -- the same OVS options without ovs_dpdk set nothing (deploy.py prep_env: dataplane check)
    s = deploy({ performance = { Compute = { ovs = { pmd_cores = 2 } } } })
    p = pd(build(s))
    t.expect(p.NeutronDpdkCoreList).to_be_nil()
    t.expect(p.ComputeKernelArgs).to_be_nil()
  end)

  t.it("rt_kvm alone: first boot installs the kernel, no kernel args", function()
    local docs = build(deploy({ rt_kvm = true }))
    t.expect(rr(docs)["OS::TripleO::NodeUserData"]).to_be("first-boot.yaml") -- deploy.py prep_env: rt_kvm
    t.expect(pd(docs).KVMForNFVKernelRPM).to_be("kvmfornfv_kernel.rpm") -- build/enable_rt_kvm.yaml
    t.expect(pd(docs).ComputeKernelArgs).to_be_nil()
    t.expect(docs["first-boot.yaml"] ~= nil).to_be(true)
  end)

  t.it("tenant VLANs: ranges, bridge mappings, no tunnels; ODL provider mappings", function()
    local n = tenant_vlan("vlan:500:600")
    local p = pd(build(deploy({ sdn_controller = false, dvr = true }), { network = n }))
    t.expect(p.NeutronNetworkVLANRanges).to_be("vlan:500:600,datacentre:1:1000") -- deploy.py prep_env: tenant_vlan_enabled
    t.expect(p.NeutronNetworkType).to_be("vlan") -- deploy.py prep_env: NeutronNetworkType
    t.expect(p.NeutronTunnelTypes).to_be("") -- deploy.py prep_env: NeutronTunnelTypes ''
    t.expect(p.NeutronBridgeMappings).to_be("vlan:br-vlan,datacentre:br-ex") -- deploy.py prep_env: NeutronBridgeMappings
    t.expect(p.OpenDaylightProviderMappings).to_be_nil() -- deploy.py prep_env: only with opendaylight

    p = pd(build(deploy({ sdn_controller = "opendaylight" }), { network = n }))
    t.expect(p.OpenDaylightProviderMappings).to_be("vlan:br-vlan,datacentre:br-ex") -- deploy.py prep_env: OpenDaylightProviderMappings
    t.expect(p.NeutronBridgeMappings).to_be("vlan:br-vlan,datacentre:br-ex")

    -- a range naming datacentre itself gets no second datacentre range
    p = pd(build(deploy({}), { network = tenant_vlan("datacentre:100:200,phys2:300:400") }))
    t.expect(p.NeutronNetworkVLANRanges).to_be("datacentre:100:200,phys2:300:400") -- deploy.py prep_env
    t.expect(p.NeutronBridgeMappings).to_be("phys2:br-vlan,datacentre:br-ex") -- deploy.py prep_env

    -- OVN keeps the VLAN settings (no geneve over them)
    p = pd(build(deploy({ sdn_controller = "ovn" }), { network = n }))
    t.expect(p.NeutronNetworkType).to_be("vlan")
    t.expect(p.NeutronTunnelTypes).to_be("")

    -- a disabled tenant network is no VLAN tenant network (deploy.py prep_env: enabled_network_list)
    local off = network(function(raw)
      raw.networks.tenant.segmentation_type = "vlan"
      raw.networks.tenant.enabled = false
    end)
    t.expect(pd(build(deploy({}), { network = off })).NeutronNetworkType).to_be("vxlan")
  end)

  t.it("SR-IOV: the nfv_sriov physnet and OpenDaylight's SR-IOV env file", function()
    local docs = build(deploy({ sdn_controller = "opendaylight", sriov = "em2" }))
    t.expect(pd(docs).NeutronNetworkVLANRanges).to_be("datacentre:1:1000,nfv_sriov") -- deploy.py prep_env: sriov
    local sriov = docs["neutron-opendaylight-sriov.yaml"].parameter_defaults
    t.expect(sriov.NeutronPhysicalDevMappings).to_be("nfv_sriov:em2") -- deploy.py prep_sriov_env
    t.expect(sriov.NeutronSriovNumVFs).to_be("em2:8") -- deploy.py prep_sriov_env
    t.expect(sriov.NovaPCIPassthrough).to_equal({ { devname = "em2", physical_network = "nfv_sriov" } }) -- deploy.py prep_sriov_env
    t.expect(sriov.NovaSchedulerDefaultFilters).to_contain("PciPassthroughFilter") -- deploy.py prep_sriov_env: uncommented
    t.expect(sriov.NovaSchedulerAvailableFilters).to_contain(
      "nova.scheduler.filters.pci_passthrough_filter.PciPassthroughFilter") -- deploy.py prep_sriov_env: uncommented
    t.expect(sriov.NeutronMechanismDrivers).to_equal({ "sriovnicswitch", "opendaylight_v2" }) -- THT's file

    docs = build(deploy({ sdn_controller = "opendaylight", sriov = "em2" }), { network = tenant_vlan("vlan:500:600") })
    t.expect(pd(docs).NeutronNetworkVLANRanges).to_be("vlan:500:600,datacentre:1:1000,nfv_sriov") -- deploy.py prep_env
  end)

  t.it("DVR with OpenDaylight: DHCP agents per network from the scales", function()
    local s = deploy({ sdn_controller = "opendaylight", dataplane = "fdio", vpp = true, dvr = true })
    t.expect(pd(build(s, { scales = { control = 3, compute = 2 } })).NeutronDhcpAgentsPerNetwork).to_be(2) -- deploy.py prep_env: num_compute
    t.expect(pd(build(s, { scales = { control = 1, compute = 0 } })).NeutronDhcpAgentsPerNetwork).to_be(1) -- deploy.py prep_env: num_control when no compute
    t.expect(pd(build(deploy({ dvr = true }))).NeutronDhcpAgentsPerNetwork).to_be_nil() -- deploy.py prep_env: only with opendaylight
  end)

  t.it("fdio: VPP physnets without SDN, VPP cores per role, honeycomb NIC roles with ODL, the routing node", function()
    local perf = {
      Controller = { vpp = { ["main-core"] = 1, ["corelist-workers"] = 2, ["uio-driver"] = "uio_pci_generic" } },
      Compute = { vpp = { ["main-core"] = 1, ["corelist-workers"] = "2-3" } },
    }
    local apex_net = network(function(raw)
      -- One NIC per network, named as a pod would (validated settings map every enabled network).
      local function on(nic) return { controller = { members = { nic } }, compute = { members = { nic } } } end
      raw.networks.admin.nic_mapping = on("admin_nic")
      raw.networks.storage.nic_mapping = on("storage_nic")
      raw.networks.api.nic_mapping = on("api_nic")
      raw.networks.tenant.nic_mapping = { controller = { members = { "tenant_nic" } }, compute = { members = { "tenant_nic" } } }
      raw.networks.external[1].public.nic_mapping = { controller = { members = { "ext_nic" } }, compute = { members = { "ext_nic" } } }
    end)
    local p = pd(build(deploy({ sdn_controller = false, dataplane = "fdio", vpp = true, performance = perf }),
      { network = apex_net }))
    t.expect(p.NeutronVPPAgentPhysnets).to_be("datacentre:tenant_nic,external:tap0") -- deploy.py prep_env: NeutronVPPAgentPhysnets
    t.expect(p.NovaComputeExtraConfig).to_equal({ -- deploy.py prep_env: perf_vpp_comp
      ["fdio::vpp_cpu_main_core"] = "1", ["fdio::vpp_cpu_corelist_workers"] = "2-3" })
    t.expect(p.ControllerExtraConfig).to_equal({ -- deploy.py prep_env: perf_vpp_ctrl
      ["fdio::vpp_cpu_main_core"] = "1", ["fdio::vpp_cpu_corelist_workers"] = "2" })

    p = pd(build(deploy({ sdn_controller = "opendaylight", dataplane = "fdio", vpp = true, performance = perf,
      odl_vpp_routing_node = "overcloud-novacompute-0" }), { network = apex_net }))
    local hc = "tripleo::profile::base::neutron::agents::honeycomb::interface_role_mapping"
    t.expect(p.NovaComputeExtraConfig[hc]).to_equal({ "tenant_nic:tenant-interface", "ext_nic:public-interface" }) -- deploy.py prep_env: honeycomb, compute
    t.expect(p.NovaComputeExtraConfig["fdio::vpp_cpu_main_core"]).to_be("1") -- merged with the core's
    t.expect(p.ControllerExtraConfig[hc]).to_equal({ "tenant_nic:tenant-interface" }) -- deploy.py prep_env: honeycomb, controller
    t.expect(p.ExtraConfig["opendaylight::vpp_routing_node"]).to_be("overcloud-novacompute-0.opnfvlf.org") -- deploy.py prep_env: vpp_routing_node
    t.expect(p.ExtraConfig["tripleo::ringbuilder::build_ring"]).to_be(false) -- the template's ExtraConfig stays
    t.expect(p.NeutronVPPAgentPhysnets).to_be_nil() -- deploy.py prep_env: only without SDN
  end)

  t.it("reads an Apex network file as written (`- public:` entries, no dns-domain)", function()
    local raw = core.yaml.load({ name = "network_settings.yaml", text = [[
networks:
  admin:
    cidr: 192.0.2.0/24
    installer_vm: {ip: 192.0.2.1}
    nic_mapping:
      controller: {members: [eth0]}
      compute: {members: [eth0]}
  tenant:
    cidr: 11.0.0.0/24
    segmentation_type: vxlan
    nic_mapping:
      controller: {members: [eth5]}
      compute: {members: [eth6]}
  external:
    - public:
      enabled: true
      cidr: 192.168.37.0/24
      installer_vm: {ip: 192.168.37.1}
      nic_mapping:
        compute: {members: [eth7]}
        controller: {members: [eth8]}
]] })
    local n = require("apex.network").validate(raw, "network_settings.yaml")
    local tn = opnfv_env.tenant(n)
    t.expect(tn.nics).to_equal({ Controller = "eth5", NovaCompute = "eth6" })
    t.expect(tn.external_nics.NovaCompute).to_be("eth7")
    t.expect(tn.external_nics.Controller).to_be("eth8")
    local docs = build(deploy({ dataplane = "fdio", vpp = true }), { network = n })
    t.expect(docs["opnfv-environment.yaml"].parameters.CloudDomain).to_be("localdomain.com") -- constants.py DOMAIN_NAME
    t.expect(pd(docs).NeutronVPPAgentPhysnets).to_be("datacentre:eth5,external:tap0") -- deploy.py prep_env
  end)

  t.it("k8s: kubernetes-environment.yaml; baremetal: its worker counts", function()
    local docs = build(deploy({ vim = "k8s", ceph = false }, false), { virtual = false })
    local k8s = docs["kubernetes-environment.yaml"]
    t.expect(k8s.resource_registry["OS::TripleO::Services::Docker"]).to_be("OS::Heat::None") -- build/kubernetes-environment.yaml
    t.expect(k8s.parameter_defaults.ComputeServices).to_contain("OS::TripleO::Services::Kernel")
    t.expect(k8s.parameter_defaults.Debug).to_be(true)
    t.expect(docs["storage-environment.yaml"]).to_be_nil() -- deploy.py create_deploy_cmd: no Ceph
    t.expect(docs["virtual-environment.yaml"]).to_be_nil()
    t.expect(docs["baremetal-environment.yaml"].parameter_defaults.NovaWorkers).to_be(12) -- build/baremetal-environment.yaml
  end)

  t.it("Ceph: a real device on baremetal, a loop device on a virtual deploy", function()
    local s = deploy({ ceph_device = "/dev/sdx" })
    local st = build(s, { virtual = false })["storage-environment.yaml"].parameter_defaults
    t.expect(st.CephAnsibleDisksConfig.devices).to_equal({ "/dev/sdx" }) -- deploy.py prep_storage_env: ceph_device
    t.expect(st.CephAnsibleExtraConfig).to_be_nil() -- deploy.py prep_storage_env: memory limits only when virtual
    t.expect(st.DockerCephDaemonImage).to_be(CEPH)
    t.expect(st.CinderEnableRbdBackend).to_be(true) -- THT storage-environment.yaml
    t.expect(#plugins.load("ceph", "t").loop_devices({ settings = s })).to_be(0)

    s = deploy({})
    local docs, texts = build(s)
    st = docs["storage-environment.yaml"].parameter_defaults
    t.expect(st.CephAnsibleDisksConfig.devices).to_equal({ "/dev/loop3" }) -- deploy.py prep_storage_env: default ceph_device
    t.expect(st.CephAnsibleExtraConfig).to_equal({ -- deploy.py prep_storage_env: virtual
      centos_package_dependencies = {}, ceph_osd_docker_memory_limit = "1g", ceph_mds_docker_memory_limit = "1g" })
    t.expect(texts["storage-environment.yaml"]).to_contain("centos_package_dependencies: []")
    t.expect(st.CephClusterFSID).to_be_nil() -- left to TripleO's generated passwords (Apex: random at each run)
    t.expect(#plugins.load("ceph", "t").loop_devices({ settings = s })).to_be(1)
  end)

  t.it("performance options are checked", function()
    t.expect(function() build(deploy({ performance = { Compute = { ovs = { pmd_core = 2 } } } })) end)
        .to_fail("t.yaml: deploy_options.performance.Compute.ovs.pmd_core: unknown option (valid: dpdk_cores, memory_channels, pmd_cores, socket_memory)")
    t.expect(function() build(deploy({ performance = { Compute = { kernel = "isolcpus=1" } } })) end)
        .to_fail("t.yaml: deploy_options.performance.Compute.kernel: expected a mapping")
  end)
end)

-- A custom plugin, as an author writes it: parameters, a resource-registry
-- entry and a shipped env file, all through the hook.
local CUSTOM = [[
local M = { description = "my_sdn (test)", kind = "sdn" }
function M.env_params(ctx)
  return {
    parameter_defaults = {
      MySdnControllerIp = ctx.network.undercloud_ip,
      ExtraConfig = { ["my_sdn::enabled"] = true },
      NeutronNetworkType = "my_overlay",
    },
    resource_registry = { ["OS::TripleO::Services::MySdnAgent"] = "/usr/share/my-sdn/agent.yaml" },
    files = { ["my-sdn-environment.yaml"] = "parameter_defaults:\n  MySdnMode: fast\n" },
  }
end
return M
]]

t.describe("env_params hook", function()
  t.it("a custom plugin adds parameters, a resource and a shipped env file", function()
    local dir = core.fs.tmpdir({ prefix = "opnfv-env-" }).path
    local path = dir .. "/plugins/my_sdn.lua"
    core.fs.write({ path = path, content = CUSTOM })
    local plugin = assert(load(core.fs.read({ path = path }).content, "@" .. path))()
    plugin.name, plugin.origin = "my_sdn", path
    core.fs.remove({ path = dir })

    local docs, texts = build(deploy({}), { extra = { plugin } })
    local p = pd(docs)
    t.expect(p.MySdnControllerIp).to_be("192.0.2.1")
    t.expect(p.NeutronNetworkType).to_be("my_overlay") -- a plugin overrides the core's value
    t.expect(p.ExtraConfig["my_sdn::enabled"]).to_be(true)
    t.expect(p.ExtraConfig["nova::api::default_floating_pool"]).to_be("external") -- merged, not replaced
    t.expect(rr(docs)["OS::TripleO::Services::MySdnAgent"]).to_be("/usr/share/my-sdn/agent.yaml")
    t.expect(docs["my-sdn-environment.yaml"].parameter_defaults.MySdnMode).to_be("fast")
    t.expect(texts["my-sdn-environment.yaml"]).to_match("^# my%-sdn%-environment%.yaml: written by apex from plugin my_sdn's env_params")
    t.expect(texts["opnfv-environment.yaml"]).to_contain("plugins: nosdn, ceph, my_sdn")
  end)

  t.it("a bad result is an error naming the plugin and the hook", function()
    local function bad(result)
      local p = { name = "bad_sdn", origin = "test", description = "x", env_params = function() return result end }
      return function() plugins.call(p, "env_params", {}) end
    end
    t.expect(bad("yes")).to_fail("plugin bad_sdn (test): hook env_params returned a wrong shape: result: expected a table")
    t.expect(bad({ 1, 2 })).to_fail("plugin bad_sdn (test): hook env_params returned a wrong shape: result")
    t.expect(bad({ files = { ["../etc/passwd"] = "x" } }))
        .to_fail('plugin bad_sdn (test): hook env_params returned a wrong shape: files: "../etc/passwd" is not a plain relative path')
    t.expect(bad({ files = { ["/etc/x.yaml"] = "x" } })).to_fail('files: "/etc/x.yaml" is not a plain relative path')
    t.expect(bad({ files = { ["a/./b.yaml"] = "x" } })).to_fail('files: "a/./b.yaml" is not a plain relative path')
    -- A plugin's name for a file is shown on one line, cut.
    t.expect(bad({ files = { ["../" .. string.rep("x", 300) .. "\n"] = "x" } }))
        .to_fail('xxx" (cut; 304 bytes in all) is not a plain relative path')
    t.expect(bad({ files = { ["x.yaml"] = {} } })).to_fail('hook env_params returned a wrong shape: files["x.yaml"]: expected the file\'s content')
    t.expect(bad({ parameter_defaults = "X: 1" })).to_fail("hook env_params returned a wrong shape: parameter_defaults: expected a mapping, got string")
    t.expect(bad({ resource_registry = { R = 1 } })).to_fail("resource_registry.R: expected a template path or a mapping, got number")
    t.expect(bad({ parameter_default = {} })).to_fail("parameter_default: unknown key (valid: parameter_defaults, resource_registry, files)")
    t.expect(#util.sorted_keys(plugins.call({ name = "n", origin = "o", description = "" }, "env_params", {}))).to_be(0)
    t.expect(util.contains(plugins.HOOKS, "env_params")).to_be(true)
  end)

  t.it("build refuses bad file names, reserved names and conflicting plugins", function()
    local s = deploy({ ceph = false })
    local function with(params)
      return function()
        opnfv_env.build({ settings = s, network = network(), ssh_key = KEY, virtual = true, plugin_params = params,
          ceph_image = CEPH, libvirt_type = "kvm", scales = { control = 3, compute = 1 } })
      end
    end
    t.expect(with({ { plugin = "p1", files = { ["../x.yaml"] = "" } } }))
        .to_fail('plugin p1: env_params: files: "../x.yaml" is not a plain relative path')
    t.expect(with({ { plugin = "p1", files = { ["opnfv-environment.yaml"] = "" } } }))
        .to_fail('plugin p1: env_params: files: "opnfv-environment.yaml" is a file apex writes itself')
    t.expect(with({ { plugin = "p1", files = { ["a.yaml"] = "" } }, { plugin = "p2", files = { ["a.yaml"] = "" } } }))
        .to_fail("plugins p1 and p2: env_params: both ship a.yaml")
    t.expect(with({ { plugin = "p1", parameter_defaults = { ExtraConfig = { k = 1 } } },
      { plugin = "p2", parameter_defaults = { ExtraConfig = { k = 2 } } } }))
        .to_fail("plugins p1 and p2: env_params: both set parameter_defaults.ExtraConfig.k, differently")
    -- the same value from two plugins is no conflict
    with({ { plugin = "p1", parameter_defaults = { X = 1 } }, { plugin = "p2", parameter_defaults = { X = 1 } } })()
  end)
end)
