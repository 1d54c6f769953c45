--- Container images of a deployment: which images (the shipped list from
--- facts, or the source registry's catalog when one is configured and
--- reachable), where each is copied from and to, the image env file that makes
--- TripleO deploy from the local registry (`:apex` for patched images), and
--- TripleO's containers-prepare-parameter.yaml.
local core = require("apex.core")
local util = require("apex.util")

local M = {}

M.TAG = "current-tripleo"
--- TripleO's ContainerImagePrepare env file (see prepare_parameter).
M.PREPARE_FILE = "containers-prepare-parameter.yaml"
M.PATCHED_TAG = "apex"
M.NAME_PREFIX = "centos-binary-"
M.UPSTREAM_HOST = "docker.io"
--- Registries that serve no `/v2/_catalog`: Docker Hub answers it with 401
--- even to a signed-in client (a token never carries `registry:catalog:*`),
--- so asking would turn every plan from docker.io into a refusal. Apex reads
--- Hub's own web API instead (common_builder.project_to_docker_image, for
--- patches only); apex uses the shipped image list for these hosts.
M.NO_CATALOG = {
  ["docker.io"] = true,
  ["index.docker.io"] = true,
  ["registry-1.docker.io"] = true,
  ["registry.hub.docker.com"] = true,
}
M.LOCAL_REGISTRY_PORT = 8787
M.CEPH = {
  name = "daemon",
  namespace = "docker.io/ceph",
  tag = "v3.1.0-stable-3.1-luminous-centos-7-x86_64",
  params = { "DockerCephDaemonImage" },
}

