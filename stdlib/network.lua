--- Apex network settings: parse, validate and complete them the way Apex's
--- NetworkSettings does (apex/settings/network_settings.py), so the env files
--- apex writes from them match Apex's for the same file.
---
--- What Apex does and apex does too: networks admin, tenant, external (a list;
--- its `public` item is the one used), storage, api, in that order; a network
--- is enabled unless `enabled: false` (admin always); the `apex:` section is
--- merged in without overwriting; admin's installer_vm.ip, dhcp_range,
--- introspection_range, every enabled network's overcloud_ip_range and the
--- external network's floating_ip_range and gateway are derived from the CIDR
--- when absent, at Apex's offsets; nic_mapping vlan defaults to native (admin
--- is always native); every enabled network needs nic_mapping members for
--- controller and compute, and two networks may not put untagged traffic on
--- one NIC; dns-domain defaults to localdomain.com, dns_nameservers to
--- 8.8.8.8/8.8.4.4, ntp to pool.ntp.org; a deploy is IPv6 when any enabled
--- network is.
---
--- Where apex differs, on purpose:
--- - Every address, range, gateway, VLAN and MTU is checked (Apex checks
---   none), enabled CIDRs may not overlap, ranges may not overlap each other.
--- - A CIDR is required: Apex's fallback (read it from the jump host's NIC)
---   makes the result depend on the machine apex runs on.
--- - A derived range that would overlap a range the file gives (Apex's
---   introspection_range .11-.19 inside a dhcp_range .2-.50) starts after the
---   highest given range instead; Apex writes the overlap and the undercloud
---   install refuses it.
--- - admin's gateway defaults to installer_vm.ip (Apex stops on a KeyError).
--- - external items come in two forms: `- public: {cidr: ...}` (one key) and
---   Apex's own flat `- public:` followed by the keys at the same level. YAML
---   reads the flat form's name as a key without value, which is lost on the
---   way to Lua, so a flat item is taken as `public` when it is the first one.
local ip = require("apex.ip")
local util = require("apex.util")

local M = {}

---@alias apex.Vlan "native"|integer

---@class apex.NicMapping
---@field phys_type "interface"|"bond"|"ovs_bridge"|"linux_bridge"|"vpp_interface"
---@field members string[]      physical NICs (one for interface, one or more for bond)
---@field vlan apex.Vlan        VLAN tag of the network on these NICs
---@field uio_driver? string    DPDK driver of the tenant NIC (ovs_dpdk)
---@field bonding_options? string  options of a bond (phys_type bond)
---@field key string            key path in the file, for messages

---@class apex.InstallerVm
---@field ip string             the undercloud's address on this network
---@field members? string[]
---@field vlan apex.Vlan
---@field nic_type string

---@class apex.Network
---@field name "admin"|"tenant"|"external"|"storage"|"api"
---@field key string            key path in the file ("networks.external[1].public")
---@field enabled boolean
---@field cidr? string          canonical CIDR (as Python prints it); for a disabled network: as given
---@field version? 4|6
---@field prefix? integer
---@field gateway? string
---@field installer_vm? apex.InstallerVm   admin and external
---@field dhcp_range? string[]           admin: {first, last}
---@field introspection_range? string[]  admin
---@field overcloud_ip_range? string[]   every enabled network
---@field floating_ip_range? string[]    external
---@field mtu integer           default 1500
---@field vlan apex.Vlan        the network's VLAN: controller's tag, else compute's, else native (Apex's _get_vlan)
---@field nic_mapping? table<"controller"|"compute", apex.NicMapping>   enabled networks
---@field segmentation_type? "vxlan"|"vlan"|"gre"   tenant
---@field overlay_id_range? string   tenant
---@field external_name? string   external: the item's name (public)
---@field external_overlay? table   external: as given

