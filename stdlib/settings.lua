--- Apex deploy settings and network settings: parse, validate, apply Apex's
--- defaults. Every error names the file, the key and what is valid, and is
--- raised as a clean user error (no traceback noise in the message).
---
--- Deploy settings follow the Apex format (`global_params`, `deploy_options`):
--- every key Apex's DeploySettings accepts is accepted and kept, including
--- `global_params.introspect` and `global_params.ipxe` (both default true, as
--- Apex reads them), and the legacy `deploy_options.sdn_l3` of one of Apex's
--- own example files (kept, with a warning: Apex itself rejects it).
--- A patch's `change-id` is a Gerrit Change-Id (I + 40 hex) or a change
--- number; `project` and `branch` are plain Gerrit names: they end up in URLs.
--- Extensions (documented, all optional): `global_params.gerrit_url` (Gerrit
--- REST base, default https://review.opendev.org), `global_params.source_registry`
--- (an OCI registry URL whose catalog lists the upstream images; without it the
--- shipped image list is used), and a patch's `diff` (a local diff file,
--- relative to the settings file).
local core = require("apex.core")
local util = require("apex.util")

local M = {}

---@class apex.Patch
---@field ["change-id"] string  I + 40 hex digits, or a change number (as a string)
---@field project string
---@field branch? string
---@field diff? string   local diff file (absolute after validation)

---@class apex.GlobalParams
---@field ha_enabled boolean
---@field introspect boolean   baremetal nodes are introspected at deploy time (Apex: default true)
---@field ipxe boolean         the undercloud provisions with iPXE (Apex: default true)
---@field patches {undercloud: apex.Patch[], overcloud: apex.Patch[]}
---@field gerrit_url string
---@field source_registry? string

---@class apex.DeployOptions
---@field containers boolean
---@field os_version string
---@field sdn_controller string|false
---@field odl_version string   declared by plugins/opendaylight.lua (plugin options are validated alike)
---@field dataplane "ovs"|"ovs_dpdk"|"fdio"
---@field ceph boolean
---@field ceph_device string
---@field vim "openstack"|"k8s"
---@field sriov string|false
---@field tacker boolean
---@field congress boolean
---@field sfc boolean
---@field vpn boolean
---@field vpp boolean
---@field gluon boolean
---@field rt_kvm boolean
---@field l2gw boolean
---@field barometer boolean
---@field dvr boolean
---@field odl_vpp_netvirt boolean
---@field sdn_l3? boolean   legacy, only kept (see warnings)
---@field performance? table<"Controller"|"Compute"|"ObjectStorage", table<"kernel"|"nova"|"vpp"|"ovs", table<string, string|number|boolean>>>
---@field odl_vpp_routing_node? string
---@field calipso boolean
---@field vsperf boolean
---@field yardstick boolean
---@field dovetail boolean

