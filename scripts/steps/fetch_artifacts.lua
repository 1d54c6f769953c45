--- Step 1: the upstream artifacts (overcloud-full.tar, ironic-python-agent.tar
--- and what plugins ask for) checked against the artifact server and
--- downloaded only when newer than the cached copy (the extras the overcloud
--- image's customizations need too: plugins, dataplane); tar artifacts unpacked
--- into <tmp>/images when a new copy came.
local core = require("apex.core")
local util = require("apex.util")
local plugins = require("apex.plugins")
local hook_ctx = require("apex.hook_ctx")
local runner = require("apex.runner")
local plan = require("apex.plan")
local artifacts = require("apex.artifacts")

---@type apex.Step
local M = { number = 1, name = "fetch_artifacts", summary = "upstream artifacts into the cache (only when newer)" }

M.ARTIFACTS = { "overcloud-full.tar", "ironic-python-agent.tar" }
M.UNDERCLOUD_IMAGE = "undercloud.qcow2"

local function exists(path)
  return core.fs.exists({ path = path }).exists
end

--- The action: fetch (304 when unchanged) and unpack what is new. Each
--- artifact's `generation` changes only when a new copy was downloaded, so
--- later steps can tell. Plugin extras are fetched, not unpacked; one the
--- server lacks is a warning (what needs it is left out).
---@param ctx apex.Ctx
---@param names string[]
---@param extras apex.ExtraArtifact[]
---@param text string
---@param details string[]
local function fetch(ctx, names, extras, text, details)
  local a = ctx.infra.artifacts
  local items = {}
  for i, n in ipairs(names) do
    items[i] = { url = a.url .. n, dest = util.path(a.cache_dir, n) }
  end
  local image_dir = util.path(ctx.tmp_dir, plan.IMAGE_DIR)
  local offline = ctx.opts.no_fetch and true or false
  runner.add(ctx, {
    step = M.number, key = "fetch_artifacts", recheck = true, group = runner.INDEPENDENT,
    text = text, details = details,
    inputs = function() return { items = items, extras = extras, offline = offline } end,
    valid = function(out)
      for _, it in ipairs(items) do
        if not exists(it.dest) then return false end
      end
      return out.artifacts ~= nil
    end,
    reuse = function(out) ctx.artifacts = out.artifacts end,
    run = function(prev)
      local old = prev and prev.outputs and prev.outputs.artifacts or {}
      local r = core.artifacts.fetch({ items = items, offline = offline, max_size = a.max_size })
      local out = {}
      ctx.artifacts = out
      for i, res in ipairs(r.results) do
        local name = names[i]
        local o = old[name]
        local gen = o and o.generation
        if res.status == "downloaded" or not gen then
          gen = artifacts.generation(res)
        end
        out[name] = { path = res.path, size = res.size, sha256 = res.sha256, generation = gen, status = res.status,
          unpacked = o and o.unpacked }
        if out[name].unpacked ~= gen then
          -- Checked against its recorded sha256 in the same read (a corrupt copy is fetched again).
          local ok, err = pcall(artifacts.unpack, ctx, name, image_dir)
          if not ok then
            -- Not trusted again: the next run (--resume too) fetches it anew.
            core.fs.remove({ path = res.path })
            util.fail("%s (from %s) does not unpack: %s; it was removed from the cache, so the next run fetches it "
              .. "again (fix the artifact server if it serves it broken, then `apex deploy ... --resume`)",
              res.path, items[i].url, util.message(err))
          end
          out[name].unpacked = out[name].generation
        end
      end
      local got = core.parallel.map(extras, function(e)
        local ok, res = pcall(core.artifacts.fetch, { url = a.url .. e.name, dest = util.path(a.cache_dir, e.name),
          offline = offline, max_size = a.max_size })
        if not ok and e.required then
          util.fail("%s%s is needed for %s: %s", a.url, e.name, e.reason, util.message(res))
        end
        if not ok then
          core.log.write({ level = "warn", msg = string.format("%s%s is not available (%s); %s is left out", a.url, e.name,
            util.message(res), e.reason) })
          return false
        end
        return { path = res.path, size = res.size, sha256 = res.sha256, status = res.status, extra = true }
      end, { limit = 4 })
      for i, e in ipairs(extras) do
        if got[i] then out[e.name] = got[i] end
      end
      ctx.artifacts = out
      return { artifacts = out }
    end,
  })
end

---@param ctx apex.Ctx
function M.plan(ctx)
  local base, cache = ctx.infra.artifacts.url, ctx.infra.artifacts.cache_dir
  local details = {}
  for _, a in ipairs(M.ARTIFACTS) do
    if ctx.opts.no_fetch then
      details[#details + 1] = string.format("use cached %s/%s (fetch %s%s only if missing), unpack it into %s/",
        cache, a, base, a, plan.IMAGE_DIR)
    else
      details[#details + 1] = string.format("fetch %s%s if newer than %s/%s (If-Modified-Since, ETag), unpack it into %s/",
        base, a, cache, a, plan.IMAGE_DIR)
    end
  end
  details[#details + 1] = "every use of a cached copy checks the sha256 recorded at its download (an unpack in the same "
    .. "read); one that changed on disk is fetched again"
  ctx.extra_artifacts = core.data.array()
  for _, r in ipairs(plugins.call_all(plugins.customizers(ctx.plugins), "artifacts", hook_ctx.new(ctx))) do
    util.extend(ctx.extra_artifacts, r.result)
  end
  if ctx.infra.undercloud.create then
    -- Apex's undercloud image, for the VM step 2 creates.
    ctx.extra_artifacts[#ctx.extra_artifacts + 1] = { name = M.UNDERCLOUD_IMAGE, reason = "the undercloud VM", required = true }
  end
  for _, e in ipairs(ctx.extra_artifacts) do
    if e.required then
      details[#details + 1] = string.format("fetch %s%s if newer than %s/%s, for %s", base, e.name, cache, e.name, e.reason)
    else
      details[#details + 1] = string.format("fetch %s%s if the server has it, for %s (without it, what needs it is left out)",
        base, e.name, e.reason)
    end
  end
  fetch(ctx, M.ARTIFACTS, ctx.extra_artifacts,
    string.format("fetch %d artifacts from %s into %s", #M.ARTIFACTS + #ctx.extra_artifacts, base, cache), details)
end

return M
