--- Plugins: SDN controllers and features as Lua modules, loaded by name from
--- the settings, called through one small hook interface.
---
--- A plugin is a module `plugins.<name>` (shipped `plugins/<name>.lua`, or
--- `DIR/plugins/<name>.lua` in a --lua-path / APEX_LUA_PATH directory, which
--- shadows the shipped one) returning a table:
---
---     return {
---       description = "one line for `apex plugins`",
---       kind = "sdn",                      -- "sdn" (named by sdn_controller) or "storage"
---       options = {                        -- deploy options it adds, validated by apex like the core ones
---         my_mode = { type = "string", default = "a", valid = { "a", "b" }, description = "what it selects" },
---       },
---       validate = function(settings) end, -- raise util.fail(...) on a bad combination
---       images = function(ctx) return { driver = "odl", mirror = { "opendaylight" } } end,
---       patches = function(ctx) return { { image = "opendaylight", reason = "...", ops = { "RUN ..." } } } end,
---       env_files = function(ctx) return { { path = "services/x.yaml", reason = "..." } } end,
---       overcloud_customize = function(ctx) return { { op = "install", arg = "pkg", reason = "..." } } end,
---       artifacts = function(ctx) return { { name = "my-module.tar", reason = "..." } } end,  -- optional extras from the artifact server
---       loop_devices = function(ctx) return { { device = "/dev/loop3", backing_file = "/srv/data.img", size = "10G", before = { "x.target" }, reason = "..." } } end,
---       env_params = function(ctx) return { parameter_defaults = { X = 1 }, resource_registry = { ["OS::T::R"] = "r.yaml" },
---                                           files = { ["my-env.yaml"] = "parameter_defaults: ..." } } end,
---     }
---
--- Every hook is optional. The flow calls the hooks of every enabled plugin
--- (the SDN plugin first, then storage); what a hook returns is checked and a
--- wrong shape is an error naming the plugin, the hook and the field. A hook
--- gets an apex.HookCtx (apex.hook_ctx: a read-only copy of what plugins read,
--- made once per step, a copy of it for each call), `validate` a read-only
--- copy of the settings: nothing a hook writes reaches the deploy or another hook.
local core = require("apex.core")
local util = require("apex.util")
local hook_ctx = require("apex.hook_ctx")

local M = {}

---@class apex.ContainerPatch
---@field image string     short image name, e.g. "opendaylight"
---@field reason string
---@field ops string[]     Dockerfile instructions, one per line
---@field files? table<string, string>  files to put beside the Dockerfile (name -> content)

---@class apex.Customization
---@field op "install"|"uninstall"|"run-command"|"upload"|"remove"|"unpack"|"patch"|"write"|"mkdir"|"enable"|"drop"
---@field arg string  install/uninstall: packages; run-command: a shell line; upload: "file:/dest"; remove, write, mkdir: "/path"; unpack: "file.tar:/dir/"; patch: "file.patch:/dir" (-p1 there); enable: a unit (its wants/ link); drop: the id of a group to leave out
---@field file? string    upload, unpack, patch: the file (an artifact or a patch); with dest instead of arg
---@field dest? string    upload: the destination path; unpack: the directory; patch: the directory (-p1 there)
---@field reason string
---@field id? string        names the group it belongs to: a later owner's item with the same id replaces the group, a `drop` removes it
---@field content? string   write: the file's content
---@field mode? string      write, mkdir: octal permission mode, e.g. "0755"
---@field target? string    enable: the target that wants the unit (default multi-user.target)
---@field needs? string[]   run-command: tools the command needs in the image (checked first; a missing one fails naming it)
---@field owner? string     set by the flow: the plugin or module it came from