---@class apex.NetworkSettings
---@field undercloud_ip string   networks.admin.installer_vm.ip (derived as cidr[1] when empty)
---@field ntp string[]           default {"pool.ntp.org"}
---@field dns_nameservers string[]  default {"8.8.8.8", "8.8.4.4"}
---@field http_proxy? string
---@field https_proxy? string
---@field domain string          dns-domain, default localdomain.com (Apex's domain_name)
---@field networks table<string, apex.Network>  every network the file names, enabled or not
---@field enabled string[]       enabled network names in Apex's order (enabled_network_list)
---@field ip_version 4|6         6 when any enabled network is IPv6 (get_ip_addr_family)
---@field ipv6 boolean           ip_version == 6
---@field nics table<"controller"|"compute", table<string, string>>  role -> network -> first NIC (Apex's nics)
---@field raw table              the table as read
---@field source string

M.NETWORKS = { "admin", "tenant", "external", "storage", "api" }
M.ROLES = { "controller", "compute" }
M.PHYS_TYPES = { "interface", "bond", "ovs_bridge", "linux_bridge", "vpp_interface" }
M.SEGMENTATION_TYPES = { "vxlan", "vlan", "gre" }
M.DEFAULT_DOMAIN = "localdomain.com"
M.DEFAULT_DNS = { "8.8.8.8", "8.8.4.4" }
M.DEFAULT_NTP = { "pool.ntp.org" }
M.DEFAULT_MTU = 1500
M.DEFAULT_BONDING = "mode=active-backup miimon=100"

--- Apex's offsets into the CIDR for derived ranges (Python network[i]; a
--- negative index counts from the last address). floating_ip_range is what
--- ip_utils.get_ip_range yields for end_offset=2, count=20: its index math
--- gives 15 addresses, [-17, -3], and apex keeps Apex's result.
local DERIVED = {
  dhcp_range = { 2, 10, count = 9 },            -- _config_required_settings: start_offset=2, count=9
  introspection_range = { 11, 19, count = 9 },  -- start_offset=11, count=9
  overcloud_ip_range = { 21, -22 },             -- _validate_input: start_offset=21, end_offset=21
  floating_ip_range = { -17, -3, count = 15 },  -- end_offset=2, count=20
}
local RANGES = {
  admin = { "dhcp_range", "introspection_range", "overcloud_ip_range" },
  external = { "floating_ip_range", "overcloud_ip_range" },
}

local show = util.show

-- The keys of each level of the file: what Apex's network settings and its
-- example files (config/network/) hold. An unknown key is an error naming
-- the nearest valid one (a typo such as dns_nameserver would otherwise pass
-- silently with the default used). IGNORED keys are Apex's too but read by
-- neither: a note says so.
local KEYS = {
  top = { "networks", "apex", "ntp", "dns_nameservers", "dns-domain", "http_proxy", "https_proxy" },
  network = { "enabled", "cidr", "gateway", "mtu", "installer_vm", "nic_mapping", "dhcp_range",
    "introspection_range", "overcloud_ip_range", "floating_ip_range", "segmentation_type", "overlay_id_range",
    "external_overlay" },
  installer_vm = { "ip", "members", "vlan", "nic_type" },
  nic_role = { "phys_type", "members", "vlan", "uio_driver", "bonding_options" },
}
local IGNORED = {
  top = { "dns-search", "syslog", "network-config-metadata" },
  network = { "vlan", "private_cloud" },
  installer_vm = {}, nic_role = {},
}

local is_map = util.is_map

-- Apex's merge of the `apex:` section: keys already there win, nested
-- mappings merge.
local function merge(dst, src)
  for k, v in pairs(src) do
    if dst[k] == nil then
      dst[k] = util.deep_copy(v)
    elseif is_map(dst[k]) and is_map(v) then
      merge(dst[k], v)
    end
  end
end

local function string_list(src, key, v, default)
  if v == nil then
    return util.deep_copy(default)
  end
  if type(v) == "string" then
    v = { v }
  end
  if type(v) ~= "table" or not util.is_list(v) or #v == 0 then
    util.fail("%s: %s: expected a non-empty list of strings, got %s", src, key, show(v))
  end
  local out = {}
  for i, s in ipairs(v) do
    if type(s) ~= "string" or s == "" then
      util.fail("%s: %s[%d]: expected a string, got %s", src, key, i, show(s))
    end
    out[i] = s
  end
  return out
end

local NIC_DOC = "a NIC name such as eth0, enp0s3 or nic1 (" .. util.IFNAME_DOC .. ")"

--- A list of NIC names (nic_mapping and installer_vm members).
local function nic_list(src, key, v)
  local out = string_list(src, key, v)
  for i, name in ipairs(out) do
    if not util.is_ifname(name) then
      util.fail("%s: %s[%d]: got %s (valid: %s)", src, key, i, show(name), NIC_DOC)
    end
  end
  return out
end

--- Parses a VLAN setting: "native" or a tag 1..4094.
---@param src string
---@param key string
---@param v any
---@return apex.Vlan
local function vlan_of(src, key, v)
  if v == nil or v == "native" then
    return "native"
  end
  if math.type(v) ~= "integer" or v < 1 or v > 4094 then
    util.fail("%s: %s: got %s (valid: native, or a VLAN ID 1..4094)", src, key, show(v))
  end
  return v
end

-- An address of the network: parsed, same version, inside the CIDR.
local function address_in(src, key, v, net)
  local a, err = ip.parse(v)
  if not a then
    util.fail("%s: %s: got %s: %s (valid: an IPv%d address in %s)", src, key, show(v), err, net.version,
      net.cidr)
  end
  if not ip.contains(net.parsed, a) then
    util.fail("%s: %s: %s is outside the network's CIDR %s (valid: an address in %s)", src, key, v, net.cidr,
      net.cidr)
  end
  return a
end

local function parse_range(src, key, v, net)
  if type(v) ~= "table" or not util.is_list(v) or #v ~= 2 then
    util.fail("%s: %s: got %s (valid: a list of two addresses in %s, first and last)", src, key, show(v), net.cidr)
  end
  local a = address_in(src, key .. "[1]", v[1], net)
  local b = address_in(src, key .. "[2]", v[2], net)
  if ip.compare(a, b) > 0 then
    util.fail("%s: %s: %s comes after %s (valid: the first address, then the last)", src, key, v[1], v[2])
  end
  return { v[1], v[2] }, { a, b }
end

-- Warnings of the validation under way (M.validate sets it): what Apex
-- accepts but an operator should hear about.
local warnings

local function warn(fmt, ...)
  if warnings then warnings[#warnings + 1] = string.format(fmt, ...) end
end

-- Every key of `t` must be one of KEYS[level] (or IGNORED[level]: a note).
local function check_keys(src, key, t, level)
  local valid = KEYS[level]
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  for _, k in ipairs(keys) do
    local path = key and (key .. "." .. tostring(k)) or tostring(k)
    if util.contains(IGNORED[level], k) then
      warn("%s: %s: accepted by Apex, not used by apex (ignored)", src, path)
    elseif not util.contains(valid, k) then
      util.fail_unknown(src, path, k, valid)
    end
  end
end

local function ranges_overlap(a, b)
  return ip.compare(a[1], b[2]) <= 0 and ip.compare(b[1], a[2]) <= 0
end

-- Fills the derived ranges of a network. A range the file gives is checked;
-- a missing one takes Apex's offsets, moved past the given ones if it would
-- overlap them.
local function config_ranges(src, net, t, names)
  local parsed = {}
  for _, name in ipairs(names) do
    if t[name] ~= nil then
      net[name], parsed[name] = parse_range(src, net.key .. "." .. name, t[name], net)
    end
  end
  for i, a in ipairs(names) do
    for j = i + 1, #names do
      local b = names[j]
      if parsed[a] and parsed[b] and ranges_overlap(parsed[a], parsed[b]) then
        util.fail("%s: %s.%s: %s-%s overlaps %s %s-%s (valid: disjoint ranges)", src, net.key, b, net[b][1],
          net[b][2], a, net[a][1], net[a][2])
      end
    end
  end
  for _, name in ipairs(names) do
    if not parsed[name] then
      local off = DERIVED[name]
      local first, last = ip.index(net.parsed, off[1]), ip.index(net.parsed, off[2])
      local r = first and last and ip.compare(first, last) < 0 and { first, last } or nil
      local clash = false
      for _, other in pairs(parsed) do
        clash = clash or (r ~= nil and ranges_overlap(r, other))
      end
      if clash then
        -- moved after the highest range the file gives (or one derived before)
        local top
        for _, other in pairs(parsed) do
          if not top or ip.compare(other[2], top) > 0 then
            top = other[2]
          end
        end
        first = ip.add(top, 1)
        last = off.count and first and ip.add(first, off.count - 1) or last
        r = first and last and ip.contains(net.parsed, first) and ip.contains(net.parsed, last)
            and ip.compare(first, last) < 0 and { first, last } or nil
      end
      if not r then
        -- No room beside the given ranges: Apex's own derivation, overlapping
        -- as it does (Apex accepts such files), said as a warning.
        first, last = ip.index(net.parsed, off[1]), ip.index(net.parsed, off[2])
        r = first and last and ip.compare(first, last) < 0 and { first, last } or nil
        if not r then
          util.fail("%s: %s.cidr: %s is too small for the derived %s (give %s.%s)", src, net.key, net.cidr, name,
            net.key, name)
        end
        warn("%s: %s.%s: derived as Apex does (%s-%s), overlapping the ranges the file gives; give %s.%s to choose",
          src, net.key, name, ip.format(r[1]), ip.format(r[2]), net.key, name)
      end
      parsed[name] = r
      net[name] = { ip.format(r[1]), ip.format(r[2]) }
    end
  end
  return parsed
end

local function nic_mapping(src, net, t, auto_nic)
  local nm = t.nic_mapping
  if nm == nil and auto_nic then
    nm = { controller = { members = { auto_nic } }, compute = { members = { auto_nic } } }
  end
  local key = net.key .. ".nic_mapping"
  if not is_map(nm) then
    util.fail("%s: %s: missing or not a mapping (required for an enabled network: controller and compute, "
      .. "each with members)", src, key)
  end
  for role in pairs(nm) do
    if not util.contains(M.ROLES, role) then util.fail_unknown(src, key .. "." .. tostring(role), role, M.ROLES, "role") end
  end
  local out = {}
  for _, role in ipairs(M.ROLES) do
    local m = nm[role]
    local rkey = key .. "." .. role
    if is_map(m) then check_keys(src, rkey, m, "nic_role") end
    if m == nil then
      util.fail("%s: %s: missing (required: both roles, controller and compute, with members)", src, rkey)
    end
    if not is_map(m) then
      util.fail("%s: %s: expected a mapping with phys_type and members, got %s", src, rkey, show(m))
    end
    local phys = m.phys_type
    if phys == nil then
      phys = net.name == "external" and "ovs_bridge" or "interface"
    end
    if not util.contains(M.PHYS_TYPES, phys) then
      util.fail("%s: %s.phys_type: got %s (valid: %s)", src, rkey, show(phys), table.concat(M.PHYS_TYPES, ", "))
    end
    if m.members == nil or (type(m.members) == "table" and #m.members == 0) then
      util.fail("%s: %s.members: missing (required: the %s NIC of the %s network, e.g. [eth0])", src, rkey, role,
        net.name)
    end
    local members = nic_list(src, rkey .. ".members", m.members)
    if phys ~= "bond" and #members > 1 then
      util.fail("%s: %s.members: %d NICs for phys_type %s (valid: one NIC, or phys_type: bond for several)", src,
        rkey, #members, phys)
    end
    local vlan = vlan_of(src, rkey .. ".vlan", m.vlan)
    if net.name == "admin" and vlan ~= "native" then
      util.fail("%s: %s.vlan: got %s (valid: native; the admin network PXE-boots the nodes untagged)", src, rkey,
        show(m.vlan))
    end
    for _, k in ipairs({ "uio_driver", "bonding_options" }) do
      if m[k] ~= nil and (type(m[k]) ~= "string" or m[k] == "") then
        util.fail("%s: %s.%s: got %s (valid: a non-empty string)", src, rkey, k, show(m[k]))
      end
    end
    out[role] = {
      phys_type = phys,
      members = members,
      vlan = vlan,
      uio_driver = m.uio_driver,
      bonding_options = m.bonding_options or (phys == "bond" and M.DEFAULT_BONDING or nil),
      key = rkey,
    }
  end
  return out
end

local function installer_vm(src, net, t, required)
  local vm = t.installer_vm
  local key = net.key .. ".installer_vm"
  if vm == nil and not required then
    return nil
  end
  if not is_map(vm) then
    util.fail("%s: %s: missing or not a mapping (required: ip, the undercloud's address on this network)", src, key)
  end
  check_keys(src, key, vm, "installer_vm")
  local addr = vm.ip
  if addr == nil or addr == "" then
    addr = ip.format(ip.index(net.parsed, 1)) -- _gen_ip(network, 1)
  else
    address_in(src, key .. ".ip", addr, net)
  end
  local nic_type = vm.nic_type or "interface"
  if nic_type ~= "interface" and nic_type ~= "bond" then
    util.fail("%s: %s.nic_type: got %s (valid: interface, bond)", src, key, show(nic_type))
  end
  return {
    ip = addr,
    members = vm.members ~= nil and nic_list(src, key .. ".members", vm.members) or nil,
    vlan = vlan_of(src, key .. ".vlan", vm.vlan),
    nic_type = nic_type,
  }
end

local OVERLAY_HINT = "valid: for vxlan/gre a range such as 2,65535; for vlan physnets such as "
    .. "datacentre:500:525,physnet2"

local function overlay_range(src, key, seg, v)
  if v == nil then
    return seg ~= "vlan" and "2,65535" or nil
  end
  if type(v) ~= "string" or v == "" then
    util.fail("%s: %s: got %s (%s)", src, key, show(v), OVERLAY_HINT)
  end
  if seg == "vlan" then
    for item in (v .. ","):gmatch("([^,]*),") do
      local name, lo, hi = item:match("^([%w_%-]+):(%d+):(%d+)$")
      if name then
        lo, hi = tonumber(lo), tonumber(hi)
        if lo < 1 or hi > 4094 or lo > hi then
          util.fail("%s: %s: %s: VLAN range %d..%d (valid: 1 <= min <= max <= 4094)", src, key, item, lo, hi)
        end
      elseif not item:match("^[%w_%-]+$") then
        util.fail("%s: %s: got %s (%s)", src, key, show(v), OVERLAY_HINT)
      end
    end
  else
    local lo, hi = v:match("^%s*(%d+)%s*[,:]%s*(%d+)%s*$")
    if not lo or tonumber(lo) > tonumber(hi) then
      util.fail("%s: %s: got %s (%s)", src, key, show(v), OVERLAY_HINT)
    end
  end
  return v
end

-- The external list: the item named public (or the first flat item).
local function external_item(src, v)
  if v == nil then
    return nil
  end
  if type(v) ~= "table" or not util.is_list(v) then
    util.fail("%s: networks.external: expected a list of external networks (one named public), got %s", src,
      show(v))
  end
  if #v == 0 then
    return nil
  end
  for i, item in ipairs(v) do
    if not is_map(item) then
      util.fail("%s: networks.external[%d]: expected a mapping, got %s", src, i, show(item))
    end
    local k, inner = next(item)
    if next(item, k) == nil and is_map(inner) then
      if k == "public" then
        return inner, string.format("networks.external[%d].public", i), "public"
      end
    elseif i == 1 then
      return item, "networks.external[1]", "public"
    end
  end
  util.fail("%s: networks.external: no item named public (valid: a list whose public item is the external "
    .. "network, e.g. - public: {enabled: true, cidr: ...})", src)
end

local function parse_network(src, name, t, key, auto_nic)
  if not is_map(t) then
    util.fail("%s: %s: expected a mapping, got %s", src, key, show(t))
  end
  check_keys(src, key, t, "network")
  local enabled = t.enabled
  if enabled == nil then
    enabled = true
  end
  if type(enabled) ~= "boolean" then
    util.fail("%s: %s.enabled: got %s (valid: true, false)", src, key, show(enabled))
  end
  if name == "admin" and not enabled then
    util.fail("%s: %s.enabled: false (valid: true; the admin network is always enabled)", src, key)
  end
  local mtu = t.mtu
  if mtu == nil then
    mtu = M.DEFAULT_MTU
  elseif math.type(mtu) ~= "integer" or mtu < 576 or mtu > 9216 then
    util.fail("%s: %s.mtu: got %s (valid: an integer 576..9216)", src, key, show(mtu))
  end
  ---@type apex.Network
  local net = { name = name, key = key, enabled = enabled, mtu = mtu }
  if not enabled then
    -- Apex reads nothing else of a disabled network; network_data.yaml
    -- lists it with what the file gives.
    net.cidr = type(t.cidr) == "string" and t.cidr or nil
    net.gateway = type(t.gateway) == "string" and t.gateway or nil
    if type(t.overcloud_ip_range) == "table" and #t.overcloud_ip_range == 2 then
      net.overcloud_ip_range = { tostring(t.overcloud_ip_range[1]), tostring(t.overcloud_ip_range[2]) }
    end
    net.vlan = "native"
    return net
  end

  if t.cidr == nil then
    util.fail("%s: %s.cidr: missing (required for an enabled network, e.g. 192.0.2.0/24; apex does not read it "
      .. "from the jump host's NICs)", src, key)
  end
  local parsed, err = ip.parse_cidr(t.cidr)
  if not parsed then
    util.fail("%s: %s.cidr: got %s: %s (valid: a network in CIDR notation such as 192.0.2.0/24 or fd00::/64)", src,
      key, show(t.cidr), err)
  end
  if name == "admin" and parsed.version ~= 4 then
    util.fail("%s: %s.cidr: %s is IPv6 (valid: an IPv4 network; the admin network PXE-boots the nodes)", src, key,
      t.cidr)
  end
  net.parsed = parsed
  net.cidr = ip.format_cidr(parsed)
  net.version = parsed.version
  net.prefix = parsed.prefix
  net.nic_mapping = nic_mapping(src, net, t, auto_nic)
  local c, k = net.nic_mapping.controller.vlan, net.nic_mapping.compute.vlan
  net.vlan = c ~= "native" and c or k -- NetworkEnvironment._get_vlan

  if name == "admin" or name == "external" then
    net.installer_vm = installer_vm(src, net, t, name == "admin")
  end
  if t.gateway ~= nil and t.gateway ~= "" then
    address_in(src, key .. ".gateway", t.gateway, net)
    net.gateway = t.gateway
  elseif name == "external" then
    net.gateway = ip.format(ip.index(net.parsed, 1)) -- _config_gateway: cidr[1]
  elseif name == "admin" then
    net.gateway = net.installer_vm.ip
  end

  local parsed_ranges = config_ranges(src, net, t, RANGES[name] or { "overcloud_ip_range" })
  local vm = net.installer_vm
  if vm then
    local a = ip.parse(vm.ip)
    for rname, r in pairs(parsed_ranges) do
      if ip.compare(r[1], a) <= 0 and ip.compare(a, r[2]) <= 0 then
        warn("%s: %s.installer_vm.ip: %s is inside %s %s-%s: a node may be given the undercloud's address "
          .. "(Apex accepts this; an address outside the ranges is safer)", src, key, vm.ip, rname, net[rname][1],
          net[rname][2])
      end
    end
  end

  if name == "tenant" then
    local seg = t.segmentation_type or "vxlan"
    if not util.contains(M.SEGMENTATION_TYPES, seg) then
      util.fail("%s: %s.segmentation_type: got %s (valid: %s)", src, key, show(seg),
        table.concat(M.SEGMENTATION_TYPES, ", "))
    end
    net.segmentation_type = seg
    net.overlay_id_range = overlay_range(src, key .. ".overlay_id_range", seg, t.overlay_id_range)
  end
  if name == "external" and t.external_overlay ~= nil then
    net.external_overlay = util.deep_copy(t.external_overlay)
  end
  return net
end

--- A device is one NIC or one bond (its member set); two networks of a role
--- share it only when at most one of them is untagged.
---@param m {members: string[]}
---@return string
function M.device_id(m)
  local sorted = util.deep_copy(m.members)
  table.sort(sorted)
  return table.concat(sorted, "+")
end

local function check_nics(src, s)
  local nics = { controller = {}, compute = {} }
  for _, role in ipairs(M.ROLES) do
    local native, tags, owner = {}, {}, {}
    for _, name in ipairs(s.enabled) do
      local net = s.networks[name]
      local m = net.nic_mapping[role]
      local dev = M.device_id(m)
      nics[role][name] = m.members[1]
      for _, nic in ipairs(m.members) do
        if owner[nic] and owner[nic].dev ~= dev then
          util.fail("%s: %s.members: %s is also in networks.%s's %s (valid: the same NIC or bond for both, or "
            .. "separate NICs)", src, m.key, nic, owner[nic].net, owner[nic].dev)
        end
        owner[nic] = { dev = dev, net = name }
      end
      if m.vlan == "native" then
        if native[dev] then
          util.fail("%s: %s.members: %s already carries the %s network untagged for %s (valid: another NIC, or "
            .. "vlan: <ID> on one of them)", src, m.key, dev, native[dev], role)
        end
        native[dev] = name
      else
        local tkey = dev .. "." .. m.vlan
        if tags[tkey] then
          util.fail("%s: %s.vlan: %d is already the %s network's VLAN on %s for %s (valid: a VLAN ID unused on "
            .. "that NIC)", src, m.key, m.vlan, tags[tkey], dev, role)
        end
        tags[tkey] = name
      end
    end
  end
  return nics
end

--- Validates Apex network settings given as a table (from YAML or Lua) and
--- returns them normalized, with Apex's defaults. Errors name `source`, the
--- key path and what is valid.
---@param raw table
---@param source string   file name, used in every message
---@return apex.NetworkSettings
function M.validate(raw, source)
  warnings = {}
  local ok, out = pcall(M.validate_inner, raw, source)
  local found = warnings
  warnings = nil
  if not ok then error(out, 0) end
  out.warnings = found
  return out
end

--- M.validate without the warnings bookkeeping.
---@param raw table
---@param source string
---@return apex.NetworkSettings
function M.validate_inner(raw, source)
  local src = source
  if not is_map(raw) or next(raw) == nil then
    util.fail("%s: expected a mapping (Apex network settings with networks.admin), got %s", src, show(raw))
  end
  local s = util.deep_copy(raw)
  if is_map(s.apex) then
    merge(s, s.apex)
  end
  check_keys(src, nil, s, "top")
  local nets = s.networks
  if not is_map(nets) then
    util.fail("%s: networks: missing or not a mapping (required: networks.admin with cidr, installer_vm and "
      .. "nic_mapping)", src)
  end
  for k in pairs(nets) do
    if not util.contains(M.NETWORKS, k) then
      util.fail("%s: networks.%s: unknown network (valid: %s)", src, tostring(k), table.concat(M.NETWORKS, ", "))
    end
  end
  if nets.admin == nil then
    util.fail("%s: networks.admin: missing (required: the admin/ctlplane network with cidr, installer_vm.ip and "
      .. "nic_mapping)", src)
  end

  local items = {}
  local any_mapping = false
  for _, name in ipairs(M.NETWORKS) do
    local t, key, ext_name = nets[name], "networks." .. name, nil
    if name == "external" then
      t, key, ext_name = external_item(src, t)
    end
    if t ~= nil then
      items[#items + 1] = { name = name, t = t, key = key, ext_name = ext_name }
      any_mapping = any_mapping or (is_map(t) and t.enabled ~= false and t.nic_mapping ~= nil)
    end
  end

  local out = { networks = {}, enabled = {}, source = source, raw = raw }
  for _, it in ipairs(items) do
    local name, t, key, ext_name = it.name, it.t, it.key, it.ext_name
    do
      -- No nic_mapping anywhere: the virtual lab's wiring, one NIC per
      -- enabled network in Apex's order (build_vms), eth0 for admin.
      local auto_nic = not any_mapping and ("eth" .. #out.enabled) or nil
      local net = parse_network(src, name, t, key, auto_nic)
      net.external_name = ext_name
      out.networks[name] = net
      if net.enabled then
        out.enabled[#out.enabled + 1] = name
      end
    end
  end

  for i, a in ipairs(out.enabled) do
    for j = i + 1, #out.enabled do
      local na, nb = out.networks[a], out.networks[out.enabled[j]]
      if ip.overlaps(na.parsed, nb.parsed) then
        util.fail("%s: %s.cidr: %s overlaps %s.cidr %s (valid: a network disjoint from the other enabled networks)",
          src, nb.key, nb.cidr, na.key, na.cidr)
      end
    end
  end
  out.nics = check_nics(src, out)
  out.ip_version = 4
  for _, name in ipairs(out.enabled) do
    if out.networks[name].version == 6 then
      out.ip_version = 6
    end
  end
  out.ipv6 = out.ip_version == 6
  for _, net in pairs(out.networks) do
    net.parsed = nil -- plain data only: settings are hashed, dumped and copied
  end

  for _, k in ipairs({ "http_proxy", "https_proxy" }) do
    if s[k] ~= nil and not (type(s[k]) == "string" and s[k]:match("^https?://")) then
      util.fail("%s: %s: got %s (valid: an http:// or https:// URL)", src, k, show(s[k]))
    end
    -- It becomes a line of the overcloud image's /etc/environment.
    if s[k] ~= nil and s[k]:find("%c") then
      util.fail("%s: %s: got %s, which holds a newline or another control character (valid: an http:// or "
        .. "https:// URL on one line)", src, k, show(s[k]))
    end
  end
  local domain = s["dns-domain"]
  if domain ~= nil and (type(domain) ~= "string" or not domain:match("^[%w][%w%.%-]*$")) then
    util.fail("%s: dns-domain: got %s (valid: a DNS domain such as example.org)", src, show(domain))
  end
  out.undercloud_ip = out.networks.admin.installer_vm.ip
  out.ntp = string_list(src, "ntp", s.ntp, M.DEFAULT_NTP)
  for i, server in ipairs(out.ntp) do
    if #server > 253 or not (ip.parse(server) or server:match("^[%w][%w.-]*$")) then
      util.fail("%s: ntp[%d]: got %s (valid: an NTP server's host name or IP address, e.g. pool.ntp.org)", src, i,
        show(server))
    end
  end
  out.dns_nameservers = string_list(src, "dns_nameservers", s.dns_nameservers, M.DEFAULT_DNS)
  for i, d in ipairs(out.dns_nameservers) do
    if not ip.parse(d) then
      util.fail("%s: dns_nameservers[%d]: got %s (valid: an IPv4 or IPv6 address)", src, i, show(d))
    end
  end
  out.http_proxy = s.http_proxy
  out.https_proxy = s.https_proxy
  out.domain = domain or M.DEFAULT_DOMAIN
  return out
end

--- Loads and validates an Apex network settings file.
---@param path string
---@return apex.NetworkSettings
function M.load(path)
  return M.validate(require("apex.settings").load_yaml(path), path)
end

return M
