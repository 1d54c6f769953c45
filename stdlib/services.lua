--- The TripleO services a deploy enables, and which container images that
--- makes it need. TripleO's own container-image prepare filters its image
--- list the same way (tripleo-common's build_service_filter): the services of
--- every role deployed (count above 0), minus those the resource registry
--- maps to OS::Heat::None or to a template under puppet/services (no
--- container); an image is kept when one of its services is enabled.
---
--- apex computes the set offline from the release's facts (apex.tht_releases:
--- roles_data.yaml's roles, the default resource registry, each THT env
--- file's resource_registry) and the resource_registry of the env files apex
--- writes, in the deploy command's order (a later file wins), with
--- roles_data.yaml as apex leaves it (the Ceph OSD on Controller and Compute)
--- and the command's scales as the Controller and Compute counts. The plan
--- therefore mirrors what the run mirrors; the preflight (apex.preflight)
--- computes the set again from the undercloud's own THT and refuses a
--- service enabled there whose image was not mirrored. A service that only
--- another neutron driver's images use (OVNController on an ML2/OVS deploy:
--- Stein's THT enables it unless an env file switches it off) is an error
--- at plan time and in the preflight, naming service, role and image (see
--- M.misses). Not modelled: a `<Role>Services` or `<Role>Count` parameter
--- in an env file (the preflight catches what that enables).
local core = require("apex.core")
local util = require("apex.util")

local M = {}

M.PREFIX = "OS::TripleO::Services::"
--- The service apex adds to the Controller and Compute roles of
--- roles_data.yaml (Apex's deploy: Ceph OSDs on those roles, no storage role).
M.CEPH_OSD = M.PREFIX .. "CephOSD"
M.CEPH_OSD_ROLES = { Controller = "OS::TripleO::Services::CephRbdMirror", Compute = "OS::TripleO::Services::NovaCompute" }

--- Whether a resource_registry target runs no container for the service.
---@param target string
---@return boolean
function M.off(target)
  return target == "OS::Heat::None" or target:find("puppet/services/", 1, true) ~= nil
end

---@alias apex.ServiceLayer table<string, boolean>  service -> on (true) or off (false)

--- The services a resource_registry maps, as a layer.
---@param reg table?
---@return apex.ServiceLayer
function M.layer(reg)
  local out = {}
  if type(reg) ~= "table" then return out end
  for k, v in pairs(reg) do
    if type(k) == "string" and k:sub(1, #M.PREFIX) == M.PREFIX and type(v) == "string" then
      out[k] = not M.off(v)
    end
  end
  return out
end

--- The layer of an env file's text (its resource_registry).
---@param text string
---@param source string
---@return apex.ServiceLayer
function M.text_layer(text, source)
  local ok, doc = pcall(core.yaml.load, { text = text, name = source })
  if not ok then
    -- PyYAML lets a later duplicate key win (see apex.preflight.last_registry).
    doc = require("apex.preflight").last_registry(text)
  end
  return M.layer(type(doc) == "table" and doc.resource_registry or nil)
end

--- The layer of a release's default resource registry.
---@param rel apex.ThtRelease
---@return apex.ServiceLayer
function M.default_layer(rel)
  local out = {}
  for _, s in ipairs(rel.registry_off or {}) do out[M.PREFIX .. s] = false end
  return out
end

--- The layer of a THT env file (relative to environments/) from the
--- release's facts; nil when the release has no such file.
---@param rel apex.ThtRelease
---@param path string
---@return apex.ServiceLayer?
function M.env_layer(rel, path)
  if not util.contains(rel.env_files, path) then return nil end
  local e, out = (rel.env_services or {})[path] or {}, {}
  for _, s in ipairs(e.on or {}) do out[M.PREFIX .. s] = true end
  for _, s in ipairs(e.off or {}) do out[M.PREFIX .. s] = false end
  return out
end

---@class apex.Role
---@field name string
---@field count integer
---@field services string[]  full names

--- Roles as apex leaves roles_data.yaml: the Ceph OSD service on Controller
--- and Compute (before the service CEPH_OSD_ROLES names), nowhere else.
---@param roles apex.Role[]
---@return apex.Role[]
function M.apex_roles(roles)
  local out = {}
  for i, r in ipairs(roles) do
    local list = {}
    for _, s in ipairs(r.services) do
      if s ~= M.CEPH_OSD then list[#list + 1] = s end
    end
    local anchor = M.CEPH_OSD_ROLES[r.name]
    if anchor then
      local at = #list + 1
      for j, s in ipairs(list) do
        if s == anchor then at = j break end
      end
      table.insert(list, at, M.CEPH_OSD)
    end
    out[i] = { name = r.name, count = r.count, services = list }
  end
  return out
end

--- A release's roles (roles_data.yaml of its THT), as apex leaves them.
---@param rel apex.ThtRelease
---@return apex.Role[]
function M.release_roles(rel)
  local roles = {}
  for i, r in ipairs(rel.roles or {}) do
    local list = {}
    for j, s in ipairs(r.services) do list[j] = M.PREFIX .. s end
    roles[i] = { name = r.name, count = r.count, services = list }
  end
  return M.apex_roles(roles)
end

--- Roles from a roles_data.yaml document (a list of roles).
---@param doc table
---@return apex.Role[]
function M.roles_of(doc)
  local out = {}
  for _, r in ipairs(type(doc) == "table" and doc or {}) do
    if type(r) == "table" and type(r.name) == "string" then
      local list = {}
      for _, s in ipairs(type(r.ServicesDefault) == "table" and r.ServicesDefault or {}) do
        if type(s) == "string" then list[#list + 1] = s end
      end
      out[#out + 1] = { name = r.name, count = math.tointeger(tonumber(r.CountDefault or 0)) or 0, services = list }
    end
  end
  return M.apex_roles(out)
end

--- The enabled services: those of the roles deployed (`counts` by role
--- name, else the role's own count), unless the last layer mapping them
--- says off. Returns service -> the first role deploying it.
---@param roles apex.Role[]
---@param counts table<string, integer>
---@param layers apex.ServiceLayer[]  in order, a later one wins
---@return table<string, string>
function M.enabled(roles, counts, layers)
  local final = {}
  for _, l in ipairs(layers) do
    for s, on in pairs(l) do final[s] = on end
  end
  local out = {}
  for _, r in ipairs(roles) do
    local count = counts[r.name] or r.count
    if count > 0 then
      for _, s in ipairs(r.services) do
        if final[s] ~= false and not out[s] then out[s] = r.name end
      end
    end
  end
  return out
end

--- The role counts of a deploy: its scales for Controller and Compute.
---@param scales apex.Scales
---@return table<string, integer>
function M.counts(scales)
  return { Controller = scales.control, Compute = scales.compute }
end

--- The layers of the deploy's env files, from the plan alone: apex's own
--- files (and the THT files it installs its copy of) from their text, THT's
--- from the release's facts. A THT file the release has no facts about (a
--- plugin's own) cannot be read offline: it is returned in `unknown` (the
--- preflight reads it on the undercloud).
---@param ctx apex.Ctx
---@return apex.ServiceLayer[] layers, string[] unknown
function M.deploy_layers(ctx)
  local tht = require("apex.tht")
  local layers, unknown = { M.default_layer(ctx.tht_release) }, {}
  -- The command names THT files in the site's THT dir (apex.tht.on_site).
  local prefix = tht.on_site(tht.ENV_DIR, ctx.infra.undercloud.tht_dir) .. "/"
  for _, e in ipairs(ctx.env_files) do
    local base = e.path:match("([^/]+)$")
    if e["local"] then
      if ctx.files[e.path] then layers[#layers + 1] = M.text_layer(ctx.files[e.path], e.path) end
    elseif ctx.files[base] then
      layers[#layers + 1] = M.text_layer(ctx.files[base], base)
    else
      local l = e.path:sub(1, #prefix) == prefix and M.env_layer(ctx.tht_release, e.path:sub(#prefix + 1))
      if l then layers[#layers + 1] = l else unknown[#unknown + 1] = e.path end
    end
  end
  return layers, unknown
end

--- Whether an image is used by an enabled service; the first such service.
---@param img apex.Image
---@param enabled table<string, string>
---@return string?
function M.user(img, enabled)
  for _, s in ipairs(img.services or {}) do
    if enabled[s] then return s end
  end
  return nil
end

---@class apex.ServiceMiss
---@field service string
---@field role string
---@field image string     short name
---@field drivers string[] the image's neutron drivers
---@field other boolean    the image is only in other drivers' lists

--- The enabled services whose image apex does not mirror: an image of the
--- driver's list (`candidates`) an enabled service uses that is not in
--- `mirrored` (the first such service); then each enabled service of an
--- image only other drivers use (`others`, apex.images.others: services no
--- image of the driver's list names), the first such image: apex never
--- mirrors it and TripleO would pull it.
---@param enabled table<string, string>  service -> role
---@param candidates apex.Image[]
---@param others apex.Image[]
---@param mirrored table<string, any>  short names mirrored
---@return apex.ServiceMiss[]
function M.misses(enabled, candidates, others, mirrored)
  local out, seen = {}, {}
  for _, img in ipairs(candidates) do
    local s = M.user(img, enabled)
    if s and not mirrored[img.name] then
      out[#out + 1] = { service = s, role = enabled[s], image = img.name, drivers = img.drivers, other = false }
    end
  end
  for _, img in ipairs(others) do
    for _, s in ipairs(img.services or {}) do
      if enabled[s] and not seen[s] then
        seen[s] = true
        out[#out + 1] = { service = s, role = enabled[s], image = img.name, drivers = img.drivers, other = true }
      end
    end
  end
  return out
end

--- One line for a miss; `where` says what enables the service (the
--- undercloud's THT dir, or the plan's env files).
---@param m apex.ServiceMiss
---@param where string
---@param driver? string  the deploy's neutron driver
---@return string
function M.miss_line(m, where, driver)
  local image = require("apex.images").NAME_PREFIX .. m.image
  if m.other then
    return string.format("service %s (role %s, enabled in %s) uses image %s, which is in the image list of neutron "
      .. "driver %s only, not of this deploy's (%s): apex does not mirror it and the deploy would pull it from "
      .. "outside (an env file must map the service to OS::Heat::None)", m.service, m.role, where, image,
      table.concat(m.drivers or {}, ", "), driver or "default")
  end
  return string.format("service %s (role %s, enabled in %s) uses image %s, which apex did not mirror: the deploy "
    .. "would pull it from outside (set registries.mirror_all in the site settings to mirror every image)",
    m.service, m.role, where, image)
end

---@class apex.MirrorSelection
---@field set apex.Image[]   the images mirrored, sorted by name
---@field total integer      the images of the release's list for the driver
---@field all boolean        site registries.mirror_all
---@field enabled table<string, string>  enabled service -> role
---@field kept table<string, string>   image -> why it is mirrored (a service, or the plugin/patch naming it)
---@field unknown string[]  env files whose services could not be read offline
---@field others apex.Image[]  the release's images of other neutron drivers
---@field misses apex.ServiceMiss[]  enabled services whose image is not mirrored (see M.misses)

--- The images a deploy mirrors: those of `candidates` an enabled service
--- uses, plus `named` (image -> why: patched images, images a plugin names);
--- every candidate with `all`.
---@param candidates apex.Image[]
---@param enabled table<string, string>
---@param named table<string, string>
---@param all boolean
---@return apex.Image[] set, table<string, string> kept
function M.select(candidates, enabled, named, all)
  local set, kept = {}, {}
  for _, img in ipairs(candidates) do
    local why = all and "registries.mirror_all" or named[img.name]
    if not why then
      local s = M.user(img, enabled)
      why = s and ("service " .. s)
    end
    if why then
      set[#set + 1] = img
      kept[img.name] = why
    end
  end
  return set, kept
end

--- The mirror selection of a deploy (step 8, once the env files are known).
---@param ctx apex.Ctx
---@param named table<string, string>  image -> why, mirrored whatever the services
---@return apex.MirrorSelection
function M.selection(ctx, named)
  local layers, unknown = M.deploy_layers(ctx)
  local enabled = M.enabled(M.release_roles(ctx.tht_release), M.counts(ctx.scales), layers)
  local all = ctx.infra.registries.mirror_all == true
  local set, kept = M.select(ctx.image_set, enabled, named, all)
  local others = require("apex.images").others(ctx.driver, ctx.settings.deploy_options.os_version)
  return { set = set, total = #ctx.image_set, all = all, enabled = enabled, kept = kept, unknown = unknown,
    others = others, misses = M.misses(enabled, ctx.image_set, others, kept) }
end

--- One line for the plan: how many images of the list are mirrored and why.
---@param sel apex.MirrorSelection
---@return string
function M.label(sel)
  if sel.all then
    return string.format("mirror: %d of %d images (site registries.mirror_all)", #sel.set, sel.total)
  end
  return string.format("mirror: %d of %d images (services of the deploy; site registries.mirror_all for all)",
    #sel.set, sel.total)
end

return M