---@class apex.ExtraArtifact
---@field name string    file name on the artifact server (beside overcloud-full.tar), also usable as `file` in upload/unpack
---@field reason string  why the deploy wants it; without it on the server, what needs it is left out (a warning)
---@field required? boolean  without it the deploy stops, naming `reason` (the quagga tarball with vpn, the fdio patch, a created undercloud's image)

---@class apex.LoopDeviceRequest  what a plugin asks for (core.loop.create returns an apex.LoopDevice)
---@field device string        e.g. /dev/loop3
---@field backing_file string  sparse file backing it
---@field size string          e.g. 10G
---@field reason string
---@field unit_name? string    the unit re-attaching it at boot (default apex-loopN.service)
---@field purpose? string      what the device backs, said in the unit
---@field before? string[]     units that need the device attached (e.g. ceph-osd.target)

---@class apex.EnvParams
---@field parameter_defaults? table  merged into opnfv-environment.yaml (mappings merged recursively)
---@field resource_registry? table<string, string|table>  merged into opnfv-environment.yaml
---@field files? table<string, string>  whole files the plugin ships: name relative to the deploy dir -> content

---@class apex.ImagesResult
---@field driver? string   neutron driver selecting the image set ("odl", "ovn")
---@field mirror? string[] images of the set mirrored whatever services the deploy enables (short names)

---@class apex.PluginOption  a deploy option a plugin declares (deploy_options.<name>)
---@field type "boolean"|"string"|"integer"|"number"
---@field description string
---@field default? any        filled in when the settings leave it out (none: optional)
---@field valid? any[]        the values allowed (default: any value of the type)

---@class apex.Plugin
---@field name? string       set by the loader
---@field origin? string     set by the loader: where it was loaded from
---@field description string
---@field kind? "sdn"|"storage"  default "sdn"
---@field options? table<string, apex.PluginOption>  deploy options it adds
---@field validate? fun(settings: apex.DeploySettings)  a read-only copy (apex.hook_ctx)
---@field images? fun(ctx: apex.HookCtx): apex.ImagesResult
---@field patches? fun(ctx: apex.HookCtx): apex.ContainerPatch[]
---@field env_files? fun(ctx: apex.HookCtx): apex.EnvFile[]
---@field overcloud_customize? fun(ctx: apex.HookCtx): apex.Customization[]
---@field artifacts? fun(ctx: apex.HookCtx): apex.ExtraArtifact[]
---@field loop_devices? fun(ctx: apex.HookCtx): apex.LoopDeviceRequest[]
---@field env_params? fun(ctx: apex.HookCtx): apex.EnvParams

---@class apex.Scenario
---@field name string
---@field description string
---@field origin string
---@field settings table     deploy settings (same shape as the YAML)
---@field inventory? table   Apex inventory: node counts for the scales
---@field steps? table<string, fun(ctx: apex.Ctx)>  flow steps it replaces, by step name

--- The kinds of plugin: `sdn` ones are named by deploy_options.sdn_controller
--- (NO_SDN when it is false), `storage` ones by their own option (ceph).
M.KINDS = { "sdn", "storage" }
--- The SDN plugin `sdn_controller: false` selects; not a value to name.
M.NO_SDN = "nosdn"
M.OPTION_TYPES = { boolean = "true, false", string = "a non-empty string", integer = "an integer",
  number = "a number" }

--- Customization ops whose argument is a file and a destination: given as
--- `{file = ..., dest = ...}` (or the older `arg = "file:dest"`).
M.FILE_OPS = { "upload", "unpack", "patch" }

M.HOOKS = { "validate", "images", "patches", "env_files", "overcloud_customize", "loop_devices", "artifacts", "env_params" }
--- What `require` can find of the plugins, from the host (override
--- directories first, then the binary): one source of truth for listings,
--- origins and "searched" messages.
---@return {modules: {name: string, origin: string, shipped: boolean}[], searched: string[]}
local function listing()
  return core.modules.list({ kind = "plugins" })
end

--- Where plugins are searched, for messages: override dirs, then the binary.
---@return string[]
function M.search_places()
  return listing().searched
end

--- Names of every available plugin (override dirs and shipped), sorted.
---@return string[]
function M.available()
  local out = {}
  for i, m in ipairs(listing().modules) do
    out[i] = m.name
  end
  return out
end

--- Where `require` loads the plugin `name` from.
---@param name string
---@return string
local function origin_of(name)
  for _, m in ipairs(listing().modules) do
    if m.name == name then
      return m.origin
    end
  end
  return "shipped plugins/" .. name .. ".lua"
end

local function option_type_ok(ty, v)
  if ty == "integer" then return math.type(v) == "integer" end
  if ty == "string" then return type(v) == "string" and v ~= "" end
  return type(v) == ty
end

--- Checks the option declarations of a plugin (apex.PluginOption each); an
--- error names the plugin, the option and the field.
function M.check_options(name, origin, options)
  if options == nil then return end
  if type(options) ~= "table" or util.is_list(options) and next(options) ~= nil then
    util.fail("plugin %s (%s): field options: expected a mapping of option name -> {type, description, ...}", name,
      origin)
  end
  for k, o in pairs(options) do
    local at = string.format("plugin %s (%s): options.%s", name, origin, tostring(k))
    if type(k) ~= "string" or not k:match("^[%l_][%w_]*$") then
      util.fail("%s: expected a lower-case option name", at)
    end
    if type(o) ~= "table" then util.fail("%s: expected a table {type, description, default?, valid?}", at) end
    for field in pairs(o) do
      if not util.contains({ "type", "description", "default", "valid" }, field) then
        util.fail_unknown(at, tostring(field), field, { "type", "description", "default", "valid" }, "field")
      end
    end
    if not M.OPTION_TYPES[o.type] then
      util.fail("%s.type: got %s (valid: %s)", at, util.show(o.type), table.concat(util.sorted_keys(M.OPTION_TYPES), ", "))
    end
    if type(o.description) ~= "string" or o.description == "" then
      util.fail("%s.description: expected a string saying what the option does", at)
    end
    if o.valid ~= nil then
      if type(o.valid) ~= "table" or not util.is_list(o.valid) or #o.valid == 0 then
        util.fail("%s.valid: expected a non-empty list of %s values", at, o.type)
      end
      for i, v in ipairs(o.valid) do
        if not option_type_ok(o.type, v) then util.fail("%s.valid[%d]: %s is not a %s", at, i, util.show(v), o.type) end
      end
    end
    if o.default ~= nil and not (option_type_ok(o.type, o.default) and (o.valid == nil or util.contains(o.valid, o.default))) then
      util.fail("%s.default: %s is not a valid value", at, util.show(o.default))
    end
  end
end

--- The deploy options the available plugins declare, as apex.settings
--- checks options: `{check, default, owner}` by name. Every available plugin
--- counts, selected or not (Apex's settings files name ODL's options with
--- any SDN; each is validated wherever it appears); a plugin that fails to
--- load adds none (naming it as the SDN controller reports why). Two owners of
--- one option is an error naming both.
---@param core_options table<string, any>  the core options (apex.settings), which a plugin cannot redeclare
---@return table<string, {check: fun(v: any): boolean, string, default?: any, owner: string}>
function M.options(core_options)
  local out = {}
  for _, name in ipairs(M.available()) do
    local ok, plugin = pcall(M.load, name, "plugin options")
    if ok then
      for k, o in pairs(plugin.options or {}) do
        local other = core_options[k] and "apex.settings" or (out[k] and ("plugin " .. out[k].owner))
        if other then
          util.fail("plugin %s (%s): options.%s: already declared by %s", name, plugin.origin, k, other)
        end
        out[k] = {
          owner = name,
          default = o.default,
          description = o.description,
          check = function(v)
            local shown = {}
            for i, x in ipairs(o.valid or {}) do shown[i] = tostring(x) end
            local valid = o.valid and table.concat(shown, ", ") or M.OPTION_TYPES[o.type]
            return option_type_ok(o.type, v) and (o.valid == nil or util.contains(o.valid, v)), valid
          end,
        }
      end
    end
  end
  return out
end

--- The plugins `deploy_options.sdn_controller` can name: the available ones
--- of kind sdn, but the one `false` selects.
---@return string[]
function M.sdn_choices()
  local out = {}
  for _, name in ipairs(M.available()) do
    local ok, plugin = pcall(M.load, name, "plugin kinds")
    if name ~= M.NO_SDN and (not ok or (plugin.kind or "sdn") == "sdn") then out[#out + 1] = name end
  end
  return out
end

--- Loads a plugin by name. An unknown name lists the available plugins and
--- where they were searched; a plugin that fails to load names itself.
---@param name string
---@param why string  the setting that names it, for messages
---@return apex.Plugin
function M.load(name, why)
  if not name:match("^[%w_%-]+$") then
    util.fail("%s: invalid plugin name %s (valid: %s)", why, util.show(name), table.concat(M.available(), ", "))
  end
  local module = "plugins." .. name
  local ok, plugin = pcall(require, module)
  if not ok then
    local msg = util.message(plugin)
    if msg:find("module '" .. module .. "' not found", 1, true) then
      local choices = M.sdn_choices()
      util.fail("%s: unknown plugin %s (valid: %s, false; searched: %s)", why, util.show(name),
        table.concat(choices, ", "), table.concat(M.search_places(), ", "))
    end
    util.fail("plugin %s (%s) failed to load: %s", name, origin_of(name), msg)
  end
  local origin = origin_of(name)
  if type(plugin) ~= "table" then
    util.fail("plugin %s (%s): the module returned %s (expected a table of hooks)", name, origin, type(plugin))
  end
  if type(plugin.description) ~= "string" then
    util.fail("plugin %s (%s): field description: expected a string", name, origin)
  end
  if plugin.kind ~= nil and not util.contains(M.KINDS, plugin.kind) then
    util.fail("plugin %s (%s): field kind: got %s (valid: %s)", name, origin, util.show(plugin.kind),
      table.concat(M.KINDS, ", "))
  end
  M.check_options(name, origin, plugin.options)
  for _, hook in ipairs(M.HOOKS) do
    if plugin[hook] ~= nil and type(plugin[hook]) ~= "function" then
      util.fail("plugin %s (%s): field %s: expected a function, got %s", name, origin, hook, type(plugin[hook]))
    end
  end
  plugin.name, plugin.origin = name, origin
  return plugin
end

-- Shape checks of hook results: a small schema per hook.
local function fail_shape(plugin, hook, field, expected, got)
  util.fail("plugin %s (%s): hook %s returned a wrong shape: %s: expected %s, got %s", plugin.name, plugin.origin,
    hook, field, expected, got == nil and "nothing" or type(got))
end

local function check_strings(plugin, hook, field, list)
  if type(list) ~= "table" then
    fail_shape(plugin, hook, field, "a list of strings", list)
  end
  for i, s in ipairs(list) do
    if type(s) ~= "string" then
      fail_shape(plugin, hook, string.format("%s[%d]", field, i), "a string", s)
    end
  end
end

local function check_list(plugin, hook, result, fields, extra)
  if type(result) ~= "table" then
    fail_shape(plugin, hook, "result", "a list", result)
  end
  for i, item in ipairs(result) do
    local at = string.format("[%d]", i)
    if type(item) ~= "table" then
      fail_shape(plugin, hook, at, "a table", item)
    end
    for _, f in ipairs(fields) do
      if type(item[f]) ~= "string" or item[f] == "" then
        fail_shape(plugin, hook, at .. "." .. f, "a non-empty string", item[f])
      end
    end
    if extra then
      extra(item, at)
    end
  end
  return result
end

-- A file name a plugin ships: a plain relative path (no leading "/", no "."
-- or ".." parts, no empty parts, no backslash).
local function plain_relative(name)
  if type(name) ~= "string" or name == "" or name:sub(1, 1) == "/" or name:find("\\", 1, true) then
    return false
  end
  for part in (name .. "/"):gmatch("([^/]*)/") do
    if part == "" or part == "." or part == ".." then
      return false
    end
  end
  return true
end

local is_mapping = util.is_map

local ENV_PARAMS_KEYS = { "parameter_defaults", "resource_registry", "files" }

local function check_env_params(plugin, result)
  local hook = "env_params"
  if result == nil then
    return {}
  end
  if not is_mapping(result) then
    fail_shape(plugin, hook, "result", "a table {parameter_defaults?, resource_registry?, files?}", result)
  end
  for k in pairs(result) do
    if not util.contains(ENV_PARAMS_KEYS, k) then
      util.fail("plugin %s (%s): hook %s returned a wrong shape: %s: unknown key (valid: %s)", plugin.name,
        plugin.origin, hook, tostring(k), table.concat(ENV_PARAMS_KEYS, ", "))
    end
  end
  for _, k in ipairs(ENV_PARAMS_KEYS) do
    if result[k] ~= nil and not is_mapping(result[k]) then
      fail_shape(plugin, hook, k, "a mapping", result[k])
    end
    for key in pairs(result[k] or {}) do
      if type(key) ~= "string" then
        fail_shape(plugin, hook, k .. " key " .. tostring(key), "a string", key)
      end
    end
  end
  for key, v in pairs(result.resource_registry or {}) do
    if type(v) ~= "string" and type(v) ~= "table" then
      fail_shape(plugin, hook, "resource_registry." .. key, "a template path or a mapping", v)
    end
  end
  for name, content in pairs(result.files or {}) do
    if not plain_relative(name) then
      util.fail("plugin %s (%s): hook %s returned a wrong shape: files: %s is not a plain relative path "
        .. "(no leading /, no . or .. parts)", plugin.name, plugin.origin, hook, util.show(name))
    end
    if type(content) ~= "string" then
      fail_shape(plugin, hook, string.format("files[%s]", util.show(name)), "the file's content (a string)", content)
    end
  end
  return result
end

local CHECKS = {
  env_params = check_env_params,
  validate = function() return nil end,
  images = function(plugin, result)
    if result == nil then
      return {}
    end
    if type(result) ~= "table" then
      fail_shape(plugin, "images", "result", "a table {driver?, mirror?}", result)
    end
    if result.driver ~= nil and type(result.driver) ~= "string" then
      fail_shape(plugin, "images", "driver", "a string", result.driver)
    end
    if result.mirror ~= nil then
      check_strings(plugin, "images", "mirror", result.mirror)
    end
    return result
  end,
  patches = function(plugin, result)
    return check_list(plugin, "patches", result or {}, { "image", "reason" }, function(item, at)
      check_strings(plugin, "patches", at .. ".ops", item.ops)
      if item.files ~= nil and type(item.files) ~= "table" then
        fail_shape(plugin, "patches", at .. ".files", "a table name -> content", item.files)
      end
    end)
  end,
  env_files = function(plugin, result)
    return check_list(plugin, "env_files", result or {}, { "path", "reason" })
  end,
  overcloud_customize = function(plugin, result)
    -- upload, unpack and patch take `file` and `dest` as fields; the flow
    -- keeps them as one `arg` ("file:dest"), as overcloud_customize.yaml shows.
    for i, item in ipairs(type(result) == "table" and result or {}) do
      if type(item) == "table" and (item.file ~= nil or item.dest ~= nil) then
        local at = string.format("[%d]", i)
        if not util.contains(M.FILE_OPS, item.op) then
          fail_shape(plugin, "overcloud_customize", at .. ".file", "file and dest only with op "
            .. table.concat(M.FILE_OPS, ", "), item.file)
        end
        if item.arg ~= nil then
          fail_shape(plugin, "overcloud_customize", at .. ".arg", "nothing beside file and dest", item.arg)
        end
        for _, f in ipairs({ "file", "dest" }) do
          if type(item[f]) ~= "string" or item[f] == "" or item[f]:find(":", 1, true) then
            fail_shape(plugin, "overcloud_customize", at .. "." .. f, "a non-empty string without ':'", item[f])
          end
        end
        item.arg, item.file, item.dest = item.file .. ":" .. item.dest, nil, nil
      end
    end
    return check_list(plugin, "overcloud_customize", result or {}, { "op", "arg", "reason" }, function(item, at)
      for _, f in ipairs({ "id", "content", "mode", "target" }) do
        if item[f] ~= nil and type(item[f]) ~= "string" then
          fail_shape(plugin, "overcloud_customize", at .. "." .. f, "a string", item[f])
        end
      end
      if item.mode ~= nil and not item.mode:match("^0?[0-7][0-7][0-7]$") then
        fail_shape(plugin, "overcloud_customize", at .. ".mode", 'an octal permission mode such as "0755"', item.mode)
      end
      if item.needs ~= nil then check_strings(plugin, "overcloud_customize", at .. ".needs", item.needs) end
    end)
  end,
  loop_devices = function(plugin, result)
    return check_list(plugin, "loop_devices", result or {}, { "device", "backing_file", "size", "reason" }, function(item, at)
      for _, f in ipairs({ "unit_name", "purpose" }) do
        if item[f] ~= nil and type(item[f]) ~= "string" then
          fail_shape(plugin, "loop_devices", at .. "." .. f, "a string", item[f])
        end
      end
      if item.before ~= nil then check_strings(plugin, "loop_devices", at .. ".before", item.before) end
    end)
  end,
  artifacts = function(plugin, result)
    return check_list(plugin, "artifacts", result or {}, { "name", "reason" }, function(item, at)
      if item.name:find("/", 1, true) then
        fail_shape(plugin, "artifacts", at .. ".name", "a file name without '/'", item.name)
      end
    end)
  end,
}

--- Calls one hook of one plugin (if it has it) with a copy of its own of the
--- view `arg`, and checks the shape of what it returns (tables of the view it
--- returns made plain first, see apex.hook_ctx.thaw). A clean error from the hook is prefixed with the
--- plugin and hook; a bug keeps its traceback.
---@param plugin apex.Plugin
---@param hook string
---@param arg apex.HookCtx|apex.DeploySettings  the step's view (apex.hook_ctx.new), or for validate a copy of the settings
---@return any
function M.call(plugin, hook, arg)
  local f = plugin[hook]
  if not f then
    return CHECKS[hook](plugin, nil)
  end
  if hook_ctx.is_view(arg) then
    arg = hook_ctx.fresh(arg) -- the hook's own copy: what it writes, no other hook sees
  end
  local ok, result = xpcall(f, function(e)
    if util.is_user_error(e) then
      return { clean = e }
    end
    return { trace = debug.traceback(tostring(e), 2) }
  end, arg)
  if not ok then
    if result.clean then
      util.fail("plugin %s (%s): %s: %s", plugin.name, plugin.origin, hook, result.clean)
    end
    error(string.format("plugin %s (%s): hook %s raised: %s", plugin.name, plugin.origin, hook, result.trace), 0)
  end
  return CHECKS[hook](plugin, hook_ctx.thaw(result))
end

--- Calls a hook on every plugin, in order; returns {plugin, result} pairs.
---@param plugins apex.Plugin[]
---@param hook string
---@param arg apex.HookCtx|apex.DeploySettings
---@return {plugin: apex.Plugin, result: any}[]
function M.call_all(plugins, hook, arg)
  local out = {}
  for _, p in ipairs(plugins) do
    out[#out + 1] = { plugin = p, result = M.call(p, hook, arg) }
  end
  return out
end

M.OWNER_MODULES = { { name = "base", module = "apex.overcloud_base" }, { name = "dataplane", module = "apex.dataplane" } }

--- What owns overcloud image customizations and the artifacts they need:
--- the common base every deploy gets (apex.overcloud_base), the dataplane
--- (apex.dataplane), then the enabled plugins, which can replace or drop what
--- the first two give by id. The two modules are called like plugins (their
--- `overcloud_customize` and `artifacts`, shape-checked alike).
---@param enabled apex.Plugin[]
---@return apex.Plugin[]
function M.customizers(enabled)
  local out = {}
  for _, o in ipairs(M.OWNER_MODULES) do
    local mod = require(o.module)
    out[#out + 1] = { name = o.name, origin = "module " .. o.module, description = mod.description,
      overcloud_customize = mod.overcloud_customize, artifacts = mod.artifacts }
  end
  return util.extend(out, enabled)
end

--- The plugins a deployment enables: the SDN plugin (sdn_controller, or
--- nosdn when false), then ceph when deploy_options.ceph is on.
---@param settings apex.DeploySettings
---@return apex.Plugin[]
function M.enabled(settings)
  local o = settings.deploy_options
  local why = settings.source .. ": deploy_options.sdn_controller"
  local sdn = M.load(o.sdn_controller or M.NO_SDN, why)
  if (sdn.kind or "sdn") ~= "sdn" then
    util.fail("%s: plugin %s is a %s plugin, not an SDN controller (valid: %s, false)", why, sdn.name, sdn.kind,
      table.concat(M.sdn_choices(), ", "))
  end
  local out = { sdn }
  if o.ceph then
    out[#out + 1] = M.load("ceph", settings.source .. ": deploy_options.ceph")
  end
  return out
end

return M