---@class apex.DeploySettings
---@field global_params apex.GlobalParams
---@field deploy_options apex.DeployOptions
---@field source string   where the settings came from (file or scenario), for messages
---@field warnings string[]  accepted but questionable keys, each naming file and key (for the plan's notes)

M.VALID_OS_VERSIONS = { "master", "stein", "rocky", "queens", "pike" }
M.VALID_DATAPLANES = { "ovs", "ovs_dpdk", "fdio" }
M.VALID_VIMS = { "openstack", "k8s" }
M.VALID_ROLES = { "Controller", "Compute", "ObjectStorage" }
M.VALID_PERF_OPTS = { "kernel", "nova", "vpp", "ovs" }
M.DEFAULT_GERRIT = "https://review.opendev.org"
M.DEFAULT_DNS = { "8.8.8.8", "8.8.4.4" }
M.DEFAULT_NTP = { "pool.ntp.org" }

--- Boolean deploy options: default false.
M.BOOLEAN_OPTIONS = {
  "tacker", "congress", "sfc", "vpn", "vpp", "gluon", "rt_kvm", "l2gw", "barometer",
  "dvr", "calipso", "vsperf", "yardstick", "dovetail",
}

-- Every deploy option: its check and its default (nil = optional, no default).
local function choice(list)
  return function(v)
    return type(v) == "string" and util.contains(list, v), table.concat(list, ", ")
  end
end
local function is_bool(v) return type(v) == "boolean", "true, false" end
local function is_string(v) return type(v) == "string" and v ~= "", "a non-empty string" end
local function is_table(v) return type(v) == "table", "a mapping" end
-- A block device path (CephAnsibleDisksConfig's devices, a loop device for
-- the OSDs): /dev/ and a name, no '..' part, nothing a shell or YAML reads.
local function is_device(v)
  return type(v) == "string" and v:match("^/dev/[%w_][%w/_.:-]*$") ~= nil and not v:find("/%.%.?/")
    and not v:find("/%.%.?$"), "a block device path such as /dev/sdb or /dev/loop3"
end

local OPTIONS = {
  containers = { check = is_bool, default = true },
  os_version = { check = choice(M.VALID_OS_VERSIONS), default = "master" },
  sdn_controller = {
    check = function(v) return v == false or is_string(v), "false or a plugin name" end,
    default = false,
  },
  dataplane = { check = choice(M.VALID_DATAPLANES), default = "ovs" },
  ceph = { check = is_bool, default = true },
  ceph_device = { check = is_device, default = "/dev/loop3" },
  vim = { check = choice(M.VALID_VIMS), default = "openstack" },
  sriov = {
    check = function(v)
      return v == false or util.is_ifname(v), "false or an interface name such as ens2f0 (" .. util.IFNAME_DOC .. ")"
    end,
    default = false,
  },
  performance = { check = is_table },
  -- In Apex's config/deploy/os-odl_netvirt-fdio-noha.yaml, rejected by Apex's
  -- own validation: kept for that file, with a warning.
  sdn_l3 = { check = is_bool, legacy = true },
}
for _, name in ipairs(M.BOOLEAN_OPTIONS) do
  OPTIONS[name] = { check = is_bool, default = false }
end

--- Every deploy option: the core ones above, then those the available
--- plugins declare (apex.plugins.options), validated alike.
---@return table<string, {check: fun(v: any): boolean, string, default?: any, legacy?: boolean}>
local function all_options()
  local out = {}
  for k, spec in pairs(OPTIONS) do out[k] = spec end
  for k, spec in pairs(require("apex.plugins").options(OPTIONS)) do out[k] = spec end
  return out
end

local GLOBAL_KEYS = { "ha_enabled", "patches", "introspect", "ipxe", "gerrit_url", "source_registry" }
local PATCH_KEYS = { "change-id", "project", "branch", "diff" }
M.PATCH_KEYS = PATCH_KEYS

local show = util.show

local function dirname(path)
  return path:match("^(.*)/[^/]*$") or "."
end

--- Whether a value is a Gerrit Change-Id (I + 40 hex digits) or a change
--- number; returns it as a string (YAML reads a number as an integer).
---@param v any
---@return string?
function M.change_id(v)
  if math.type(v) == "integer" and v > 0 then
    return tostring(v)
  end
  if type(v) == "string" and (v:match("^I%x+$") and #v == 41 or v:match("^[1-9]%d*$")) then
    return v
  end
  return nil
end

--- Whether a string is a plain Gerrit project or branch name: parts of
--- letters, digits, `.`, `_`, `-`, `+` between single slashes, no part
--- starting with a dot (so no `..`), no leading or trailing slash, no
--- whitespace or control characters. Such names are safe in URLs and paths.
---@param v any
---@return boolean
function M.gerrit_name(v)
  if type(v) ~= "string" or v == "" or #v > 255 then
    return false
  end
  for part in (v .. "/"):gmatch("(.-)/") do
    if not part:match("^[%w_+][%w%._+%-]*$") then
      return false
    end
  end
  return true
end

M.VALID_CHANGE_ID = "a Gerrit Change-Id, I followed by 40 hex digits, or a change number"
M.VALID_GERRIT_NAME = "a plain Gerrit name such as openstack/nova or stable/rocky: letters, digits, . _ - + "
  .. "and single / between parts; no .., no leading /, no spaces"

--- Validates one patch (`{change-id, project, branch?, diff?}`) and returns a
--- copy: the change-id as a string, a relative diff resolved against
--- `base_dir`. Every error names `src` and `key`.
---@param src string   the file, for messages
---@param key string   e.g. "global_params.patches.overcloud[1]"
---@param p any
---@param base_dir? string   where a relative `diff` is resolved (default: the directory of src)
---@param allowed? string[]  the keys allowed (default: change-id, project, branch, diff)
---@return apex.Patch
function M.check_patch(src, key, p, base_dir, allowed)
  allowed = allowed or PATCH_KEYS
  if type(p) ~= "table" or (next(p) ~= nil and util.is_list(p)) then
    util.fail("%s: %s: expected a mapping with change-id and project, got %s", src, key, show(p))
  end
  for k in pairs(p) do
    if not util.contains(allowed, k) then
      util.fail_unknown(src, key .. "." .. tostring(k), k, allowed)
    end
  end
  for _, req in ipairs({ "change-id", "project" }) do
    if p[req] == nil then
      util.fail("%s: %s: missing %s (required: change-id, project; optional: %s)", src, key, req,
        table.concat(allowed, ", ", 3))
    end
  end
  local patch = util.deep_copy(p)
  patch["change-id"] = M.change_id(p["change-id"])
  if not patch["change-id"] then
    util.fail("%s: %s.change-id: got %s (valid: %s)", src, key, show(p["change-id"]), M.VALID_CHANGE_ID)
  end
  for _, k in ipairs({ "project", "branch" }) do
    if p[k] ~= nil and not M.gerrit_name(p[k]) then
      util.fail("%s: %s.%s: got %s (valid: %s)", src, key, k, show(p[k]), M.VALID_GERRIT_NAME)
    end
  end
  if p.diff ~= nil and (type(p.diff) ~= "string" or p.diff == "" or p.diff:find("%c")) then
    util.fail("%s: %s.diff: got %s (valid: the path of a local diff file)", src, key, show(p.diff))
  end
  if patch.diff and not patch.diff:match("^/") then
    patch.diff = (base_dir or dirname(src)) .. "/" .. patch.diff
  end
  return patch
end

--- Validates a `{undercloud = [...], overcloud = [...]}` mapping of patches
--- (both lists optional) and returns both lists, validated.
---@param src string
---@param key string   e.g. "global_params.patches"
---@param patches any
---@param base_dir? string
---@param allowed? string[]
---@return {undercloud: apex.Patch[], overcloud: apex.Patch[]}
function M.check_patches(src, key, patches, base_dir, allowed)
  if patches == nil then
    patches = {}
  elseif type(patches) ~= "table" or (next(patches) ~= nil and util.is_list(patches)) then
    util.fail("%s: %s: expected a mapping with undercloud and/or overcloud lists, got %s", src, key, show(patches))
  end
  local out = { undercloud = core.data.array(), overcloud = core.data.array() }
  for node, list in pairs(patches) do
    if node ~= "undercloud" and node ~= "overcloud" then
      util.fail_unknown(src, key .. "." .. tostring(node), node, { "undercloud", "overcloud" })
    end
    if type(list) ~= "table" or not util.is_list(list) then
      util.fail("%s: %s.%s: expected a list of patches, got %s", src, key, node, show(list))
    end
    for i, p in ipairs(list) do
      out[node][i] = M.check_patch(src, string.format("%s.%s[%d]", key, node, i), p, base_dir, allowed)
    end
  end
  return out
end

local function check_global(src, gp)
  if type(gp) ~= "table" or (next(gp) ~= nil and util.is_list(gp)) then
    util.fail("%s: global_params: expected a mapping, got %s", src, show(gp))
  end
  for k in pairs(gp) do
    if not util.contains(GLOBAL_KEYS, k) then
      util.fail_unknown(src, "global_params." .. tostring(k), k, GLOBAL_KEYS)
    end
  end
  if gp.ha_enabled == nil then
    util.fail("%s: global_params.ha_enabled: missing (required: true or false)", src)
  end
  for _, k in ipairs({ "ha_enabled", "introspect", "ipxe" }) do
    if gp[k] ~= nil and type(gp[k]) ~= "boolean" then
      util.fail("%s: global_params.%s: got %s (valid: true, false)", src, k, show(gp[k]))
    end
  end
  for _, k in ipairs({ "gerrit_url", "source_registry" }) do
    if gp[k] ~= nil and not (type(gp[k]) == "string" and gp[k]:match("^https?://")) then
      util.fail("%s: global_params.%s: got %s (valid: an http:// or https:// URL)", src, k, show(gp[k]))
    end
  end
  return {
    ha_enabled = gp.ha_enabled,
    introspect = gp.introspect ~= false,
    ipxe = gp.ipxe ~= false,
    patches = M.check_patches(src, "global_params.patches", gp.patches),
    gerrit_url = (gp.gerrit_url or M.DEFAULT_GERRIT):gsub("/+$", ""),
    source_registry = gp.source_registry and gp.source_registry:gsub("/+$", ""),
  }
end

local function check_performance(src, perf)
  for role, sets in pairs(perf) do
    if not util.contains(M.VALID_ROLES, role) then
      util.fail_unknown(src, "deploy_options.performance." .. tostring(role), role, M.VALID_ROLES, "role")
    end
    if type(sets) ~= "table" or (next(sets) ~= nil and util.is_list(sets)) then
      util.fail("%s: deploy_options.performance.%s: expected a mapping, got %s", src, role, show(sets))
    end
    for key, values in pairs(sets) do
      if not util.contains(M.VALID_PERF_OPTS, key) then
        util.fail_unknown(src, "deploy_options.performance." .. role .. "." .. tostring(key), key, M.VALID_PERF_OPTS,
          "option")
      end
      -- Apex turns each into "<role> <option> <key> <value>" settings
      if type(values) ~= "table" or (next(values) ~= nil and util.is_list(values)) then
        util.fail("%s: deploy_options.performance.%s.%s: expected a mapping of settings (e.g. hugepages: 1024), "
          .. "got %s", src, role, key, show(values))
      end
      for name, value in pairs(values) do
        if type(value) == "table" then
          util.fail("%s: deploy_options.performance.%s.%s.%s: got %s (valid: a string, number or boolean)", src, role,
            key, tostring(name), show(value))
        end
        -- Kernel args reach the nodes' GRUB command line through a THT
        -- script: a parameter's name and value, nothing a shell reads.
        local text = tostring(value)
        if key == "kernel" and (type(name) ~= "string" or not name:match("^[%w_][%w_.-]*$")
            or not text:match("^[%w_.,:/@+=-]*$") or #text > 256) then
          util.fail("%s: deploy_options.performance.%s.kernel.%s: got %s (valid: a kernel parameter name and a "
            .. "value of letters, digits and '_.,:/@+=-', e.g. hugepagesz: 2M, isolcpus: 1-3)", src, role,
            tostring(name), show(value))
        end
      end
    end
  end
end

local function check_options(src, opts, warnings)
  if type(opts) ~= "table" or (next(opts) ~= nil and util.is_list(opts)) then
    util.fail("%s: deploy_options: expected a mapping, got %s", src, show(opts))
  end
  local out = {}
  local options = all_options()
  for k, v in pairs(opts) do
    local spec = options[k]
    if not spec then
      util.fail_unknown(src, "deploy_options." .. tostring(k), k, util.sorted_keys(options), "deploy option")
    end
    local ok, valid = spec.check(v)
    if not ok then
      util.fail("%s: deploy_options.%s: invalid value %s (valid: %s)", src, k, show(v), valid)
    end
    out[k] = util.deep_copy(v)
    if spec.legacy then
      warnings[#warnings + 1] = string.format("%s: deploy_options.%s: a legacy key that Apex's own validation rejects; "
        .. "kept, and no step uses it", src, k)
    end
  end
  for k, spec in pairs(options) do
    if out[k] == nil and spec.default ~= nil then
      out[k] = spec.default
    end
  end
  if out.containers == false then
    util.fail("%s: deploy_options.containers: false is not supported (apex deploys containers only; valid: true)", src)
  end
  if out.gluon and not out.vpn then
    util.fail("%s: deploy_options.gluon: gluon needs vpn: true (set deploy_options.vpn: true)", src)
  end
  if out.performance then
    check_performance(src, out.performance)
  end
  return out
end

--- Validates deploy settings given as a table (from YAML or a scenario) and
--- returns a new table with Apex's defaults applied.
---@param raw table
---@param source string  file or scenario name, used in every message
---@return apex.DeploySettings
function M.validate_deploy(raw, source)
  if type(raw) ~= "table" or (next(raw) ~= nil and util.is_list(raw)) then
    util.fail("%s: expected a mapping with global_params and deploy_options, got %s", source, show(raw))
  end
  for k in pairs(raw) do
    if k ~= "global_params" and k ~= "deploy_options" then
      util.fail_unknown(source, tostring(k), k, { "global_params", "deploy_options" })
    end
  end
  if raw.global_params == nil then
    util.fail("%s: global_params: missing (required, with ha_enabled)", source)
  end
  if raw.deploy_options == nil then
    util.fail("%s: deploy_options: missing (required)", source)
  end
  local warnings = core.data.array()
  return {
    global_params = check_global(source, raw.global_params),
    deploy_options = check_options(source, raw.deploy_options, warnings),
    source = source,
    warnings = warnings,
  }
end

--- Reads a YAML file; syntax errors come from core.yaml.load with file and line.
---@param path string
---@return any
function M.load_yaml(path)
  if not core.fs.exists({ path = path }).exists then
    util.fail("%s: no such file", path)
  end
  local ok, value = pcall(core.yaml.load, { path = path })
  if not ok then
    util.fail("%s", (util.message(value):gsub("^yaml%.load: ", "")))
  end
  return value
end

--- Loads and validates an Apex deploy settings file.
---@param path string
---@return apex.DeploySettings
function M.load_deploy(path)
  return M.validate_deploy(M.load_yaml(path), path)
end

local function string_list(src, key, v)
  if type(v) == "string" then
    v = { v }
  end
  if type(v) ~= "table" or not util.is_list(v) or #v == 0 then
    util.fail("%s: %s: expected a non-empty list of strings, got %s", src, key, show(v))
  end
  for i, s in ipairs(v) do
    if type(s) ~= "string" or s == "" then
      util.fail("%s: %s[%d]: expected a string, got %s", src, key, i, show(s))
    end
  end
  return v
end


return M
