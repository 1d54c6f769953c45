--- The plan's output: every artifact written under the tmp dir (all computed
--- first, so bad input leaves nothing behind; each file written atomically;
--- the manifest plan.json last), and the summary printed to stdout.
local core = require("apex.core")
local util = require("apex.util")
local runner = require("apex.runner")

local M = {}

M.MANIFEST = "plan.json"
M.ARCHIVE = "docker_patches.tar.gz"
-- Where step 1 unpacks the image artifacts and step 3 customizes them
-- (the run's working copies, not files of the plan).
M.IMAGE_DIR = "images"

--- Whether `rel` is a plain path inside the tmp dir: relative, no `..`, no
--- empty or `.` parts, no control characters. Every name that becomes a
--- file of the plan (plugin files, patch names, image names) passes here.
---@param rel string
---@return boolean
function M.safe_path(rel)
  if type(rel) ~= "string" or rel == "" or rel:sub(1, 1) == "/" or rel:find("%c") then return false end
  for part in (rel .. "/"):gmatch("([^/]*)/") do
    if part == "" or part == "." or part == ".." then return false end
  end
  return true
end

--- Adds an artifact (path relative to the tmp dir); a path that would leave
--- the tmp dir is refused. `opts.mode` (e.g. 384 for 0600) for secrets;
--- `opts.upload = false` for a file that is for reading here only (lists,
--- keys), not one of the files the deploy uploads to the undercloud.
---@param ctx apex.Ctx
---@param rel string
---@param content string
---@param opts? {mode?: integer, upload?: boolean}
function M.file(ctx, rel, content, opts)
  if not M.safe_path(rel) then
    util.fail("refusing to write %s: a file of the plan must be a relative path inside the tmp dir (no '..', no '/' first)",
      util.show(rel))
  end
  if type(content) ~= "string" then
    error(string.format("plan.file %s: content must be a string, got %s", rel, type(content)), 2)
  end
  ctx.files[rel] = content
  if opts and opts.mode then
    ctx.file_modes = ctx.file_modes or {}
    ctx.file_modes[rel] = opts.mode
  end
  if opts and opts.upload == false then
    ctx.local_only = ctx.local_only or {}
    ctx.local_only[rel] = true
  end
end

--- The permission bits of a file of the plan: here and on the undercloud
--- (0600 for secrets, as `opts.mode` said; else 0644).
---@param ctx apex.Ctx
---@param rel string
---@return integer
function M.mode(ctx, rel)
  return ctx.file_modes and ctx.file_modes[rel] or 420
end

--- Whether a file of the plan is one the deploy uploads to the undercloud.
---@param ctx apex.Ctx
---@param rel string
---@return boolean
function M.uploaded(ctx, rel)
  return ctx.files[rel] ~= nil and not (ctx.local_only and ctx.local_only[rel])
end

-- Removes what an earlier plan in the same tmp dir wrote (its manifest lists
-- it), so no stale artifact survives a changed plan.
local function remove_previous(tmp)
  local manifest = util.path(tmp, M.MANIFEST)
  if core.fs.exists({ path = manifest }).kind == "file" then
    local ok, old = pcall(core.json.load, { path = manifest })
    if ok and type(old) == "table" and type(old.files) == "table" then
      core.fs.remove({ path = manifest })
      for _, rel in ipairs(old.files) do
        if type(rel) == "string" and not rel:find("%.%.") and rel:sub(1, 1) ~= "/" then
          core.fs.remove({ path = util.path(tmp, rel) })
        end
      end
    end
  end
  core.fs.remove({ path = util.path(tmp, "containers") })
  core.fs.remove({ path = util.path(tmp, M.ARCHIVE) })
end

--- Every path (relative to the tmp dir) `M.write` writes, for the check of
--- the tmp dir before anything is written.
---@param ctx apex.Ctx
---@return string[]
function M.paths(ctx)
  local out = util.sorted_keys(ctx.files)
  out[#out + 1] = "containers/" .. M.ARCHIVE
  return out
end

--- Writes every artifact: what an earlier plan wrote is removed first, files
--- are written atomically, the patch archive is built from containers/, the
--- manifest comes last.
---@param ctx apex.Ctx
function M.write(ctx)
  local tmp = ctx.tmp_dir
  core.fs.mkdir({ path = tmp })
  remove_previous(tmp)
  for _, rel in ipairs(util.sorted_keys(ctx.files)) do
    core.fs.write({ path = util.path(tmp, rel), content = ctx.files[rel], mode = M.mode(ctx, rel) })
  end
  local containers = util.path(tmp, "containers")
  core.fs.mkdir({ path = containers })
  ctx.archive = { path = util.path(tmp, M.ARCHIVE) }
  -- Apex's layout: containers/<image>/Dockerfile, unpacked in the work dir.
  local r = core.tar.pack({ src = containers, dest = ctx.archive.path, include_dir = true })
  ctx.archive.written, ctx.archive.sha256, ctx.archive.entries = true, r.sha256, r.entries
  core.fs.write({ path = util.path(tmp, M.MANIFEST), content = core.json.dump(M.manifest(ctx), { pretty = true }) })
end

--- The machine-readable record of the plan.
---@param ctx apex.Ctx
---@return table
function M.manifest(ctx)
  local files = util.sorted_keys(ctx.files)
  if ctx.archive and ctx.archive.written then
    files[#files + 1] = M.ARCHIVE
  end
  return {
    scenario = { name = ctx.scenario.name, origin = ctx.scenario.origin, description = ctx.scenario.description },
    settings = ctx.settings.source,
    network = ctx.network.source,
    plugins = ctx.plugin_names,
    patched_images = ctx.patched_list,
    skipped_patches = ctx.skipped,
    env_files = ctx.env_files,
    tht = ctx.tht_release and { release = ctx.tht_release.release, version = ctx.tht_release.tht_version },
    deploy_command = ctx.deploy_command,
    actions = runner.listing(ctx),
    files = files,
    archive = ctx.archive,
    notes = ctx.notes,
  }
end

--- Prints the summary: images patched and why, env files and why, what would
--- be fetched, copied and built, and where the artifacts are.
---@param ctx apex.Ctx
function M.print_summary(ctx)
  local out = {}
  local function p(fmt, ...) out[#out + 1] = string.format(fmt, ...) end
  if ctx.nodes_missing then p("Not deployable as it is: %s", ctx.nodes_missing) end
  p("Plan for %s: %s", ctx.scenario.name, ctx.scenario.description or "")
  p("  settings: %s; network: %s; undercloud %s", ctx.settings.source, ctx.network.source, ctx.uc_ip)
  p("  plugins: %s", table.concat(ctx.plugin_labels, ", "))
  p("Images patched (%d):", #ctx.patched_list)
  for _, img in ipairs(ctx.patched_list) do
    p("  %s: %s", img, table.concat(ctx.dockerfiles.by_image[img].reasons, "; "))
  end
  for _, s in ipairs(ctx.skipped) do
    p("  skipped patch %s (%s): %s", s.change_id, s.project, s.why)
  end
  if ctx.tht_release then
    local os_version = ctx.settings.deploy_options.os_version
    p("THT assumed: %s; image list: %s", require("apex.tht").release_label(ctx.tht_release, os_version),
      require("apex.images").list_source(os_version))
  end
  p("Env files (%d):", #ctx.env_files)
  for _, e in ipairs(ctx.env_files) do
    p("  %s  (%s)", e.path, e.reason)
  end
  p("Would do:")
  for _, a in ipairs(runner.listing(ctx)) do
    p("  [step %d] %s", a.step, a.text)
    for _, d in ipairs(a.details) do p("             %s", d) end
  end
  for _, n in ipairs(ctx.notes) do
    p("Note: %s", n)
  end
  p("Artifacts in %s:", ctx.tmp_dir)
  for _, f in ipairs(M.manifest(ctx).files) do
    p("  %s", f)
  end
  p("  %s  (this list, machine-readable)", M.MANIFEST)
  if ctx.log_file then
    local prefix = ctx.tmp_dir:gsub("/+$", "") .. "/"
    if ctx.log_file:sub(1, #prefix) == prefix then
      p("  apex.log  (this run's log, also %s; earlier runs' beside it)", ctx.log_file:sub(#prefix + 1))
    else
      p("Log: %s", ctx.log_file)
    end
  end
  io.write(table.concat(out, "\n"), "\n")
end

return M
