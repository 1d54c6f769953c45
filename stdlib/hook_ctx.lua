--- The hook context (`apex.HookCtx`): what a plugin hook reads of a deploy,
--- and nothing it could change the deploy with.
---
--- The flow's own context (`apex.Ctx`) holds the enabled plugins, the
--- registered actions, the Dockerfiles being built and the state of every
--- step; a hook handed that table could rewrite any of it. A hook gets a
--- view instead: the facts a plugin reads (the validated settings, the
--- network, the sites, the THT release, the environment of the deploy),
--- made by the flow once per step (`new`, before the step's first hook) as a
--- deep copy of plain data; every hook call then gets a copy of that view
--- of its own (apex.plugins.call), so one hook cannot change what another
--- sees either. The view's tables are ordinary tables, so `next`, `pairs`,
--- `ipairs` and `#` work on them as on any other (a proxy would break
--- `next`); what a hook writes into them stays in its copy:
---
--- - adding a key to any table of the view raises a clean error naming the
---   key (`ctx.settings.deploy_options.x: ...`), through a `__newindex`
---   every table of the view carries;
--- - assigning a key that exists changes the hook's own copy only: neither
---   the flow nor any other hook (of this plugin or another) sees it, and
---   the hook itself sees it until it returns (so does a key added with
---   `rawset`, which skips the guard). A hook returns what it wants, it
---   writes nothing.
---
--- Tables of the view a hook returns (say a settings list it passes through)
--- are made plain again by `thaw` before the flow checks the result: they
--- can be changed by the flow like any the hook built, and lists keep their
--- `core.data.array` mark (an empty one is still written as `[]`).
local core = require("apex.core")
local util = require("apex.util")

local M = {}

---@class apex.HookCtx
---@field settings apex.DeploySettings  validated deploy settings: `deploy_options` with defaults filled in (the plugins' own options too), `source` naming the file
---@field network apex.NetworkSettings  validated network settings (domain, networks and their NICs, proxies, NTP)
---@field uc_ip string                  the undercloud's address on the admin network
---@field site apex.ImageSite           where the images come from and go: upstream registry/namespace, the local registry
---@field infra apex.Site               the site settings (-s): undercloud, registries, artifact server, `ceph.loop_size`, `source` naming the file
---@field release apex.HookRelease     the tripleo-heat-templates release deployed (the os_version's)
---@field env apex.EnvContext           the deploy's environment: virtual or baremetal, the scales, the libvirt type, the Ceph image in the local registry

---@class apex.HookRelease  what a plugin reads of an apex.ThtRelease (apex.tht_releases)
---@field release string        the TripleO release whose THT is deployed (master deploys Stein's)
---@field tht_version string    tripleo-heat-templates version
---@field ml2_default string    NeutronMechanismDrivers when no env file sets it (ovn, openvswitch)
---@field env_files string[]    the THT env files of the release (relative to environments/), sorted
---@field storage_registry table<string, string>  storage-environment.yaml's resource_registry

--- How deep the copied data may nest (settings are a few levels deep; a
--- deeper structure is a bug in the flow, not data).
M.MAX_DEPTH = 32

-- Tables of views, weakly: what each one is (its path, whether a list).
local info = setmetatable({}, { __mode = "k" })

local ARRAY_MT = getmetatable(core.data.array())

--- `path` followed by `key` as Lua would write it.
---@param path string
---@param key any
---@return string
function M.key_path(path, key)
  if type(key) == "string" and key:match("^[%a_][%w_]*$") then
    return path .. "." .. key
  end
  if type(key) == "string" then
    return string.format("%s[%q]", path, key)
  end
  return path .. "[" .. tostring(key) .. "]"
end

local FROZEN = {
  __newindex = function(t, k)
    util.fail("%s: the hook context is read-only (a copy of the deploy's data): a hook returns what it wants, "
      .. "it cannot add keys", M.key_path(info[t] and info[t].path or "ctx", k))
  end,
  -- setmetatable from a hook cannot lift the guard
  __metatable = "apex.HookCtx (read-only)",
}

local function copy(v, path, seen, depth)
  local kind = type(v)
  if kind == "function" or kind == "thread" or (kind == "userdata" and getmetatable(v) ~= nil) then
    error(string.format("hook context: %s is a %s, not plain data", path, kind), 0)
  end
  if kind ~= "table" then
    return v -- strings, numbers, booleans, the YAML null
  end
  if seen[v] then
    return seen[v]
  end
  if depth > M.MAX_DEPTH then
    error(string.format("hook context: %s nests deeper than %d tables", path, M.MAX_DEPTH), 0)
  end
  local array
  if info[v] then
    array = info[v].array -- a table of a view: copied like the data it came from
  else
    local mt = getmetatable(v)
    if mt ~= nil and mt ~= ARRAY_MT then
      error(string.format("hook context: %s is a table with a metatable, not plain data", path), 0)
    end
    array = mt == ARRAY_MT
  end
  local out = {}
  seen[v] = out
  for k, x in next, v do
    out[copy(k, path, seen, depth + 1)] = copy(x, M.key_path(path, k), seen, depth + 1)
  end
  info[out] = { path = path, array = array }
  return setmetatable(out, FROZEN)
end

--- A read-only deep copy of plain data (tables, strings, numbers, booleans)
--- or of a view, as the view's tables are: used for what `validate` gets and
--- for each hook call's own copy of the step's view. A function, a table
--- with a metatable of its own, or nesting deeper than M.MAX_DEPTH is a bug
--- in the flow and raises.
---@generic T
---@param value T
---@param name string  the path errors name (e.g. "settings")
---@return T
function M.copy(value, name)
  return copy(value, name, {}, 0)
end

--- Whether `t` is a table of a view (or of M.copy).
---@param t any
---@return boolean
function M.is_view(t)
  return info[t] ~= nil
end

--- A copy of a view (or of M.copy's result) for one hook call, named as
--- the original (apex.plugins.call gives each hook its own).
---@generic T
---@param view T
---@return T
function M.fresh(view)
  return copy(view, info[view].path, {}, 0)
end

--- The view of the flow's context for the hooks of one step: made by the
--- step before its first hook call and handed to each of them (each gets a
--- copy of its own from apex.plugins.call).
---@param ctx apex.Ctx
---@return apex.HookCtx
function M.new(ctx)
  local rel = require("apex.tht").release(ctx.settings.deploy_options.os_version)
  return M.copy({
    settings = ctx.settings,
    network = ctx.network,
    uc_ip = ctx.uc_ip,
    site = ctx.site,
    infra = ctx.infra,
    release = { release = rel.release, tht_version = rel.tht_version, ml2_default = rel.ml2_default,
      env_files = rel.env_files, storage_registry = rel.storage_registry },
    env = require("apex.opnfv_env").env_context(ctx),
  }, "ctx")
end

local function thaw(v, seen, depth)
  if type(v) ~= "table" then
    return v
  end
  if seen[v] then
    return seen[v]
  end
  if depth > M.MAX_DEPTH * 4 then
    util.fail("a hook's result nests deeper than %d tables", M.MAX_DEPTH * 4)
  end
  local i = info[v]
  local out = v
  if i then
    out = i.array and core.data.array() or {}
  end
  seen[v] = out
  for k, x in next, v do
    local y = thaw(x, seen, depth + 1)
    if i then
      out[k] = y
    elseif y ~= x then
      rawset(out, k, y)
    end
  end
  return out
end

--- What a hook returned, with every table of a view in it replaced by a
--- plain copy (a list keeps its core.data.array mark); the hook's own tables are
--- kept as they are.
---@generic T
---@param result T
---@return T
function M.thaw(result)
  return thaw(result, {}, 0)
end

return M
