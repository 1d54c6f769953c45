--- `apex registry prune`: deletes the rebuilt (`:apex`) manifests of the local
--- registry that no deploy state references any more.
---
--- Every rebuild pushes `<repo>:apex` and, beside it, a history tag
--- (`images.history_tag`): the distribution API cannot list untagged
--- manifests, so without it a rebuild superseded by the next one would be out
--- of reach. The deploy states record the digest each image's last rebuild
--- pushed (`state.rebuilds`); a manifest under `apex` or a history tag whose
--- digest no state names is deleted, by digest, which drops every tag naming
--- it. So a manifest that another tag still names (e.g. someone tagged the
--- mirrored `current-tripleo` image `:apex` by hand) is never deleted: it is
--- kept and the report says which tag holds it. The registry frees the blobs
--- only at its garbage collection.
local core = require("apex.core")
local util = require("apex.util")
local state = require("apex.state")
local images = require("apex.images")

local M = {}

--- Where deploys keep their tmp dirs by default (`/tmp/apex/<scenario>`).
M.DEFAULT_ROOT = "/tmp/apex"
--- Repositories looked at once.
M.CONCURRENCY = 8

---@class apex.PrunedManifest
---@field repository string
---@field digest string
---@field tags string[]       the rebuild tags naming it
---@field others? string[]    other tags naming it (why it is kept)

---@class apex.PruneReport
---@field registry string
---@field states string[]     the state files read
---@field dry_run boolean
---@field deleted apex.PrunedManifest[]   deleted, or to delete with dry_run
---@field kept apex.PrunedManifest[]      a deploy state references it
---@field shared apex.PrunedManifest[]    unreferenced, but another tag names it: kept

local function default_dirs()
  local out = {}
  if core.fs.exists({ path = M.DEFAULT_ROOT }).kind ~= "dir" then return out end
  for _, name in ipairs(core.fs.list({ path = M.DEFAULT_ROOT }).entries) do
    local d = util.path(M.DEFAULT_ROOT, name)
    if core.fs.exists({ path = d }).kind == "dir" then out[#out + 1] = d end
  end
  return out
end

--- The registry the states' rebuilds pushed to, when they name exactly one.
local function registry_of(refs)
  local hosts = {}
  for _, r in ipairs(refs) do
    if r.registry then hosts[r.registry] = true end
  end
  local list = util.sorted_keys(hosts)
  if #list == 1 then return list[1] end
  if #list == 0 then util.fail("the deploy states name no rebuilt image: give the registry (--registry)") end
  util.fail("the deploy states name several registries (%s): give one (--registry)", table.concat(list, ", "))
end

--- The manifests of one repository under a rebuild tag, grouped by digest,
--- with the other tags naming a digest that no state references.
local function scan(reg, registries, repo, tag, referenced)
  local function digest(t)
    return core.registry.digest({ registry = reg, repository = repo, reference = t, registries = registries }).digest
  end
  local by_digest, others = {}, {}
  for _, t in ipairs(core.registry.tags({ registry = reg, repository = repo, registries = registries }).tags) do
    if images.is_rebuild_tag(t, tag) then
      local d = digest(t)
      if d then
        by_digest[d] = by_digest[d] or {}
        table.insert(by_digest[d], t)
      end
    else
      others[#others + 1] = t
    end
  end
  local out = {}
  local unreferenced = false
  for d, tags in pairs(by_digest) do
    table.sort(tags)
    out[#out + 1] = { repository = repo, digest = d, tags = tags }
    if not referenced[d] then unreferenced = true end
  end
  -- Only where something would go: the other tags' digests (one HEAD each).
  if unreferenced then
    for _, t in ipairs(others) do
      local d = digest(t)
      for _, m in ipairs(out) do
        if m.digest == d and not referenced[d] then
          m.others = m.others or {}
          table.insert(m.others, t)
        end
      end
    end
  end
  table.sort(out, function(a, b) return a.digest < b.digest end)
  return out
end

--- Reads the deploy states of `opts.tmp_dirs` (default every /tmp/apex/*),
--- then deletes (or, with dry_run, lists) the unreferenced rebuilds and
--- prints what it did.
---@param opts {tmp_dirs?: string[], registry?: string, tag?: string, dry_run?: boolean, tls?: boolean}
---@return apex.PruneReport
function M.run(opts)
  local tag = opts.tag or images.PATCHED_TAG
  local dirs = (opts.tmp_dirs and #opts.tmp_dirs > 0) and opts.tmp_dirs or default_dirs()
  local report = { dry_run = opts.dry_run or false, states = {}, deleted = {}, kept = {}, shared = {} }
  local refs = {}
  for _, d in ipairs(dirs) do
    if core.fs.exists({ path = util.path(d, state.FILE) }).kind == "file" then
      local st = state.load(d)
      report.states[#report.states + 1] = st.path
      util.extend(refs, state.rebuilds(st))
    end
  end
  if #report.states == 0 then
    util.fail("no deploy state (%s) in %s: every rebuilt image would count as unreferenced; name the deploys' tmp dirs",
      state.FILE, #dirs > 0 and table.concat(dirs, ", ") or (M.DEFAULT_ROOT .. "/*"))
  end
  local reg = opts.registry or registry_of(refs)
  report.registry = reg
  local referenced = {}
  for _, r in ipairs(refs) do
    if r.registry == nil or r.registry == reg then referenced[r.digest] = true end
  end
  local registries = opts.tls and { tls = { reg } } or { insecure = { reg } }
  local repos = core.registry.catalog({ registry = reg, registries = registries }).repositories
  local found = core.parallel.map(repos, function(repo)
    return scan(reg, registries, repo, tag, referenced)
  end, { limit = M.CONCURRENCY })
  for _, list in ipairs(found) do
    for _, m in ipairs(list) do
      if referenced[m.digest] then
        report.kept[#report.kept + 1] = m
      elseif m.others then
        report.shared[#report.shared + 1] = m
      else
        if not report.dry_run then
          core.registry.delete_manifest({ registry = reg, repository = m.repository, digest = m.digest,
            registries = registries })
        end
        report.deleted[#report.deleted + 1] = m
      end
    end
  end
  M.print(report)
  return report
end

--- What a prune prints.
---@param report apex.PruneReport
function M.print(report)
  local out = { string.format("registry %s: %d deploy state(s) read: %s", report.registry, #report.states,
    table.concat(report.states, ", ")) }
  local verb = report.dry_run and "would delete" or "deleted"
  local function tags(m) return table.concat(m.tags, ", ") end
  for _, m in ipairs(report.deleted) do
    out[#out + 1] = string.format("  %s %s@%s (tags: %s)", verb, m.repository, m.digest, tags(m))
  end
  for _, m in ipairs(report.kept) do
    out[#out + 1] = string.format("  kept %s@%s (tags: %s): a deploy state references it", m.repository, m.digest, tags(m))
  end
  for _, m in ipairs(report.shared) do
    out[#out + 1] = string.format("  kept %s@%s (tags: %s): also tagged %s, which deleting it would remove too",
      m.repository, m.digest, tags(m), table.concat(m.others, ", "))
  end
  out[#out + 1] = string.format("%d manifest(s) %s, %d kept.", #report.deleted, verb, #report.kept + #report.shared)
  if #report.deleted > 0 then
    out[#out + 1] = "The registry frees their blobs only at its garbage collection; on the registry host run\n"
      .. "  registry garbage-collect /etc/docker/registry/config.yml\n"
      .. "(Debian's package names the binary docker-registry; stop the registry or make it read-only meanwhile)."
  end
  io.write(table.concat(out, "\n"), "\n")
end

return M