---@class apex.Image
---@field name string        short name, e.g. "nova-api" (upstream centos-binary-nova-api)
---@field params string[]    THT parameters naming it in the image env file
---@field drivers string[]   neutron drivers whose set includes it: all, default, odl, ovn
---@field services string[]  TripleO services using it (the release's list; master's through Stein's, see M.stein_services)

---@class apex.ImageRef
---@field name string
---@field from string   where the image is pulled from
---@field to string     where it is stored (the undercloud's local registry)

--- The usable entries of the shipped image facts of a release: Queens,
--- Rocky and Stein from their own tripleo-common (apex.tripleo_images_releases),
--- master (and a release without facts) the spring-2019 list
--- (apex.tripleo_images). Entries whose name is not a valid image name (the
--- OpenShift images of the facts, which are not centos-binary images) and
--- the Ceph daemon (its own namespace) are left out. Master's images get
--- their services from Stein's list (M.stein_services).
---@param os_version? string  default master
---@return apex.Image[]
function M.shipped(os_version)
  local per = require("apex.tripleo_images_releases")[os_version or "master"]
  local key = per and os_version or "master"
  M._shipped = M._shipped or {}
  if M._shipped[key] then
    return M._shipped[key]
  end
  local out = {}
  local by_name, by_param
  if not per then by_name, by_param = M.stein_services() end
  for _, e in ipairs(per and per.images or require("apex.tripleo_images")) do
    if e.image:match("^[a-z][a-z0-9-]*$") and e.image ~= M.CEPH.name and #e.params > 0 then
      local services = e.services or (by_name and by_name[e.image])
      if not services and by_param then
        local seen = {}
        services = {}
        for _, p in ipairs(e.params) do
          for _, s in ipairs(by_param[p] or {}) do
            if not seen[s] then seen[s], services[#services + 1] = true, s end
          end
        end
        table.sort(services)
      end
      out[#out + 1] = { name = e.image, params = e.params, drivers = e.drivers, services = services }
    end
  end
  M._shipped[key] = out
  return out
end

--- Stein's services by image name, and by THT parameter (the services of
--- the Stein images naming it). Master's list (spring 2019) has no services;
--- master deploys Stein's THT, so an image of it takes the services of the
--- Stein image of the same name, else those of the Stein images sharing one
--- of its parameters (the parameter is what THT's service templates read).
--- An image matching neither is used by no service of Stein's THT.
---@return table<string, string[]> by_name, table<string, string[]> by_param
function M.stein_services()
  local out, names = {}, {}
  for _, e in ipairs(require("apex.tripleo_images_releases").stein.images) do
    names[e.image] = e.services
    for _, p in ipairs(e.params) do
      local list = out[p] or {}
      out[p] = list
      for _, s in ipairs(e.services) do
        if not util.contains(list, s) then list[#list + 1] = s end
      end
    end
  end
  return names, out
end

--- Where a release's image list comes from, for the plan.
---@param os_version? string
---@return string
function M.list_source(os_version)
  local per = require("apex.tripleo_images_releases")[os_version or "master"]
  if per then
    return string.format("tripleo-common %s (%s)", per.common_version, os_version)
  end
  return "apex's spring-2019 list (master)"
end

local function in_set(img, driver)
  for _, d in ipairs(img.drivers) do
    if d == "all" or d == (driver or "default") then
      return true
    end
  end
  return false
end

--- The images a deployment uses for a neutron driver (nil = no SDN driver),
--- sorted by name. With `available` (names from a catalog) only images that
--- exist upstream are kept.
---@param driver string?  "odl", "ovn" or nil
---@param available table<string, boolean>?
---@param os_version? string  the release whose list (default master)
---@return apex.Image[]
function M.image_set(driver, available, os_version)
  local out = {}
  for _, img in ipairs(M.shipped(os_version)) do
    if in_set(img, driver) and (not available or available[img.name]) then
      out[#out + 1] = img
    end
  end
  return out
end

--- The images of the release's full list that only other neutron drivers
--- use, sorted by name, each with only the services that no image of the
--- driver's set names: apex never mirrors them for this driver, so such a
--- service must not be enabled (apex.services.misses). An image sharing a
--- THT parameter with one of the driver's set is that driver's variant of it
--- (neutron-server beside neutron-server-opendaylight: THT's services read
--- the parameter, which the driver's image fills), not left out.
---@param driver string?
---@param os_version? string
---@return apex.Image[]
function M.others(driver, os_version)
  local served, params, out = {}, {}, {}
  for _, img in ipairs(M.shipped(os_version)) do
    if in_set(img, driver) then
      for _, s in ipairs(img.services or {}) do served[s] = true end
      for _, p in ipairs(img.params) do params[p] = true end
    end
  end
  for _, img in ipairs(M.shipped(os_version)) do
    local variant = false
    for _, p in ipairs(img.params) do variant = variant or params[p] == true end
    if not in_set(img, driver) and not variant then
      local services = {}
      for _, s in ipairs(img.services or {}) do
        if not served[s] then services[#services + 1] = s end
      end
      if #services > 0 then
        out[#out + 1] = { name = img.name, params = img.params, drivers = img.drivers, services = services }
      end
    end
  end
  return out
end

--- The images of the shipped list (for the driver) that the source
--- registry's catalog lacks: their THT parameters are not written to the
--- image env file, so they stay at THT's defaults.
---@param driver? string
---@param available table<string, boolean>
---@param os_version? string
---@return apex.Image[]
function M.missing(driver, available, os_version)
  local out = {}
  for _, img in ipairs(M.shipped(os_version)) do
    if in_set(img, driver) and not available[img.name] then out[#out + 1] = img end
  end
  return out
end

--- The namespace of a TripleO release: tripleo<os_version>.
---@param os_version string
---@return string
function M.namespace(os_version)
  return "tripleo" .. os_version
end

--- The registry host (and port) of a registry URL.
---@param url string
---@return string
function M.host_of(url)
  return (url:gsub("^https?://", ""):gsub("/.*$", ""))
end

--- Reads the source registry's catalog and returns the short names of the
--- release's centos-binary images as a set, or nil and why it could not
--- (unreachable, no catalog API). It goes through the registry client, with
--- the credentials (and token auth) the copies use; a registry that refuses
--- them (HTTP 401 or 403) is an error, not a fallback: with the shipped list
--- every image it lacks would be reported missing for the wrong reason.
---@async
---@param opts {registry: string, namespace: string, registries?: apex.RegistrySettings}
---@return table<string, boolean>?, string?
function M.catalog(opts)
  local prefix = opts.namespace .. "/" .. M.NAME_PREFIX
  local host = M.host_of(opts.registry)
  if M.NO_CATALOG[host:lower()] then
    return nil, "not offered by " .. host .. " (Docker Hub has no catalog API)"
  end
  local settings = util.deep_copy(opts.registries or {})
  settings.attempts = settings.attempts or 2 -- a catalog that does not answer falls back, soon
  if opts.registry:match("^http://") then
    settings.insecure = settings.insecure or {}
    settings.insecure[#settings.insecure + 1] = host
  end
  local ok, r = pcall(core.registry.catalog, { registry = host, registries = settings })
  if not ok then
    local msg = (util.message(r):gsub("^registry%.catalog: ", ""))
    local status = msg:match("HTTP (40[13])")
    if status then
      util.fail("source registry %s refused its catalog (HTTP %s): %s", host, status, msg)
    end
    return nil, "unreachable: " .. msg
  end
  local out = {}
  for _, repo in ipairs(r.repositories) do
    if repo:sub(1, #prefix) == prefix then
      out[repo:sub(#prefix + 1)] = true
    end
  end
  return out
end

--- When an upstream image was built (unix seconds), from its image config in
--- the source registry; nil and why when it cannot be read.
---@async
---@param opts {registry: string, repo: string, tag: string}
---@return integer?, string?
function M.created(opts)
  local accept = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json"
  local url = string.format("%s/v2/%s/manifests/%s", opts.registry, opts.repo, opts.tag)
  local ok, resp = pcall(core.http.get, { url = url, headers = { Accept = accept }, timeout = 5 })
  if not ok or resp.status ~= 200 then
    return nil, "manifest " .. url .. " not readable"
  end
  local manifest = core.json.load({ text = resp.body, name = url })
  local digest = manifest.config and manifest.config.digest
  if not digest then
    return nil, "manifest " .. url .. " has no config digest"
  end
  local blob_url = string.format("%s/v2/%s/blobs/%s", opts.registry, opts.repo, digest)
  local okb, blob = pcall(core.http.get, { url = blob_url, timeout = 5 })
  if not okb or blob.status ~= 200 then
    return nil, "image config " .. blob_url .. " not readable"
  end
  local config = core.json.load({ text = blob.body, name = blob_url })
  local t = util.utc_seconds(config.created or "")
  if not t then
    return nil, "image config " .. blob_url .. " has no created time"
  end
  return t
end

--- Images of a project (python patches): `nova` matches nova-api, nova-compute
--- ... but not novajoin-server (another project).
---@param project string  short name, e.g. "nova" (from "openstack/nova")
---@param names string[]  candidate image names
---@return string[]
function M.project_images(project, names)
  local out = {}
  for _, n in ipairs(names) do
    if n == project or n:sub(1, #project + 1) == project .. "-" then
      out[#out + 1] = n
    end
  end
  table.sort(out)
  return out
end

--- The repository of an image in the local registry, e.g.
--- `tripleomaster/centos-binary-nova-api`.
---@param site apex.ImageSite
---@param name string
---@return string
function M.repository(site, name)
  return site.namespace .. "/" .. M.NAME_PREFIX .. name
end

--- The tag a rebuild pushes beside `tag` (default `apex`) so the manifest can
--- still be found once `tag` moved on to the next rebuild (the distribution
--- API cannot list untagged manifests): `<tag>-<first 12 hex of the digest>`.
--- `apex registry prune` deletes the ones no deploy state names.
---@param digest string  `sha256:...`
---@param tag string?
---@return string
function M.history_tag(digest, tag)
  local hex = digest:gsub("^sha256:", "")
  return (tag or M.PATCHED_TAG) .. "-" .. hex:sub(1, 12)
end

--- Whether `candidate` is the rebuild tag `tag` (default `apex`) or one of its
--- history tags.
---@param candidate string
---@param tag string?
---@return boolean
function M.is_rebuild_tag(candidate, tag)
  tag = tag or M.PATCHED_TAG
  if candidate == tag then return true end
  if candidate:sub(1, #tag + 1) ~= tag .. "-" then return false end
  local rest = candidate:sub(#tag + 2)
  return #rest == 12 and rest:match("^%x+$") ~= nil
end

---@class apex.ImageSite
---@field upstream string   registry host and namespace, e.g. docker.io/tripleomaster
---@field local_registry string  e.g. 192.0.2.1:8787
---@field namespace string  e.g. tripleomaster

--- Where an image comes from and goes to.
---@param site apex.ImageSite
---@param name string
---@param tag string?  default current-tripleo
---@return apex.ImageRef
function M.ref(site, name, tag)
  local repo = M.NAME_PREFIX .. name .. ":" .. (tag or M.TAG)
  return {
    name = name,
    from = site.upstream .. "/" .. repo,
    to = site.local_registry .. "/" .. site.namespace .. "/" .. repo,
  }
end

--- The copy list: every image of the set plus the Ceph daemon when Ceph is on.
---@param site apex.ImageSite
---@param set apex.Image[]
---@param ceph boolean
---@return apex.ImageRef[]
function M.copy_list(site, set, ceph)
  local out = {}
  for _, img in ipairs(set) do
    out[#out + 1] = M.ref(site, img.name)
  end
  if ceph then
    local c = M.CEPH
    out[#out + 1] = {
      name = "ceph/" .. c.name,
      from = c.namespace .. "/" .. c.name .. ":" .. c.tag,
      to = site.local_registry .. "/ceph/" .. c.name .. ":" .. c.tag,
    }
  end
  return out
end

--- The image env file: every THT parameter of the set names the image in the
--- local registry, with the `apex` tag for patched images. When two images
--- claim one parameter, the driver-specific image wins (neutron-server-ovn
--- over ironic-neutron-agent for DockerNeutronConfigImage).
---@param site apex.ImageSite
---@param set apex.Image[]
---@param patched table<string, boolean>
---@param ceph boolean
---@return table  {parameter_defaults = {...}}
function M.env_file(site, set, patched, ceph)
  local params, owner_specific = {}, {}
  for _, img in ipairs(set) do
    local specific = not util.contains(img.drivers, "all")
    local ref = M.ref(site, img.name, patched[img.name] and M.PATCHED_TAG or M.TAG).to
    for _, p in ipairs(img.params) do
      if params[p] == nil or (specific and not owner_specific[p]) then
        params[p] = ref
        owner_specific[p] = specific
      end
    end
  end
  if ceph then
    local c = M.CEPH
    for _, p in ipairs(c.params) do
      params[p] = site.local_registry .. "/ceph/" .. c.name .. ":" .. c.tag
    end
  end
  params.DockerInsecureRegistryAddress = { site.local_registry }
  return { parameter_defaults = params }
end

--- TripleO's ContainerImagePrepare parameter for the same set: pull from
--- upstream, push to the local registry; patched images are excluded because
--- apex builds and pushes them itself.
---@param site apex.ImageSite
---@param driver string?
---@param patched table<string, boolean>
---@param ceph boolean
---@return table
function M.prepare_parameter(site, driver, patched, ceph)
  local set = {
    namespace = site.upstream,
    name_prefix = M.NAME_PREFIX,
    name_suffix = "",
    tag = M.TAG,
    neutron_driver = driver,
  }
  if ceph then
    set.ceph_namespace = M.CEPH.namespace
    set.ceph_image = M.CEPH.name
    set.ceph_tag = M.CEPH.tag
  end
  local entry = { push_destination = site.local_registry, set = set }
  local excludes = util.sorted_keys(patched)
  if #excludes > 0 then
    entry.excludes = excludes
  end
  return { parameter_defaults = { ContainerImagePrepare = { entry } } }
end

return M
