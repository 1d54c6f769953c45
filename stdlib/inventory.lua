--- Apex node inventories (`-i inventory.yaml`): the baremetal nodes TripleO
--- imports (instackenv.json) and the scales of the deploy command.
---
--- The file is Apex's format as it is: a `nodes` mapping of named nodes with
--- `ipmi_ip`, `ipmi_user`, `ipmi_pass`, `pm_type`, `mac_address` (one or a
--- list), `cpus` (or `cpu`), `memory` (MiB), `disk` (GB), `arch`,
--- `capabilities` ("profile:control" or "profile:compute", more key:value
--- pairs after commas), and optionally `pm_port` and `disk_device` (the root
--- disk). Numbers may be given as strings ("32"), as in Apex's examples. The
--- TripleO names Apex writes (`pm_addr`, `pm_user`, `pm_password`, `mac`) are
--- accepted too.
---
--- Passwords are kept out of the returned tables: only `instackenv()` (the
--- file uploaded to the undercloud) and `password()` give them back, so a
--- dumped, logged or planned inventory never shows one.
local core = require("apex.core")
local settings = require("apex.settings")
local util = require("apex.util")

local M = {}

--- Apex: HA needs three controllers (pacemaker quorum) and five nodes in all.
M.HA_CONTROLLERS = 3
M.HA_MIN_NODES = 5
--- Apex's default number of virtual computes (`--virtual-computes`); with
--- HA it is raised to 2.
M.VIRTUAL_COMPUTES = 1
M.VIRTUAL_HA_COMPUTES = 2
M.DEFAULT_ROOT_DEVICE = "sda"
M.DEFAULT_ARCH = "x86_64"
M.DEFAULT_PM_TYPE = "pxe_ipmitool"
M.VALID_PROFILES = { "control", "compute" }
M.VALID_ARCHES = { "x86_64", "aarch64", "ppc64le" }
M.REDACTED = "<redacted>"

---@class apex.InventoryNode
---@field name string            the node's key in the file (node1), for messages
---@field pm_addr string         BMC address (ipmi_ip)
---@field pm_user? string        BMC user (ipmi_user)
---@field pm_type string         Ironic driver, e.g. pxe_ipmitool, ipmi, redfish
---@field pm_port? integer       BMC port (virtual BMCs)
---@field has_password boolean   a BMC password is known (see instackenv, password)
---@field mac string[]           lowercase, the first one provisions
---@field cpu? integer
---@field memory? integer        MiB
---@field disk? integer          GB
---@field arch string
---@field capabilities string    as given, plus boot_mode:uefi for aarch64 (as Apex)
---@field profile "control"|"compute"
---@field root_device? string    disk_device

---@class apex.Inventory
---@field nodes apex.InventoryNode[]   in name order (node2 before node10)
---@field control integer             nodes with profile:control
---@field compute integer             nodes with profile:compute
---@field root_device string          disk_device of the nodes (Apex applies one to all), default sda
---@field ha boolean                  validated for HA
---@field source string               the file, for messages

-- Passwords by "<source>\0<node name>", so inventory tables never hold one.
local secrets = {}

local NODE_KEYS = {
  "ipmi_ip", "pm_addr", "ipmi_user", "pm_user", "ipmi_pass", "pm_password", "pm_type", "pm_port",
  "mac_address", "mac", "cpus", "cpu", "memory", "disk", "disk_device", "arch", "capabilities",
}
-- Apex's names and the TripleO names it turns them into.
local ALIASES = { { "ipmi_ip", "pm_addr" }, { "ipmi_user", "pm_user" }, { "ipmi_pass", "pm_password" },
  { "mac_address", "mac" }, { "cpus", "cpu" } }

local show = util.show

local is_mapping = util.is_map

-- node2 before node10: digit runs compare as numbers.
local function natural_less(a, b)
  local function key(s)
    return (s:gsub("%d+", function(d) return string.format("%012d", tonumber(d)) end))
  end
  local ka, kb = key(a), key(b)
  if ka == kb then return a < b end
  return ka < kb
end

local function scalar_string(src, key, v)
  if math.type(v) == "integer" then v = tostring(v) end
  if type(v) ~= "string" or v == "" or v:find("[%c]") then
    util.fail("%s: %s: got %s (valid: a non-empty string)", src, key, show(v))
  end
  return v
end

