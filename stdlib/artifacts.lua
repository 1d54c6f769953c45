--- Cached upstream artifacts at the point of use. Every use of a cached copy
--- checks it against the sha256 recorded when it was downloaded: a tarball in
--- the read that unpacks it (hashed on a thread of its own, so it costs no
--- second read), a file used as it is (a VM's backing image, a file a
--- customization copies into the image) with one read of its own. A copy
--- that changed on disk since it was downloaded is removed and fetched again,
--- then checked once more; nothing is made from the corrupt copy.
local core = require("apex.core")
local util = require("apex.util")

local M = {}

---@class apex.Artifact
---@field path string the cached copy
---@field size integer
---@field sha256? string recorded when it was downloaded
---@field status string
---@field generation? string
---@field unpacked? string
---@field extra? boolean

---@param ctx apex.Ctx
---@param name string
---@return apex.Artifact
local function get(ctx, name)
  local a = ctx.artifacts and ctx.artifacts[name]
  if not a then util.fail("no %s fetched in step 1", name) end
  return a
end

--- A new generation of an artifact (what was made from an older one is
--- stale): how it was fetched, its size and when.
---@param fetched {status: string, size: integer}
---@return string
function M.generation(fetched)
  return string.format("%s:%d:%.3f", fetched.status, fetched.size, core.os.now().unix)
end

--- Replaces a corrupt cached copy with a new download (whatever --no-fetch
--- says: the copy cannot be used) and records its sha256.
---@param ctx apex.Ctx
---@param name string
---@param why string
---@return apex.Artifact
local function refetch(ctx, name, why)
  local a, art = get(ctx, name), ctx.infra.artifacts
  core.log.write({ level = "warn", msg = string.format("%s: %s; removing it and fetching it again from %s%s", a.path, why,
    art.url, name) })
  core.fs.remove({ path = a.path })
  local r = core.artifacts.fetch({ url = art.url .. name, dest = a.path, max_size = art.max_size })
  if r.sha256 ~= a.sha256 and a.generation then
    -- Upstream changed meanwhile: what was made from the old copy is stale.
    a.generation = M.generation(r)
  end
  a.size, a.sha256, a.status = r.size, r.sha256, r.status
  return a
end

local function corrupt_why(actual, expected)
  return string.format("its sha256 is %s, not the %s recorded when it was downloaded (it changed on disk)", actual,
    expected)
end

--- Unpacks the cached artifact `name` (a tarball) into `dest`, checking its
--- recorded sha256 in the same read; a corrupt copy is fetched again first.
---@param ctx apex.Ctx
---@param name string
---@param dest string
---@return {path: string, entries: integer, bytes: integer}
function M.unpack(ctx, name, dest)
  local a = get(ctx, name)
  local r = core.tar.unpack({ src = a.path, dest = dest, sha256 = a.sha256 })
  if r.corrupt then
    a = refetch(ctx, name, corrupt_why(r.sha256, r.expected))
    r = core.tar.unpack({ src = a.path, dest = dest, sha256 = a.sha256 })
    if r.corrupt then
      util.fail("%s: fetched again, it still does not match its sha256 (%s, recorded %s)", a.path, r.sha256, r.expected)
    end
  end
  return r
end

--- The path of the cached artifact `name` for a use that reads it as it is,
--- after checking its recorded sha256 (one read); a corrupt copy is fetched
--- again first.
---@param ctx apex.Ctx
---@param name string
---@return string
function M.checked(ctx, name)
  local a = get(ctx, name)
  if not a.sha256 then return a.path end
  local hex = core.data.sha256({ path = a.path }).hex
  if hex ~= a.sha256 then
    a = refetch(ctx, name, corrupt_why(hex, a.sha256))
    hex = core.data.sha256({ path = a.path }).hex
    if hex ~= a.sha256 then
      util.fail("%s: fetched again, it still does not match its sha256 (%s, recorded %s)", a.path, hex, a.sha256)
    end
  end
  return a.path
end

--- The cached artifacts a list of image operations reads (`from`), each
--- checked as [`M.checked`] says.
---@param ctx apex.Ctx
---@param ops apex.ImageOp[]
function M.check_used(ctx, ops)
  local by_path = {}
  for name, a in pairs(ctx.artifacts or {}) do by_path[a.path] = name end
  local seen = {}
  for _, op in ipairs(ops) do
    local name = op.from and by_path[op.from]
    if name and not seen[name] then
      seen[name] = true
      M.checked(ctx, name)
    end
  end
end

return M
