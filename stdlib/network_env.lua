--- What Apex generates from the network settings: network-environment.yaml
--- (NetworkEnvironment in apex/network/network_environment.py over
--- build/network-environment.yaml), the os-net-config NIC templates per role
--- (create_nic_template in apex/overcloud/config.py rendering
--- build/nics-template.yaml.jinja2) and network_data.yaml
--- (apex/network/network_data.py, passed with --networks-file for every
--- release but ocata).
---
--- Where apex differs, on purpose:
--- - ServiceNetMap keeps internal_api when the api network is enabled. Apex
---   compares the map's network names with its own (api), so internal_api
---   services always fell back to ctlplane.
--- - A VLAN network rides on its own NIC: on the admin NIC (Apex's layout,
---   the only one Apex renders: it puts every VLAN there whatever the
---   network's members) inside the admin bridge; on another NIC inside the
---   bridge that NIC is in, else as a VLAN device on it (an external VLAN gets
---   a br-ex of its own, Neutron's datacentre physnet needs it).
--- - phys_type bond makes a Linux bond of all members (Apex uses members[0]);
---   a tenant network with segmentation_type vlan gets its br-vlan as a list
---   item (Apex's template loses the item marker there).
--- - The external default route of an IPv6 external network is ::/0.
--- - network_data.yaml lists networks in Apex's network order (Apex: the
---   file's order) and writes IPv6 networks with TripleO's ipv6 keys (Apex
---   left this as a TODO and wrote them as IPv4 keys).
local core = require("apex.core")
local util = require("apex.util")
local network = require("apex.network")
local tht = require("apex.tht")

local M = {}

M.NETWORK_ENV = "network-environment.yaml"
M.NETWORK_DATA = "network_data.yaml"
M.HEAT_NONE = "OS::Heat::None"
M.DEFAULT_UIO_DRIVER = "uio_pci_generic"

---@class apex.NetworkEnvOpts
---@field os_version? string          master (default), stein, rocky, queens, pike, ocata
---@field dataplane? "ovs"|"ovs_dpdk"|"fdio"   default ovs
---@field sdn_controller? string|false   opendaylight changes the fdio NIC layout
---@field odl_vpp_routing_node? string  checked as Apex does (fdio only, not with dvr)
---@field dvr? boolean                 fdio + opendaylight: admin NIC in a linux bridge
---@field ha? boolean                  (not used by the network files; accepted for symmetry)
---@field performance? table           deploy_options.performance: <Role>.vpp uio-driver / interface-options
---@field tht_dir? string              THT dir on the undercloud, default apex.tht's THT_DIR

---@class apex.NetworkEnv
---@field files table<string, string>      deploy-dir relative path -> YAML text
---@field parameters table                 parameter_defaults of network-environment.yaml
---@field resource_registry table          resource_registry of network-environment.yaml
---@field nic_configs table<string, table[]>  role -> os-net-config network_config items
---@field network_data? table[]            the networks of network_data.yaml
---@field networks_file? string            "network_data.yaml" when the deploy command takes --networks-file

-- The networks' TripleO names: heat resource name, file/ServiceNetMap name,
-- parameter prefix, and whether it has a VIP port.
local TRIPLEO = {
  external = { heat = "External", lower = "external", vip = true },
  tenant = { heat = "Tenant", lower = "tenant", vip = false },
  storage = { heat = "Storage", lower = "storage", vip = true },
  api = { heat = "InternalApi", lower = "internal_api", vip = true },
}
local ISOLATED = { "external", "tenant", "storage", "api" } -- Apex's order in NetworkEnvironment
local ROLES = { controller = "Controller", compute = "Compute" }

--- TripleO's flags Apex turns on for an IPv6 deploy (IPV6_FLAGS).
M.IPV6_FLAGS = { "NovaIPv6", "MongoDbIPv6", "CorosyncIPv6", "CephIPv6", "RabbitIPv6", "MemcachedIPv6" }

--- ServiceNetMap of Apex's build/network-environment.yaml: service -> network
--- (TripleO facts). Networks that are not enabled collapse onto ctlplane.
M.SERVICE_NET_MAP = {
  ApacheNetwork = "internal_api", NeutronTenantNetwork = "tenant", CeilometerApiNetwork = "internal_api",
  AodhApiNetwork = "internal_api", PankoApiNetwork = "internal_api", BarbicanApiNetwork = "internal_api",
  GnocchiApiNetwork = "internal_api", OpendaylightApiNetwork = "internal_api", MongoDbNetwork = "internal_api",
  CinderApiNetwork = "internal_api", CinderIscsiNetwork = "storage", GlanceApiNetwork = "internal_api",
  GlanceRegistryNetwork = "internal_api", IronicApiNetwork = "ctlplane", IronicNetwork = "ctlplane",
  IronicInspectorNetwork = "ctlplane", KeystoneAdminApiNetwork = "ctlplane", KeystonePublicApiNetwork = "internal_api",
  NeutronApiNetwork = "internal_api", HeatApiNetwork = "internal_api", HeatApiCfnNetwork = "internal_api",
  HeatApiCloudwatchNetwork = "internal_api", ManilaApiNetwork = "internal_api", MetricsQdrNetwork = "internal_api",
  NovaApiNetwork = "internal_api", NovaMetadataNetwork = "internal_api", NovaPlacementNetwork = "internal_api",
  NovaVncProxyNetwork = "internal_api", NovaLibvirtNetwork = "internal_api", NovajoinNetwork = "internal_api",
  OctaviaApiNetwork = "internal_api", SwiftMgmtNetwork = "storage", SwiftProxyNetwork = "storage",
  TackerApiNetwork = "internal_api", CongressApiNetwork = "internal_api", HorizonNetwork = "internal_api",
  OsloMessagingRpcNetwork = "internal_api", OsloMessagingNotifyNetwork = "internal_api",
  MemcachedNetwork = "internal_api", RabbitMqNetwork = "internal_api", RedisNetwork = "internal_api",
  MysqlNetwork = "internal_api", CephClusterNetwork = "storage", CephMonNetwork = "storage",
  PublicNetwork = "external", OvnDbsNetwork = "internal_api", DockerRegistryNetwork = "ctlplane",
  ControllerHostnameResolveNetwork = "internal_api", ComputeHostnameResolveNetwork = "internal_api",
  BlockStorageHostnameResolveNetwork = "internal_api", ObjectStorageHostnameResolveNetwork = "internal_api",
  CephStorageHostnameResolveNetwork = "storage",
}

local function header(path, net)
  return string.format("# %s: written by apex from %s\n", path, net.source)
end

local function pool(range)
  return core.data.array({ { start = range[1], ["end"] = range[2] } })
end

local function is_enabled(net, name)
  return util.contains(net.enabled, name)
end

--- Whether a release takes network_data.yaml (--networks-file): every one
--- Apex deploys but ocata (apex/deploy.py).
---@param os_version string
---@return boolean
function M.uses_network_data(os_version)
  return os_version ~= "ocata"
end

-- resource_registry: the network and port templates of every isolated
-- network (noop when disabled), StorageMgmt always noop, NIC configs.
local function resource_registry(net, o)
  local dir = o.tht_dir .. "/network"
  local reg = {
    ["OS::TripleO::Network::Ports::RedisVipPort"] = dir .. "/ports/ctlplane_vip.yaml",
    ["OS::TripleO::Compute::Net::SoftwareConfig"] = "nics/compute.yaml",
    ["OS::TripleO::Controller::Net::SoftwareConfig"] = "nics/controller.yaml",
  }
  local ocata = o.os_version == "ocata"
  local function set(heat, file)
    local noop = file == "noop"
    if noop then
      -- _config_resource_reg: a disabled network's net resource is removed,
      -- OS::Heat::None on ocata
      reg["OS::TripleO::Network::" .. heat] = ocata and M.HEAT_NONE or nil
    else
      reg["OS::TripleO::Network::" .. heat] = dir .. "/" .. file .. ".yaml"
    end
    if heat ~= "Tenant" then
      reg["OS::TripleO::Network::Ports::" .. heat .. "VipPort"] = dir .. "/ports/" .. file .. ".yaml"
    end
    for _, role in pairs(ROLES) do
      reg["OS::TripleO::" .. role .. "::Ports::" .. heat .. "Port"] = dir .. "/ports/" .. file .. ".yaml"
    end
  end
  for _, name in ipairs(ISOLATED) do
    local t = TRIPLEO[name]
    if is_enabled(net, name) then
      set(t.heat, t.lower .. (net.networks[name].version == 6 and "_v6" or ""))
    else
      set(t.heat, "noop")
    end
  end
  set("StorageMgmt", "noop")
  return reg
end

local function parameters(net, o)
  local admin = net.networks.admin
  local p = {
    NeutronExternalNetworkBridge = "br-ex",
    ControlPlaneSubnetCidr = tostring(admin.prefix),
    ControlPlaneDefaultRoute = admin.gateway,
    EC2MetadataIp = admin.installer_vm.ip,
    DnsServers = core.data.array(util.deep_copy(net.dns_nameservers)),
  }
  local ext = is_enabled(net, "external") and net.networks.external
  if ext then
    p.ExternalNetCidr = ext.cidr
    if ext.vlan ~= "native" then
      p.NeutronExternalNetworkBridge = '""' -- Apex writes the two quote characters
      p.ExternalNetworkVlanID = ext.vlan
    end
    p.ExternalAllocationPools = pool(ext.overcloud_ip_range)
    p.ExternalInterfaceDefaultRoute = ext.gateway
  end
  for _, name in ipairs({ "tenant", "storage", "api" }) do
    local n = is_enabled(net, name) and net.networks[name]
    if n then
      local pre = TRIPLEO[name].heat
      p[pre .. "AllocationPools"] = pool(n.overcloud_ip_range)
      p[pre .. "NetCidr"] = n.cidr
      if n.vlan ~= "native" then
        p[pre .. "NetworkVlanID"] = n.vlan
      end
      if name == "tenant" and n.version == 6 then
        p.NeutronOverlayIPVersion = "6"
      end
    end
  end
  if net.ipv6 then
    for _, flag in ipairs(M.IPV6_FLAGS) do
      p[flag] = true
    end
  end
  local map = {}
  for service, nname in pairs(M.SERVICE_NET_MAP) do
    local keep = nname == "ctlplane"
    for name, t in pairs(TRIPLEO) do
      if t.lower == nname and is_enabled(net, name) then
        keep = true
      end
    end
    map[service] = keep and nname or "ctlplane"
  end
  p.ServiceNetMap = map
  return p
end

-- network_data.yaml: every isolated network the file names, then Apex's
-- fixed, disabled StorageMgmt.
local function network_data(net)
  local out = core.data.array()
  for _, name in ipairs({ "tenant", "external", "storage", "api" }) do
    local n = net.networks[name]
    if n then
      local t = TRIPLEO[name]
      local item = { name = t.heat, name_lower = t.lower, vip = t.vip, enabled = n.enabled, mtu = n.mtu }
      local v6 = n.enabled and n.version == 6
      if n.gateway then
        item[v6 and "gateway_ipv6" or "gateway_ip"] = n.gateway
      end
      if n.overcloud_ip_range then
        item[v6 and "ipv6_allocation_pools" or "allocation_pools"] = pool(n.overcloud_ip_range)
      end
      if n.cidr then
        item[v6 and "ipv6_subnet" or "ip_subnet"] = n.cidr
      end
      if v6 then
        item.ipv6 = true
      end
      out[#out + 1] = item
    end
  end
  out[#out + 1] = {
    name = "StorageMgmt", name_lower = "storage_mgmt", vip = true, enabled = false,
    ip_subnet = "172.16.3.0/24", allocation_pools = pool({ "172.16.3.4", "172.16.3.250" }),
  }
  return out
end

------------------------------------------------------------------------
-- NIC templates

local function get_param(name)
  return { get_param = name }
end

local function addr(param)
  return core.data.array({ { ip_netmask = get_param(param) } })
end

-- A network's mapping for one role after the dataplane's changes
-- (create_nic_template): fdio makes the tenant NIC a VPP interface, and the
-- external one VPP (opendaylight, compute) or a linux bridge (no SDN).
local function role_mappings(net, role, o)
  local maps = {}
  for _, name in ipairs(net.enabled) do
    maps[name] = util.deep_copy(net.networks[name].nic_mapping[role])
  end
  local function set_type(name, phys)
    local m = maps[name]
    if m.phys_type == "bond" and phys == "vpp_interface" then
      util.fail("%s: %s.phys_type: bond is not supported for the %s network with dataplane fdio (valid: "
        .. "interface)", net.source, m.key, name)
    end
    if m.phys_type == "bond" then
      m.bridge = phys -- the bond stays the bridge's port
    else
      m.phys_type = phys
    end
  end
  local ext_type = "br-ex"
  local odl = o.sdn_controller == "opendaylight"
  if o.dataplane == "fdio" then
    if maps.tenant then
      set_type("tenant", "vpp_interface")
    end
    if odl then
      if role == "compute" and maps.external then
        set_type("external", "vpp_interface")
        ext_type = "vpp_interface"
      end
      if o.dvr then
        set_type("admin", "linux_bridge")
      end
    elseif maps.external then
      set_type("external", "linux_bridge")
    end
  end
  local vpp = ((o.performance or {})[ROLES[role]] or {}).vpp or {}
  if maps.tenant and vpp["uio-driver"] then
    maps.tenant.vpp_uio_driver = vpp["uio-driver"]
    if odl and role == "compute" and maps.external then
      maps.external.vpp_uio_driver = vpp["uio-driver"]
    end
  end
  if maps.tenant and vpp["interface-options"] then
    maps.tenant.interface_options = vpp["interface-options"]
  end
  return maps, ext_type
end

-- The NIC template's items for one role.
local function nic_config(net, role, o)
  local src = net.source
  local maps, ext_type = role_mappings(net, role, o)
  local dpdk_bridge = o.dataplane == "ovs_dpdk" and role == "compute"
  local ext_on = maps.external ~= nil
  local bonds, nbonds = {}, 0

  -- The physical side of a mapping: one interface, or a bond of all members.
  local function port(m, primary)
    if m.phys_type ~= "bond" then
      return { type = "interface", name = m.members[1], primary = primary or nil }
    end
    local id = network.device_id(m)
    if not bonds[id] then
      nbonds = nbonds + 1
      bonds[id] = "bond" .. nbonds
    end
    local members = core.data.array()
    for i, nic in ipairs(m.members) do
      members[i] = { type = "interface", name = nic, primary = (i == 1) or nil }
    end
    return { type = "linux_bond", name = bonds[id], bonding_options = m.bonding_options, members = members }
  end
  local function no_bond(name, m, what)
    if m.phys_type == "bond" then
      util.fail("%s: %s.phys_type: bond is not supported for the %s network with %s (valid: interface)", src,
        m.key, name, what)
    end
  end

  -- VLAN items, by the device they ride on (Apex's order: external, tenant, storage, api).
  local vlans, vlan_devs = {}, {}
  for _, name in ipairs(ISOLATED) do
    local m = maps[name]
    if m and m.vlan ~= "native" then
      local pre = TRIPLEO[name].heat
      local item = { type = "vlan", vlan_id = get_param(pre .. "NetworkVlanID"), addresses = addr(pre .. "IpSubnet") }
      if name == "external" then
        item.routes = core.data.array({ { default = true, next_hop = get_param("ExternalInterfaceDefaultRoute") } })
      end
      local dev = network.device_id(m)
      if not vlans[dev] then
        vlans[dev] = { list = core.data.array(), mapping = m, names = {} }
        vlan_devs[#vlan_devs + 1] = dev
      end
      vlans[dev].list[#vlans[dev].list + 1] = item
      vlans[dev].names[name] = true
    end
  end

  local items = core.data.array()
  local owner = {} -- device -> the item that holds it (bridge or port)

  -- ctlplane
  local admin = maps.admin
  local admin_dev = network.device_id(admin)
  local ext_vlan_on_admin = vlans[admin_dev] and vlans[admin_dev].names.external
  local ctl = {
    use_dhcp = false,
    dns_servers = get_param("DnsServers"),
    addresses = core.data.array({ { ip_netmask = { list_join = { "/", { get_param("ControlPlaneIp"),
      get_param("ControlPlaneSubnetCidr") } } } } }),
    routes = core.data.array({ { ip_netmask = "169.254.169.254/32", next_hop = get_param("EC2MetadataIp") } }),
  }
  if net.ipv6 or role == "compute" or not ext_on then
    ctl.routes[2] = { default = true, next_hop = get_param("ControlPlaneDefaultRoute") }
  end
  if not ext_on or vlans[admin_dev] then
    ctl.type = "ovs_bridge"
    ctl.name = (not ext_on or ext_vlan_on_admin) and "br-ex" or "br-isolated"
    ctl.members = core.data.array({ port(admin, true) })
    for _, v in ipairs(vlans[admin_dev] and vlans[admin_dev].list or {}) do
      ctl.members[#ctl.members + 1] = v
    end
    vlans[admin_dev] = nil
    owner[admin_dev] = ctl
  elseif admin.bridge or admin.phys_type == "linux_bridge" or admin.phys_type == "ovs_bridge" then
    ctl.type = admin.bridge or admin.phys_type
    ctl.name = "br-ctlplane"
    ctl.members = core.data.array({ port(admin, true) })
    owner[admin_dev] = ctl
  else
    local p = port(admin)
    for k, v in pairs(p) do ctl[k] = v end
    owner[admin_dev] = ctl
  end
  items[#items + 1] = ctl

  -- A native network's item: its address on the NIC, bond or a bridge.
  local function native(name, m, bridge_name)
    local pre = TRIPLEO[name].heat
    local item
    if m.phys_type == "vpp_interface" then
      no_bond(name, m, "fdio")
      item = { type = "vpp_interface", name = m.members[1], uio_driver = m.vpp_uio_driver,
        options = m.interface_options }
    elseif m.phys_type == "ovs_bridge" or m.phys_type == "linux_bridge" then
      item = { type = m.phys_type, name = bridge_name, members = core.data.array({ port(m, true) }) }
    else
      item = port(m)
      item.primary = nil
    end
    item.use_dhcp = false
    item.addresses = addr(pre .. "IpSubnet")
    owner[network.device_id(m)] = item
    return item
  end

  local tenant = maps.tenant
  if tenant and tenant.vlan == "native" then
    local item
    if dpdk_bridge then
      no_bond("tenant", tenant, "ovs_dpdk")
      item = {
        type = "ovs_user_bridge", name = "br-phy", use_dhcp = false, addresses = addr("TenantIpSubnet"),
        members = core.data.array({ {
          type = "ovs_dpdk_port", name = "dpdk0", driver = tenant.uio_driver or M.DEFAULT_UIO_DRIVER,
          members = core.data.array({ { type = "interface", name = tenant.members[1], primary = true } }),
        } }),
      }
      owner[network.device_id(tenant)] = item
    elseif net.networks.tenant.segmentation_type == "vlan" and tenant.phys_type ~= "vpp_interface" then
      item = {
        type = "ovs_bridge", name = "br-vlan", use_dhcp = false, addresses = addr("TenantIpSubnet"),
        members = core.data.array({ port(tenant, true) }),
      }
      owner[network.device_id(tenant)] = item
    else
      item = native("tenant", tenant, "br-tenant")
    end
    items[#items + 1] = item
  end

  local ext = maps.external
  if ext and ext.vlan == "native" then
    local item
    local v6 = net.networks.external.version == 6
    local default_dst = v6 and "::/0" or "0.0.0.0/0"
    if ext_type ~= "br-ex" then
      no_bond("external", ext, "fdio")
      item = {
        type = ext.phys_type, name = ext.members[1], uio_driver = ext.vpp_uio_driver, use_dhcp = false,
        dns_servers = role == "controller" and get_param("DnsServers") or nil,
        addresses = addr("ExternalIpSubnet"),
        routes = core.data.array({ { default = role == "controller" or nil, ip_netmask = default_dst,
          next_hop = get_param("ExternalInterfaceDefaultRoute") } }),
      }
    else
      local btype = (ext.bridge or ext.phys_type) == "linux_bridge" and "linux_bridge" or "ovs_bridge"
      if dpdk_bridge then
        btype = "ovs_user_bridge"
      end
      item = {
        type = btype, name = "br-ex", use_dhcp = false, members = core.data.array({ port(ext, true) }),
        dns_servers = get_param("DnsServers"), addresses = addr("ExternalIpSubnet"),
        routes = core.data.array({ { default = true, ip_netmask = default_dst,
          next_hop = get_param("ExternalInterfaceDefaultRoute") } }),
      }
    end
    owner[network.device_id(ext)] = item
    items[#items + 1] = item
  end

  for _, name in ipairs({ "storage", "api" }) do
    local m = maps[name]
    if m and m.vlan == "native" then
      items[#items + 1] = native(name, m, "br-" .. name)
    end
  end

  -- VLANs on a NIC other than the admin one.
  for _, dev in ipairs(vlan_devs) do
    local v = vlans[dev]
    if v then
      local holder = owner[dev]
      if holder and holder.members and holder.type ~= "linux_bond" then
        for _, item in ipairs(v.list) do
          holder.members[#holder.members + 1] = item
        end
      elseif v.names.external then
        if holder then
          util.fail("%s: %s.members: the external VLAN needs %s in br-ex, but another network uses it untagged "
            .. "for %s (valid: the admin NIC, a NIC of its own, or vlan: native)", src, v.mapping.key, dev, role)
        end
        local br = { type = "ovs_bridge", name = "br-ex", use_dhcp = false, members = core.data.array({ port(v.mapping, true) }) }
        for _, item in ipairs(v.list) do
          br.members[#br.members + 1] = item
        end
        items[#items + 1] = br
      else
        if holder and holder.type == "vpp_interface" then
          util.fail("%s: %s.members: VLANs cannot ride on the VPP interface %s (valid: another NIC)", src,
            v.mapping.key, dev)
        end
        local device = holder and holder.name
        if not holder then
          local p = port(v.mapping)
          p.primary = nil
          p.use_dhcp = false
          items[#items + 1] = p
          device = p.name
        end
        for _, item in ipairs(v.list) do
          item.device = device
          items[#items + 1] = item
        end
      end
    end
  end
  return items
end

-- The Heat parameters of the NIC templates (as Apex's template declares
-- them, so the role templates can pass every one).
local function nic_parameters()
  local p = {
    ControlPlaneIp = { default = "", description = "IP address/subnet on the ctlplane network", type = "string" },
    ControlPlaneStaticRoutes = { default = core.data.array(), description = "Routes for the ctlplane network traffic.",
      type = "json" },
    ExternalInterfaceDefaultRoute = { default = "10.0.0.1", description = "default route for the external network",
      type = "string" },
    ControlPlaneSubnetCidr = { default = "24", description = "The subnet CIDR of the control plane network.",
      type = "string" },
    ControlPlaneDefaultRoute = { description = "The default route of the control plane network.", type = "string" },
    DnsServers = { default = core.data.array(), description = "A list of DNS servers (2 max for some implementations) "
      .. "that will be added to resolv.conf.", type = "comma_delimited_list" },
    EC2MetadataIp = { description = "The IP address of the EC2 metadata server.", type = "string" },
  }
  local vlan_defaults = { External = 10, InternalApi = 20, Storage = 30, StorageMgmt = 40, Tenant = 50,
    Management = 60 }
  for pre, id in pairs(vlan_defaults) do
    p[pre .. "NetworkVlanID"] = { default = id, description = "Vlan ID for the " .. pre .. " network traffic.",
      type = "number" }
  end
  for _, pre in ipairs({ "External", "InternalApi", "Storage", "StorageMgmt", "Tenant", "Management" }) do
    p[pre .. "IpSubnet"] = { default = "", description = "IP address/subnet on the " .. pre .. " network",
      type = "string" }
    p[pre .. "InterfaceRoutes"] = { default = core.data.array(), description = "Routes for the " .. pre
      .. " network traffic.", type = "json" }
  end
  p.StorageNFSIpSubnet = { default = "", description = "IP address/subnet on the storage_nfs network",
    type = "string" }
  p.StorageNFSRoutes = { default = core.data.array(), description = "Routes for the storage_nfs network traffic.",
    type = "json" }
  return p
end

local function nic_template(role, items, o)
  return {
    heat_template_version = "2016-10-14",
    description = "Software Config to drive os-net-config to configure multiple interfaces for the " .. role
        .. " role.",
    parameters = nic_parameters(),
    resources = {
      OsNetConfigImpl = {
        type = "OS::Heat::SoftwareConfig",
        properties = {
          group = "script",
          config = {
            str_replace = {
              template = { get_file = o.tht_dir .. "/network/scripts/run-os-net-config.sh" },
              params = { ["$network_config"] = { network_config = items } },
            },
          },
        },
      },
    },
    outputs = {
      ["OS::stack_id"] = { description = "The OsNetConfigImpl resource.", value = { get_resource = "OsNetConfigImpl" } },
    },
  }
end

-- Apex's checks of the network settings against the deploy options
-- (validate_cross_settings in apex/deploy.py).
local function cross_check(net, o)
  if o.dataplane ~= "ovs" and not is_enabled(net, "tenant") then
    util.fail("%s: networks.tenant: dataplane %s needs the tenant network enabled on a NIC of its own (valid: "
      .. "enable networks.tenant, or dataplane ovs)", net.source, o.dataplane)
  end
  if o.odl_vpp_routing_node ~= nil then
    if o.dataplane ~= "fdio" then
      util.fail("%s: deploy_options.odl_vpp_routing_node: set with dataplane %s (valid: only with dataplane fdio)",
        net.source, o.dataplane)
    end
    if o.dvr then
      util.fail("%s: deploy_options.odl_vpp_routing_node: set with dvr (valid: only when dvr is off)", net.source)
    end
  end
end

--- Builds network-environment.yaml, nics/controller.yaml, nics/compute.yaml
--- and (every release but ocata) network_data.yaml from validated network
--- settings, as Apex generates them. The text is deterministic: keys sorted.
---@param net apex.NetworkSettings   from apex.network.validate
---@param opts? apex.NetworkEnvOpts
---@return apex.NetworkEnv
function M.build(net, opts)
  opts = opts or {}
  local o = {
    os_version = opts.os_version or "master",
    dataplane = opts.dataplane or "ovs",
    sdn_controller = opts.sdn_controller or false,
    odl_vpp_routing_node = opts.odl_vpp_routing_node,
    dvr = opts.dvr == true,
    performance = opts.performance,
    tht_dir = (opts.tht_dir or tht.THT_DIR):gsub("/+$", ""),
  }
  cross_check(net, o)
  local out = {
    files = {},
    resource_registry = resource_registry(net, o),
    parameters = parameters(net, o),
    nic_configs = {},
  }
  out.files[M.NETWORK_ENV] = header(M.NETWORK_ENV, net)
      .. core.yaml.dump({ resource_registry = out.resource_registry, parameter_defaults = out.parameters })
  for _, role in ipairs({ "controller", "compute" }) do
    local items = nic_config(net, role, o)
    out.nic_configs[role] = items
    local path = "nics/" .. role .. ".yaml"
    out.files[path] = header(path, net) .. core.yaml.dump(nic_template(role, items, o))
  end
  if M.uses_network_data(o.os_version) then
    out.network_data = network_data(net)
    out.networks_file = M.NETWORK_DATA
    out.files[M.NETWORK_DATA] = header(M.NETWORK_DATA, net) .. core.yaml.dump(out.network_data)
  end
  return out
end

return M
