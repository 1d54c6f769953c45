-- apex.network_env: network-environment.yaml, the NIC templates and
-- network_data.yaml for the fixtures, against what Apex's NetworkEnvironment
-- (apex/network/network_environment.py), create_nic_template
-- (apex/overcloud/config.py, build/nics-template.yaml.jinja2) and
-- create_network_data (apex/network/network_data.py) yield for them.
local t = require("apex.test")
local core = require("apex.core")

local here = debug.getinfo(1, "S").source:gsub("^@", ""):match("^(.*)/[^/]*$") or "."
local DATA = here .. "/../data/network/"
local THT = "/usr/share/openstack-tripleo-heat-templates/network"

local function net_of(name)
  local raw = core.yaml.load({ path = DATA .. name .. ".yaml" })
  return require("apex.network").validate(raw, "tests/data/network/" .. name .. ".yaml")
end

local function build(name, opts)
  return require("apex.network_env").build(net_of(name), opts or {})
end

local function eq(actual, expected, what)
  assert(t.deep_equal(actual, expected), string.format("%s: expected %s, got %s", what, t.show(expected),
    t.show(actual)))
end

-- The os-net-config item of a NIC config with this name (or type).
local function item(items, name)
  for _, it in ipairs(items) do
    if it.name == name then
      return it
    end
  end
  for _, it in ipairs(items) do
    if it.type == name then
      return it
    end
  end
  error("no item " .. name .. " in " .. t.show(items), 2)
end

local function params_of(addresses)
  local out = {}
  for i, a in ipairs(addresses) do
    out[i] = a.ip_netmask.get_param
  end
  return out
end

