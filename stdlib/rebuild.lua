--- The patched-image rebuild of step 8d over the engine and registry
--- primitives: for each patched image, its base is pulled from the local
--- registry (for the image's own user: the Dockerfile switches to root and
--- back to `$REAL_USER`), the image is built from its directory, pushed as
--- `:apex` (the engine puts the tag last, so a push cut short leaves no tag
--- at a half-pushed image), then named with its history tag too
--- (`images.history_tag`) so `apex registry prune` can find it once `:apex`
--- moves on. A few images at once; one failure does not stop the others.
local core = require("apex.core")
local util = require("apex.util")
local images = require("apex.images")
local dockerfile = require("apex.dockerfile")

local M = {}

--- Images built at once (each a pull, a build and a push on the engine).
M.CONCURRENCY = 2

---@class apex.Rebuilt
---@field name string    short name, e.g. "nova-api"
---@field image string   the pushed image, `host:port/repo:apex`
---@field source string  the base it was built from
---@field user string    the REAL_USER it was built with (`""`: root)
---@field digest string  the manifest digest pushed

---@class apex.RebuildRun
---@field site apex.ImageSite  where the images are (the local registry and namespace)
---@field images string[]      short names of the patched images, e.g. "nova-api"
---@field stage string         directory holding `<image>/Dockerfile` (and its files) per image
---@field engine? apex.EngineSettings
---@field registries? apex.RegistrySettings
---@field concurrency? integer default M.CONCURRENCY
---@field on_built? fun(image: string, built: apex.Rebuilt)  called as each one is pushed

--- One image: nil when its base is not in the local registry.
---@param o apex.RebuildRun
---@param img string
---@return apex.Rebuilt?
local function build_one(o, img)
  local reg, repo = o.site.local_registry, images.repository(o.site, img)
  local source, target = images.ref(o.site, img).to, images.ref(o.site, img, images.PATCHED_TAG).to
  if not core.registry.digest({ registry = reg, repository = repo, reference = images.TAG,
        registries = o.registries }).digest then
    return nil
  end
  local base = core.engine.pull({ image = source, engine = o.engine })
  core.engine.build({ context = util.path(o.stage, img), tag = target, build_args = dockerfile.build_args(base.user),
    engine = o.engine })
  local pushed = core.engine.push({ image = target, engine = o.engine })
  core.registry.put_tag({ registry = reg, repository = repo, digest = pushed.digest,
    tag = images.history_tag(pushed.digest), registries = o.registries })
  return { name = img, image = target, source = source, user = base.user, digest = pushed.digest }
end

--- Rebuilds `o.images`; returns what was pushed (sorted by image), the
--- images whose base the local registry lacks, and the failures.
---@param o apex.RebuildRun
---@return {rebuilt: apex.Rebuilt[], missing: string[], failed: {name: string, error: string}[]}
function M.patched(o)
  local done = 0
  local results = core.parallel.map(o.images, function(img)
    local ok, built = pcall(build_one, o, img)
    done = done + 1
    if ok and built then
      core.log.write({ level = "debug", msg = string.format("rebuilt %s (%s, REAL_USER %s) [%d/%d]", built.image,
        built.digest, built.user == "" and "root" or built.user, done, #o.images) })
      if o.on_built then o.on_built(img, built) end
      return { img = img, built = built }
    elseif ok then
      return { img = img, missing = true }
    end
    local msg = util.message(built)
    core.log.write({ level = "error", msg = string.format("rebuilding %s: %s", img, msg) })
    return { img = img, error = msg }
  end, { limit = o.concurrency or M.CONCURRENCY })
  local out = { rebuilt = core.data.array(), missing = core.data.array(), failed = core.data.array() }
  for _, r in ipairs(results) do
    if r.built then
      out.rebuilt[#out.rebuilt + 1] = r.built
    elseif r.missing then
      out.missing[#out.missing + 1] = r.img
    else
      out.failed[#out.failed + 1] = { name = r.img, error = r.error }
    end
  end
  table.sort(out.rebuilt, function(a, b) return a.image < b.image end)
  return out
end

return M