local function positive_int(src, key, v, what)
  local n = v
  if type(v) == "string" and v:match("^%d+$") then n = tonumber(v) end
  if math.type(n) ~= "integer" or n <= 0 then
    util.fail("%s: %s: got %s (valid: %s, a whole number above 0)", src, key, show(v), what)
  end
  return n
end

--- A MAC address in the usual colon form, lowercased; nil if it is not one.
---@param v any
---@return string?
function M.normalize_mac(v)
  if type(v) ~= "string" then return nil end
  local s = v:lower()
  if s:match("^%x%x:%x%x:%x%x:%x%x:%x%x:%x%x$") then return s end
  return nil
end

local function check_address(src, key, v)
  v = scalar_string(src, key, v)
  local ok = v:match("^[%w][%w%.%-:]*$") ~= nil
  local a, b, c, d = v:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if a and (tonumber(a) > 255 or tonumber(b) > 255 or tonumber(c) > 255 or tonumber(d) > 255) then ok = false end
  if not ok then
    util.fail("%s: %s: got %s (valid: the BMC's IP address or host name, e.g. 10.4.7.2)", src, key, show(v))
  end
  return v
end

local function parse_capabilities(src, key, v)
  v = scalar_string(src, key, v)
  local caps, profile = {}, nil
  for item in v:gmatch("[^,]+") do
    local k, val = item:match("^%s*([^:%s]+):([^%s]*)%s*$")
    if not k or val == "" then
      util.fail("%s: %s: %s is not a key:value capability (valid: e.g. \"profile:control\" or "
        .. "\"profile:compute,boot_option:local\")", src, key, util.show(item))
    end
    if k == "profile" then
      if not util.contains(M.VALID_PROFILES, val) then
        util.fail("%s: %s: unknown profile %s (valid: profile:control, profile:compute)", src, key, util.show(val))
      end
      profile = val
    end
    caps[#caps + 1] = k .. ":" .. val
  end
  if not profile then
    util.fail("%s: %s: no profile in %s (valid: profile:control or profile:compute, e.g. \"profile:compute\")",
      src, key, util.show(v))
  end
  return table.concat(caps, ","), profile, caps
end

local function check_node(src, name, raw)
  local where = "nodes." .. name
  if not is_mapping(raw) then
    util.fail("%s: %s: expected a mapping (ipmi_ip, ipmi_user, ipmi_pass, pm_type, mac_address, cpus, memory, "
      .. "disk, arch, capabilities), got %s", src, where, show(raw))
  end
  for k in pairs(raw) do
    if not util.contains(NODE_KEYS, k) then
      util.fail("%s: %s.%s: unknown key (valid: %s)", src, where, tostring(k), table.concat(NODE_KEYS, ", "))
    end
  end
  local v = {}
  for _, pair in ipairs(ALIASES) do
    local apex_name, tripleo_name = pair[1], pair[2]
    if raw[apex_name] ~= nil and raw[tripleo_name] ~= nil then
      util.fail("%s: %s: both %s and %s given (valid: one of them; %s is Apex's name)", src, where, apex_name,
        tripleo_name, apex_name)
    end
    if raw[apex_name] ~= nil then
      v[tripleo_name] = { raw[apex_name], where .. "." .. apex_name }
    elseif raw[tripleo_name] ~= nil then
      v[tripleo_name] = { raw[tripleo_name], where .. "." .. tripleo_name }
    end
  end
  local node = { name = name }

  if not v.pm_addr then
    util.fail("%s: %s.ipmi_ip: missing (required: the address of the node's BMC, e.g. 10.4.7.2)", src, where)
  end
  node.pm_addr = check_address(src, v.pm_addr[2], v.pm_addr[1])
  if v.pm_user then node.pm_user = scalar_string(src, v.pm_user[2], v.pm_user[1]) end
  local password
  if v.pm_password then password = scalar_string(src, v.pm_password[2], v.pm_password[1]) end
  node.has_password = password ~= nil

  node.pm_type = M.DEFAULT_PM_TYPE
  if raw.pm_type ~= nil then
    local t = raw.pm_type
    if type(t) ~= "string" or not t:match("^[%w][%w_%-]*$") then
      util.fail("%s: %s.pm_type: got %s (valid: an Ironic driver name such as pxe_ipmitool, ipmi, redfish)",
        src, where, show(t))
    end
    node.pm_type = t
  end
  if raw.pm_port ~= nil then
    local p = positive_int(src, where .. ".pm_port", raw.pm_port, "the BMC's port")
    if p > 65535 then
      util.fail("%s: %s.pm_port: got %s (valid: a port number, 1-65535)", src, where, show(raw.pm_port))
    end
    node.pm_port = p
  end

  if not v.mac then
    util.fail("%s: %s.mac_address: missing (required: the MAC of the NIC on the admin network, "
      .. "e.g. \"00:1e:67:b2:08:7b\", or a list of them)", src, where)
  end
  local macs, key = v.mac[1], v.mac[2]
  if type(macs) ~= "table" then macs = { macs } end
  if not util.is_list(macs) or #macs == 0 then
    util.fail("%s: %s: got %s (valid: a MAC address such as \"00:1e:67:b2:08:7b\", or a list of them)", src, key,
      show(v.mac[1]))
  end
  node.mac = core.data.array()
  for i, m in ipairs(macs) do
    local norm = M.normalize_mac(m)
    if not norm then
      util.fail("%s: %s%s: got %s (valid: a MAC address as a quoted string, six hex pairs separated by colons, "
        .. "e.g. \"00:1e:67:b2:08:7b\")", src, key, type(v.mac[1]) == "table" and ("[" .. i .. "]") or "", show(m))
    end
    node.mac[i] = norm
  end

  if v.cpu then node.cpu = positive_int(src, v.cpu[2], v.cpu[1], "the number of CPUs") end
  if raw.memory ~= nil then node.memory = positive_int(src, where .. ".memory", raw.memory, "MiB of RAM") end
  if raw.disk ~= nil then node.disk = positive_int(src, where .. ".disk", raw.disk, "GB of disk") end
  node.arch = M.DEFAULT_ARCH
  if raw.arch ~= nil then
    if not (type(raw.arch) == "string" and util.contains(M.VALID_ARCHES, raw.arch)) then
      util.fail("%s: %s.arch: got %s (valid: %s)", src, where, show(raw.arch), table.concat(M.VALID_ARCHES, ", "))
    end
    node.arch = raw.arch
  end
  if raw.disk_device ~= nil then
    local d = scalar_string(src, where .. ".disk_device", raw.disk_device)
    if not d:match("^[%w/][%w/%._%-]*$") or d:find("..", 1, true) then
      util.fail("%s: %s.disk_device: got %s (valid: a disk device name such as sdb or /dev/sdb)", src, where,
        show(raw.disk_device))
    end
    node.root_device = d
  end

  if raw.capabilities == nil then
    util.fail("%s: %s.capabilities: missing (required: \"profile:control\" or \"profile:compute\")", src, where)
  end
  local caps, profile, list = parse_capabilities(src, where .. ".capabilities", raw.capabilities)
  -- Apex boots aarch64 nodes with UEFI, always.
  if node.arch == "aarch64" and not util.contains(list, "boot_mode:uefi") then
    caps = caps .. ",boot_mode:uefi"
  end
  node.capabilities, node.profile = caps, profile
  return node, password
end

--- Validates an inventory given as a table (from YAML) and returns it with
--- Apex's names turned into TripleO's, MACs lowercased, numbers as integers.
--- Errors name the file, the node and the key.
---@param raw table
---@param source string   the file, used in every message
---@param opts? {ha?: boolean}   ha: check the node counts for an HA deploy
---@return apex.Inventory
function M.validate(raw, source, opts)
  opts = opts or {}
  local ha = opts.ha == true
  if not is_mapping(raw) then
    util.fail("%s: expected a mapping with nodes (an Apex inventory), got %s", source, show(raw))
  end
  for k in pairs(raw) do
    if k ~= "nodes" then
      util.fail("%s: %s: unknown key (valid: nodes)", source, tostring(k))
    end
  end
  local nodes = raw.nodes
  if nodes == nil then
    util.fail("%s: nodes: missing (required: a mapping of nodes, e.g. node1: {ipmi_ip: ..., mac_address: ..., "
      .. "capabilities: \"profile:control\"})", source)
  end
  if type(nodes) ~= "table" or next(nodes) == nil then
    util.fail("%s: nodes: got %s (valid: a mapping of one or more nodes)", source, show(nodes))
  end
  local names = {}
  if util.is_list(nodes) then
    -- Apex's own collapsed form: a list of nodes.
    local by = {}
    for i, n in ipairs(nodes) do
      local name = string.format("[%d]", i)
      by[name] = n
      names[#names + 1] = name
    end
    nodes = by
  else
    for name in pairs(nodes) do
      if type(name) ~= "string" then
        util.fail("%s: nodes.%s: node names are strings (e.g. node1)", source, tostring(name))
      end
      names[#names + 1] = name
    end
    table.sort(names, natural_less)
  end

  local inv = { nodes = core.data.array(), control = 0, compute = 0, ha = ha, source = source }
  local mac_owner, root_devices, root_device_of = {}, {}, {}
  for _, name in ipairs(names) do
    local node, password = check_node(source, name, nodes[name])
    for i, m in ipairs(node.mac) do
      local owner = mac_owner[m]
      if owner then
        util.fail("%s: nodes.%s.mac_address%s: %s is also the MAC of node %s (valid: each MAC once in the inventory)",
          source, name, #node.mac > 1 and ("[" .. i .. "]") or "", m, owner)
      end
      mac_owner[m] = name
    end
    if node.root_device then
      if not root_device_of[node.root_device] then
        root_devices[#root_devices + 1] = node.root_device
        root_device_of[node.root_device] = name
      end
    end
    inv[node.profile] = inv[node.profile] + 1
    inv.nodes[#inv.nodes + 1] = node
    secrets[source .. "\0" .. name] = password
  end
  if #root_devices > 1 then
    util.fail("%s: nodes.%s.disk_device: %s, but node %s gives %s (valid: one root disk for all nodes, as Apex "
      .. "applies a single one)", source, root_device_of[root_devices[2]], root_devices[2],
      root_device_of[root_devices[1]], root_devices[1])
  end
  inv.root_device = root_devices[1] or M.DEFAULT_ROOT_DEVICE

  local function of_profile(p)
    local out = {}
    for _, n in ipairs(inv.nodes) do
      if n.profile == p then out[#out + 1] = n.name end
    end
    return #out > 0 and table.concat(out, ", ") or "none"
  end
  if inv.control < 1 then
    util.fail("%s: nodes: no node has capabilities \"profile:control\" (valid: at least one controller; "
      .. "computes: %s)", source, of_profile("compute"))
  end
  if ha and inv.control < M.HA_CONTROLLERS then
    util.fail("%s: nodes: %d node(s) with profile:control (%s); an HA deploy (global_params.ha_enabled: true) "
      .. "needs at least %d controllers", source, inv.control, of_profile("control"), M.HA_CONTROLLERS)
  end
  if ha and #inv.nodes < M.HA_MIN_NODES then
    util.fail("%s: nodes: %d nodes; an HA deploy (global_params.ha_enabled: true) needs at least %d (%d controllers "
      .. "and computes), as Apex requires", source, #inv.nodes, M.HA_MIN_NODES, M.HA_CONTROLLERS)
  end
  return inv
end

--- Loads and validates an Apex inventory file.
---@param path string
---@param opts? {ha?: boolean}
---@return apex.Inventory
function M.load(path, opts)
  return M.validate(settings.load_yaml(path), path, opts)
end

--- The BMC password of a node (nil when none was given). Only for code that
--- must hand it to a BMC or to TripleO; never log it.
---@param inv apex.Inventory
---@param node apex.InventoryNode
---@return string?
function M.password(inv, node)
  return secrets[inv.source .. "\0" .. node.name]
end

--- instackenv.json content as Apex writes it: `nodes`, each with pm_addr,
--- pm_user, pm_password, pm_type (pm_port when given), the MAC list, cpu,
--- memory, disk, arch and capabilities. With `redact`, passwords read
--- "<redacted>" (for plan artifacts and logs).
---@param inv apex.Inventory
---@param opts? {redact?: boolean}
---@return {nodes: table[]}
function M.instackenv(inv, opts)
  local redact = opts and opts.redact
  local out = core.data.array()
  for _, n in ipairs(inv.nodes) do
    local pass = M.password(inv, n)
    out[#out + 1] = {
      pm_addr = n.pm_addr,
      pm_user = n.pm_user,
      pm_password = pass and (redact and M.REDACTED or pass) or nil,
      pm_type = n.pm_type,
      pm_port = n.pm_port,
      mac = util.deep_copy(n.mac),
      cpu = n.cpu,
      memory = n.memory,
      disk = n.disk,
      arch = n.arch,
      capabilities = n.capabilities,
    }
    core.data.array(out[#out].mac)
  end
  return { nodes = out }
end

--- Node counts for the deploy command, as Apex computes them: the
--- controllers of the inventory (only one without HA), the compute nodes.
---@param inv apex.Inventory
---@param ha boolean
---@return apex.Scales
function M.scales(inv, ha)
  local control = inv.control
  if not ha and control > 1 then control = 1 end
  return { control = control, compute = inv.compute, source = "inventory " .. inv.source }
end

--- Node counts of a virtual deploy (no inventory), Apex's defaults: 3
--- controllers with HA, else 1; `computes` computes (default
--- VIRTUAL_COMPUTES), at least 2 with HA as Apex raises it.
---@param ha boolean
---@param computes? integer
---@return apex.Scales
function M.virtual(ha, computes)
  if computes ~= nil and (math.type(computes) ~= "integer" or computes < 0) then
    util.fail("virtual computes: got %s (valid: a whole number, 0 or more)", show(computes))
  end
  local compute = computes or M.VIRTUAL_COMPUTES
  if ha and compute < M.VIRTUAL_HA_COMPUTES then compute = M.VIRTUAL_HA_COMPUTES end
  return { control = ha and M.HA_CONTROLLERS or 1, compute = compute, source = "virtual" }
end

--- One line per node for logs and the plan summary: name, profile, BMC
--- (user@address, driver), MACs, sizes. Never a password.
---@param inv apex.Inventory
---@return string[]
function M.summary(inv)
  local lines = core.data.array()
  for _, n in ipairs(inv.nodes) do
    local sizes = {}
    if n.cpu then sizes[#sizes + 1] = n.cpu .. " cpu" end
    if n.memory then sizes[#sizes + 1] = n.memory .. " MiB" end
    if n.disk then sizes[#sizes + 1] = n.disk .. " GB" end
    sizes[#sizes + 1] = n.arch
    lines[#lines + 1] = string.format("%s: %s, BMC %s%s%s (%s%s), MAC %s, %s", n.name, n.profile,
      n.pm_user and (n.pm_user .. "@") or "", n.pm_addr, n.pm_port and (":" .. n.pm_port) or "", n.pm_type,
      n.has_password and ", password set" or "", table.concat(n.mac, " "), table.concat(sizes, ", "))
  end
  return lines
end

local SECRET_KEY = { pm_password = true, ipmi_pass = true, password = true, pass = true }

--- A copy of a table, or a text (JSON, YAML, key=value), with every
--- password value replaced by "<redacted>": pm_password, ipmi_pass,
--- password and pass keys. For anything about to be logged.
---@generic T
---@param v T
---@return T
function M.redact(v)
  if type(v) == "table" then
    local out = {}
    for k, x in pairs(v) do
      if type(k) == "string" and SECRET_KEY[k] and type(x) ~= "table" then
        out[k] = M.REDACTED
      else
        out[k] = M.redact(x)
      end
    end
    -- keep a marked list (core.data.array) marked, so it is still dumped as []
    local mt = getmetatable(v)
    if type(mt) == "table" then
      setmetatable(out, mt)
    elseif mt ~= nil then
      core.data.array(out)
    end
    return out
  end
  if type(v) ~= "string" then
    return v
  end
  local out, pos = {}, 1
  while true do
    -- the next `key: value`, `key=value` or `"key": value` of a secret key
    local best_s, best_e
    for k in pairs(SECRET_KEY) do
      local init = pos
      while true do
        local s0, e0 = v:find("%f[%w_]" .. k .. "[\"']?[ \t]*[:=][ \t]*", init)
        if not s0 then break end
        if not v:sub(s0 + #k, s0 + #k):match("[%w_]") then
          if not best_s or s0 < best_s then best_s, best_e = s0, e0 end
          break
        end
        init = s0 + 1
      end
    end
    if not best_s then break end
    out[#out + 1] = v:sub(pos, best_e)
    local q, stop = v:sub(best_e + 1, best_e + 1), nil
    if q == '"' or q == "'" then
      local i = best_e + 2
      while i <= #v do
        local c = v:sub(i, i)
        if c == "\\" then
          i = i + 2
        elseif c == q then
          break
        else
          i = i + 1
        end
      end
      out[#out + 1] = q .. M.REDACTED .. q
      stop = i + 1
    else
      local e1 = v:find("[\n,}]", best_e + 1) or (#v + 1)
      out[#out + 1] = (e1 > best_e + 1) and M.REDACTED or ""
      stop = e1
    end
    pos = stop
  end
  out[#out + 1] = v:sub(pos)
  return table.concat(out)
end

return M