t.describe("apex.network_env", function()
  t.it("single network: every isolated network noop, admin in br-ex", function()
    local env = build("single")
    local p, reg = env.parameters, env.resource_registry
    eq(p.ControlPlaneSubnetCidr, "24", "cidr prefix") -- NetworkEnvironment.__init__: str(admin_cidr.prefixlen)
    eq(p.ControlPlaneDefaultRoute, "10.20.0.254", "default route") -- __init__: nets[admin]['gateway']
    eq(p.EC2MetadataIp, "10.20.0.1", "metadata ip") -- __init__: admin installer_vm.ip
    eq(p.DnsServers, { "10.20.0.53" }, "dns") -- __init__: net_settings['dns_servers']
    eq(p.NeutronExternalNetworkBridge, "br-ex", "bridge") -- build/network-environment.yaml, untouched
    assert(p.ExternalNetCidr == nil and p.TenantNetCidr == nil and p.NovaIPv6 == nil, "no isolated parameters")
    -- _config_resource_reg(..., '/noop.yaml'): network resources removed, ports noop
    for _, n in ipairs({ "External", "Tenant", "Storage", "InternalApi", "StorageMgmt" }) do
      assert(reg["OS::TripleO::Network::" .. n] == nil, n .. " network removed")
      eq(reg["OS::TripleO::Controller::Ports::" .. n .. "Port"], THT .. "/ports/noop.yaml", n .. " port")
    end
    eq(reg["OS::TripleO::Network::Ports::ExternalVipPort"], THT .. "/ports/noop.yaml", "vip port")
    eq(reg["OS::TripleO::Compute::Net::SoftwareConfig"], "nics/compute.yaml", "nic config")
    eq(reg["OS::TripleO::Network::Ports::RedisVipPort"], THT .. "/ports/ctlplane_vip.yaml", "redis vip")
    -- _update_service_netmap: only admin enabled, so every service on ctlplane
    for service, n in pairs(p.ServiceNetMap) do
      eq(n, "ctlplane", service)
    end
    -- nics-template: external disabled -> ovs_bridge br-ex holding the admin NIC,
    -- the ctlplane default route on both roles
    for _, role in ipairs({ "controller", "compute" }) do
      local items = env.nic_configs[role]
      eq(#items, 1, role .. " items")
      local br = item(items, "br-ex")
      eq(br.type, "ovs_bridge", "bridge type")
      eq(br.members, { { type = "interface", name = "eno1", primary = true } }, "members")
      eq(br.routes[2], { default = true, next_hop = { get_param = "ControlPlaneDefaultRoute" } }, "default route")
    end
    -- create_network_data: disabled networks listed with what the file gives, StorageMgmt fixed
    eq(env.network_data, {
      { name = "Tenant", name_lower = "tenant", vip = false, enabled = false, ip_subnet = "10.21.0.0/24", mtu = 1500 },
      { name = "External", name_lower = "external", vip = true, enabled = false, ip_subnet = "10.22.0.0/24",
        mtu = 1500 },
      { name = "StorageMgmt", name_lower = "storage_mgmt", vip = true, enabled = false, ip_subnet = "172.16.3.0/24",
        allocation_pools = { { start = "172.16.3.4", ["end"] = "172.16.3.250" } } },
    }, "network_data")
    eq(env.networks_file, "network_data.yaml", "networks file") -- overcloud/deploy.py: --networks-file
  end)

  t.it("all networks on VLANs", function()
    local env = build("vlans")
    local p, reg = env.parameters, env.resource_registry
    eq(p.NeutronExternalNetworkBridge, '""', "bridge") -- __init__: external vlan is int -> '""'
    eq(p.ExternalNetworkVlanID, 120, "ext vlan") -- __init__: _get_vlan(external)
    eq(p.TenantNetworkVlanID, 110, "tenant vlan")
    eq(p.StorageNetworkVlanID, 130, "storage vlan")
    eq(p.InternalApiNetworkVlanID, 140, "api vlan")
    eq(p.ExternalNetCidr, "203.0.113.0/25", "ext cidr") -- __init__: str(external_cidr)
    eq(p.ExternalAllocationPools, { { start = "203.0.113.10", ["end"] = "203.0.113.59" } }, "ext pool")
    eq(p.ExternalInterfaceDefaultRoute, "203.0.113.126", "ext route") -- __init__: external gateway
    eq(p.TenantAllocationPools, { { start = "172.31.10.21", ["end"] = "172.31.10.234" } }, "tenant pool")
    eq(p.InternalApiAllocationPools, { { start = "172.31.40.50", ["end"] = "172.31.40.150" } }, "api pool")
    eq(p.ControlPlaneDefaultRoute, "172.30.0.2", "admin gateway defaults to the installer IP (Apex: KeyError)")
    eq(reg["OS::TripleO::Network::External"], THT .. "/external.yaml", "external") -- _config_resource_reg
    eq(reg["OS::TripleO::Network::Ports::InternalApiVipPort"], THT .. "/ports/internal_api.yaml", "api vip")
    eq(reg["OS::TripleO::Compute::Ports::TenantPort"], THT .. "/ports/tenant.yaml", "tenant port")
    assert(reg["OS::TripleO::Network::Ports::TenantVipPort"] == nil, "tenant has no VIP port")
    eq(reg["OS::TripleO::Network::Ports::StorageMgmtVipPort"], THT .. "/ports/noop.yaml", "storage mgmt noop")
    -- _update_service_netmap keeps enabled networks; internal_api stays since
    -- api is enabled (Apex compares with "api" and moves it to ctlplane)
    eq(p.ServiceNetMap.CephClusterNetwork, "storage", "storage kept")
    eq(p.ServiceNetMap.NeutronTenantNetwork, "tenant", "tenant kept")
    eq(p.ServiceNetMap.PublicNetwork, "external", "external kept")
    eq(p.ServiceNetMap.NovaApiNetwork, "internal_api", "internal_api kept (deliberate fix)")
    eq(p.ServiceNetMap.IronicNetwork, "ctlplane", "ctlplane stays")
    -- nics-template: a VLAN network -> one ovs_bridge on the admin NIC,
    -- br-ex since external is tagged, the VLANs in Apex's order
    for _, role in ipairs({ "controller", "compute" }) do
      local items = env.nic_configs[role]
      eq(#items, 1, "one bridge")
      local br = item(items, "br-ex")
      eq(br.members[1], { type = "interface", name = "nic1", primary = true }, "admin NIC first")
      local ids = {}
      for i = 2, #br.members do
        ids[#ids + 1] = br.members[i].vlan_id.get_param
      end
      eq(ids, { "ExternalNetworkVlanID", "TenantNetworkVlanID", "StorageNetworkVlanID", "InternalApiNetworkVlanID" },
        "vlans")
      eq(br.members[2].routes, { { default = true, next_hop = { get_param = "ExternalInterfaceDefaultRoute" } } },
        "external vlan route")
      eq(#br.routes, role == "compute" and 2 or 1, role .. ": ctlplane default route only on compute")
    end
    eq(env.network_data[1].mtu, 9000, "tenant mtu") -- create_network_data: network.get('mtu', 1500)
    eq(env.network_data[2].gateway_ip, "203.0.113.126", "external gateway_ip")
    assert(env.network_data[1].gateway_ip == nil, "no gateway_ip where the file has none")
  end)

  t.it("IPv6", function()
    local env = build("ipv6")
    local p, reg = env.parameters, env.resource_registry
    -- __init__: IPV6_FLAGS when get_ip_addr_family() == 6
    for _, flag in ipairs({ "NovaIPv6", "MongoDbIPv6", "CorosyncIPv6", "CephIPv6", "RabbitIPv6", "MemcachedIPv6" }) do
      eq(p[flag], true, flag)
    end
    eq(reg["OS::TripleO::Network::External"], THT .. "/external_v6.yaml", "external v6") -- postfix external_v6
    eq(reg["OS::TripleO::Controller::Ports::StoragePort"], THT .. "/ports/storage_v6.yaml", "storage v6")
    eq(reg["OS::TripleO::Network::InternalApi"], THT .. "/internal_api_v6.yaml", "api v6")
    eq(reg["OS::TripleO::Network::Tenant"], THT .. "/tenant.yaml", "tenant v4")
    assert(p.NeutronOverlayIPVersion == nil, "tenant is IPv4")
    eq(p.ExternalNetCidr, "2001:db8:100::/64", "cidr")
    eq(p.ExternalAllocationPools, { { start = "2001:db8:100::15", ["end"] = "2001:db8:100:0:ffff:ffff:ffff:ffea" } },
      "pool") -- overcloud_ip_range: cidr[21]..cidr[-22]
    eq(p.ExternalInterfaceDefaultRoute, "2001:db8:100::1", "gateway") -- _config_gateway: cidr[1]
    eq(p.StorageNetCidr, "fd00:0:0:30::/64", "storage")
    -- nics-template: external_net_af == 6 -> ctlplane default route on the controller too
    local ctl = env.nic_configs.controller[1]
    eq(ctl.name, "eth0", "admin plain interface")
    eq(ctl.routes[2], { default = true, next_hop = { get_param = "ControlPlaneDefaultRoute" } }, "v6 route")
    -- external br-ex default route: ::/0 (Apex writes 0.0.0.0/0 for IPv6 too)
    eq(item(env.nic_configs.controller, "br-ex").routes[1].ip_netmask, "::/0", "v6 default")
    -- network_data: IPv6 networks with TripleO's ipv6 keys
    local ext = env.network_data[2]
    eq(ext.name, "External", "order")
    eq(ext.ipv6, true, "ipv6")
    eq(ext.ipv6_subnet, "2001:db8:100::/64", "ipv6 subnet")
    eq(ext.gateway_ipv6, "2001:db8:100::1", "gateway v6")
    assert(ext.ip_subnet == nil, "no v4 key")
  end)

  t.it("no storage network, VLAN tenant", function()
    local env = build("nostorage", { sdn_controller = "opendaylight" })
    local p, reg = env.parameters, env.resource_registry
    assert(reg["OS::TripleO::Network::Storage"] == nil, "storage removed") -- _config_resource_reg noop
    eq(reg["OS::TripleO::Compute::Ports::StoragePort"], THT .. "/ports/noop.yaml", "storage port noop")
    assert(reg["OS::TripleO::Network::InternalApi"] == nil, "api removed")
    assert(p.StorageNetCidr == nil and p.InternalApiNetCidr == nil, "no storage/api parameters")
    eq(p.ControlPlaneSubnetCidr, "22", "prefix")
    eq(p.DnsServers, { "9.9.9.9" }, "dns")
    eq(p.ServiceNetMap.CephMonNetwork, "ctlplane", "storage services on ctlplane") -- _update_service_netmap
    eq(p.ServiceNetMap.NeutronTenantNetwork, "tenant", "tenant kept")
    -- nics-template: segmentation_type vlan -> tenant NIC in br-vlan
    local br = item(env.nic_configs.compute, "br-vlan")
    eq(br.members, { { type = "interface", name = "em2", primary = true } }, "br-vlan members")
    eq(params_of(br.addresses), { "TenantIpSubnet" }, "tenant address")
    -- network_data: no Storage entry (not in the file), api listed disabled
    local names = {}
    for i, n in ipairs(env.network_data) do
      names[i] = n.name .. (n.enabled and "+" or "-")
    end
    eq(names, { "Tenant+", "External+", "InternalApi-", "StorageMgmt-" }, "network_data")
  end)

  t.it("bonded NICs", function()
    local env = build("bonds")
    local items = env.nic_configs.controller
    local bond = item(items, "bond1")
    eq(bond.type, "linux_bond", "bond type")
    eq(bond.bonding_options, "mode=802.3ad lacp_rate=fast", "options")
    eq(bond.members, { { type = "interface", name = "ens1f0", primary = true }, { type = "interface", name = "ens1f1" } },
      "bond members")
    eq(params_of(bond.addresses), { "TenantIpSubnet" }, "tenant untagged on the bond")
    local vlan = item(items, "vlan")
    eq(vlan.device, "bond1", "storage VLAN on the bond")
    eq(vlan.vlan_id, { get_param = "StorageNetworkVlanID" }, "vlan id")
    eq(env.parameters.StorageNetworkVlanID, 300, "storage vlan id") -- __init__: _get_vlan(storage)
    eq(item(env.nic_configs.compute, "bond1").bonding_options, "mode=active-backup miimon=100", "default options")
    eq(item(items, "eno1").type, "interface", "admin untouched (no VLAN on it, external native)")
  end)

  t.it("a typical lab with each dataplane", function()
    local env = build("lab", { dataplane = "ovs_dpdk" })
    -- config.create_nic_template: ovs_dpdk -> br-phy on compute
    local phy = item(env.nic_configs.compute, "br-phy")
    eq(phy.type, "ovs_user_bridge", "user bridge")
    eq(phy.members[1].type, "ovs_dpdk_port", "dpdk port")
    eq(phy.members[1].driver, "vfio-pci", "nic_mapping uio_driver")
    eq(item(env.nic_configs.compute, "br-ex").type, "ovs_user_bridge", "compute br-ex")
    eq(item(env.nic_configs.controller, "eth1").type, "interface", "controller tenant plain")
    eq(item(env.nic_configs.controller, "br-ex").type, "ovs_bridge", "controller br-ex")

    env = build("lab", { dataplane = "fdio", sdn_controller = "opendaylight",
      performance = { Compute = { vpp = { ["uio-driver"] = "igb_uio", ["interface-options"] = "rx-queues 2" } } } })
    -- fdio + opendaylight: tenant VPP on both roles, external VPP on compute
    local ten = item(env.nic_configs.compute, "eth1")
    eq({ ten.type, ten.uio_driver, ten.options }, { "vpp_interface", "igb_uio", "rx-queues 2" }, "tenant vpp")
    local ext = item(env.nic_configs.compute, "eth2")
    eq({ ext.type, ext.uio_driver, ext.routes[1].default }, { "vpp_interface", "igb_uio", nil }, "external vpp")
    eq(item(env.nic_configs.controller, "br-ex").type, "ovs_bridge", "controller keeps br-ex")

    env = build("lab", { dataplane = "fdio", sdn_controller = "opendaylight", dvr = true })
    local ctl = env.nic_configs.compute[1]
    eq({ ctl.type, ctl.name }, { "linux_bridge", "br-ctlplane" }, "dvr: admin in a linux bridge")

    env = build("lab", { dataplane = "fdio", sdn_controller = false })
    eq(item(env.nic_configs.controller, "br-ex").type, "linux_bridge", "no SDN: external linux bridge")

    env = build("lab", { os_version = "queens" })
    eq(env.network_data[2], { name = "External", name_lower = "external", vip = true, enabled = true, mtu = 1450,
      gateway_ip = "172.16.10.1", ip_subnet = "172.16.10.0/24",
      allocation_pools = { { start = "172.16.10.21", ["end"] = "172.16.10.234" } } }, "external network_data")
  end)

  t.it("ocata: Heat None, no network_data", function()
    local env = build("nostorage", { os_version = "ocata" })
    eq(env.resource_registry["OS::TripleO::Network::Storage"], "OS::Heat::None", "ocata none") -- _config_resource_reg
    -- StorageMgmt keeps build/network-environment.yaml's OS::Heat::None on ocata
    eq(env.resource_registry["OS::TripleO::Network::StorageMgmt"], "OS::Heat::None", "storage mgmt on ocata")
    assert(env.networks_file == nil and env.network_data == nil and env.files["network_data.yaml"] == nil,
      "no network_data on ocata") -- deploy.py: os_version != 'ocata'
  end)

  t.it("writes deterministic files with a header", function()
    local a = build("vlans")
    local b = build("vlans")
    local paths = require("apex.util").sorted_keys(a.files)
    eq(paths, { "network-environment.yaml", "network_data.yaml", "nics/compute.yaml", "nics/controller.yaml" }, "files")
    for _, path in ipairs(paths) do
      assert(a.files[path] == b.files[path], path .. " differs between runs")
      local first = a.files[path]:match("^[^\n]*")
      eq(first, "# " .. path .. ": written by apex from tests/data/network/vlans.yaml", path .. " header")
      local back = core.yaml.load({ text = a.files[path], name = path })
      assert(type(back) == "table", path .. " reads back")
    end
    local env = core.yaml.load({ text = a.files["network-environment.yaml"] })
    eq(env.parameter_defaults.ExternalNetworkVlanID, 120, "read back")
    local nic = core.yaml.load({ text = a.files["nics/compute.yaml"] })
    local cfg = nic.resources.OsNetConfigImpl.properties.config.str_replace
    eq(cfg.template.get_file, THT .. "/scripts/run-os-net-config.sh", "os-net-config script")
    eq(cfg.params["$network_config"].network_config[1].name, "br-ex", "network_config")
    eq(nic.outputs["OS::stack_id"].value, { get_resource = "OsNetConfigImpl" }, "output")
  end)

  t.it("Apex's checks against the deploy options", function()
    local net = net_of("single")
    local ok, e = pcall(require("apex.network_env").build, net, { dataplane = "ovs_dpdk" })
    assert(not ok and e:find("tests/data/network/single.yaml: networks.tenant: dataplane ovs_dpdk needs the tenant "
      .. "network", 1, true), e) -- deploy.py validate_cross_settings
    ok, e = pcall(require("apex.network_env").build, net_of("lab"), { odl_vpp_routing_node = "overcloud-novacompute-0" })
    assert(not ok and e:find("odl_vpp_routing_node: set with dataplane ovs", 1, true), e)
    ok, e = pcall(require("apex.network_env").build, net_of("bonds"), { dataplane = "fdio" })
    assert(not ok and e:find("networks.tenant.nic_mapping.controller.phys_type: bond is not supported for the tenant "
      .. "network with dataplane fdio", 1, true), e)
  end)
end)
