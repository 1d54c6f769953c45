--- The real work of the deploy steps, as runner actions: each names its
--- inputs (hashed into the state file) and does its work through the
--- primitives. Registered while the flow is evaluated, run after every
--- artifact is written (see apex.runner).
local core = require("apex.core")
local util = require("apex.util")
local runner = require("apex.runner")
local site_mod = require("apex.site")
local state = require("apex.state")
local tht = require("apex.tht")
local images = require("apex.images")

local M = {}

M.IMAGE_DIR = "images"
M.OVERCLOUD_TAR = "overcloud-full.tar"
M.OVERCLOUD_IMAGE = "overcloud-full.qcow2"
M.REBUILD_STAGE = "rebuild"
-- Images checked/copied at once (the primitive's default is 4; a rerun is
-- only manifest checks, light enough to overlap more).
M.MIRROR_CONCURRENCY = 8
-- The remote checks that need nothing from each other (artifacts, the
-- undercloud's SSH connection, registry copies): one runner group, so a
-- rerun waits for the slowest, not for their sum.
M.INDEPENDENT = "independent_remote"

local function exists(path)
  return core.exists({ path = path }).exists
end

--- Whether a program is on PATH.
---@param name string
---@return boolean
function M.have_program(name)
  local path = core.env({ name = "PATH" }).value or "/usr/sbin:/usr/bin:/sbin:/bin"
  for dir in path:gmatch("[^:]+") do
    if exists(dir .. "/" .. name) then return true end
  end
  return false
end

-- Step 1 ---------------------------------------------------------------------

--- Fetches the artifacts into the cache (304 when unchanged) and unpacks
--- each into <tmp>/images when it is new. `generation` changes only when a
--- new copy was downloaded, so later steps can tell. `extras` (from plugins)
--- are fetched too but not unpacked, and one the server lacks is a warning:
--- the customization that needs it is left out.
---@param ctx apex.Ctx
---@param names string[]
---@param extras apex.ExtraArtifact[]
function M.fetch(ctx, names, extras)
  local a = ctx.infra.artifacts
  local items = {}
  for i, n in ipairs(names) do
    items[i] = { url = a.url .. n, dest = util.path(a.cache_dir, n) }
  end
  local image_dir = util.path(ctx.tmp_dir, M.IMAGE_DIR)
  local offline = ctx.opts.no_fetch and true or false
  runner.add(ctx, {
    step = 1, key = "fetch_artifacts", recheck = true, group = M.INDEPENDENT,
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
      local r = core.fetch_if_modified({ items = items, offline = offline })
      local out = {}
      for i, res in ipairs(r.results) do
        local name = names[i]
        local o = old[name]
        local gen = o and o.generation
        if res.status == "downloaded" or not gen then
          gen = string.format("%s:%d:%.3f", res.status, res.size, core.now().unix)
        end
        out[name] = { path = res.path, size = res.size, generation = gen, status = res.status, unpacked = o and o.unpacked }
        if out[name].unpacked ~= gen then
          core.unpack({ src = res.path, dest = image_dir })
          out[name].unpacked = gen
        end
      end
      local got = core.parallel_map(extras, function(e)
        local ok, res = pcall(core.fetch_if_modified, { url = a.url .. e.name, dest = util.path(a.cache_dir, e.name),
          offline = offline })
        if not ok then
          core.log({ level = "warn", msg = string.format("%s%s is not available (%s); %s is left out", a.url, e.name,
            util.message(res), e.reason) })
          return false
        end
        return { path = res.path, size = res.size, status = res.status, extra = true }
      end, { limit = 4 })
      for i, e in ipairs(extras) do
        if got[i] then out[e.name] = got[i] end
      end
      ctx.artifacts = out
      return { artifacts = out }
    end,
  })
end

-- Step 2 ---------------------------------------------------------------------

--- Parses `sha256sum` output into name -> sum.
---@param text string
---@return table<string, string>
local function parse_sums(text)
  local sums = {}
  for sum, name in text:gmatch("(%x+)  ([^\n]+)") do sums[name] = sum end
  return sums
end

--- Reaches the undercloud and creates the work dir. In the same command it
--- reads back the sums of what the last run uploaded there, so a work dir
--- wiped or changed since (a reinstalled undercloud) is uploaded again.
---@param ctx apex.Ctx
function M.undercloud(ctx)
  local u = ctx.infra.undercloud
  runner.add(ctx, {
    step = 2, key = "undercloud", recheck = true, group = M.INDEPENDENT,
    inputs = function() return { host = site_mod.ssh_host(ctx.infra), work_dir = u.work_dir } end,
    run = function()
      local q = util.shell_quote(u.work_dir)
      local uploaded = state.get(ctx.state, "upload")
      local names = util.sorted_keys(uploaded and uploaded.outputs and uploaded.outputs.sent or {})
      local check = ""
      if #names > 0 then
        local quoted = {}
        for i, n in ipairs(names) do quoted[i] = util.shell_quote(n) end
        check = "; echo '--- sums'; cd " .. q .. " && test -d containers && sha256sum -- "
          .. table.concat(quoted, " ") .. " 2>/dev/null; true"
      end
      local r = core.run_ssh({ host = site_mod.ssh_host(ctx.infra),
        command = "mkdir -p " .. q .. " && test -w " .. q .. " && uname -n" .. check })
      local node, sums = r.stdout:match("^(.-)\n%-%-%- sums\n(.*)$")
      ctx.uploaded_sums = parse_sums(sums or "")
      return { node = ((node or r.stdout):gsub("%s+$", "")) }
    end,
  })
end

-- Step 3 (and 6) -------------------------------------------------------------

--- The file and destination of an upload/unpack/patch customization
--- (`FILE:/absolute/destination`); nil when the argument is not of that form.
---@param arg string
---@return string? file, string? dest
local function file_and_dest(arg)
  local file, dest = arg:match("^([^:/][^:]*):(/.*)$")
  return file, dest
end

--- Upstream patches for the undercloud (THT, puppet there): each patch file
--- uploaded to `<work_dir>/undercloud_patches/` and applied in its directory
--- (THT: the site's tht_dir) with `patch -p1`, as root through `sudo -n` when
--- the SSH user is not root. A patch already in place (it reverses cleanly)
--- is not applied twice. Other customization ops cannot run on a live host
--- and are said so.
---@param ctx apex.Ctx
---@param list apex.Customization[]
function M.undercloud_patches(ctx, list)
  local u = ctx.infra.undercloud
  local host = site_mod.ssh_host(ctx.infra)
  local todo = core.array()
  for _, c in ipairs(list) do
    local file, dir = file_and_dest(c.arg)
    if c.op == "patch" and file and ctx.files["undercloud_patches/" .. file] then
      todo[#todo + 1] = { file = file, dir = tht.on_site(dir, u.tht_dir), diff = ctx.files["undercloud_patches/" .. file],
        reason = c.reason }
    else
      local msg = string.format("undercloud: %s %s not applied (%s): only patches are applied to a running undercloud",
        c.op, c.arg, c.reason)
      core.log({ level = "warn", msg = msg })
      ctx.notes[#ctx.notes + 1] = msg
    end
  end
  if #todo == 0 then return end
  runner.add(ctx, {
    step = 3, key = "undercloud_patches",
    inputs = function() return { host = host, work_dir = u.work_dir, patches = todo } end,
    run = function()
      local sudo = u.user ~= "root" and "sudo -n " or ""
      local applied = core.array()
      for _, p in ipairs(todo) do
        local remote = u.work_dir .. "/undercloud_patches/" .. p.file
        core.upload({ host = host, from = util.path(ctx.tmp_dir, "undercloud_patches", p.file), to = remote, mode = 420 })
        local f, d = util.shell_quote(remote), util.shell_quote(p.dir)
        local script = "cd " .. d .. " && if patch -p1 -R --dry-run -s -f < " .. f .. " >/dev/null 2>&1; "
          .. "then echo 'already applied'; else patch -p1 --forward --batch < " .. f .. "; fi"
        local r = core.run_ssh({ host = host, command = sudo .. "sh -c " .. util.shell_quote(script), check = false })
        if not r.ok then
          util.fail("undercloud patch %s in %s failed (exit %d; the undercloud needs the patch tool%s): %s", p.file, p.dir,
            r.status, sudo ~= "" and " and passwordless sudo" or "", ((r.stderr ~= "" and r.stderr or r.stdout):gsub("%s+$", "")))
        end
        applied[#applied + 1] = { file = p.file, dir = p.dir, already = r.stdout:find("already applied", 1, true) ~= nil }
      end
      return { applied = applied }
    end,
  })
end

--- Customization ops whose argument is `FILE:/destination`.
local FILE_OPS = { upload = true, unpack = true, patch = true }

--- A local file a customization names: written by this deploy
--- (`overcloud_patches/<name>`) or fetched in step 1 (a plugin's artifact).
---@param ctx apex.Ctx
---@param name string
---@return string?
local function customization_file(ctx, name)
  local rel = util.path("overcloud_patches", name)
  if ctx.files[rel] then return util.path(ctx.tmp_dir, rel) end
  local a = ctx.artifacts and ctx.artifacts[name]
  return a and a.path
end

--- Translates the overcloud customization list into customize_image
--- operations: file ops (upload, remove, unpack, patch) always; install/run ops
--- only when virt-customize is installed, else they are recorded as skipped
--- with the reason. A `remove` goes with the upload/unpack of the same
--- reason: when that is left out (its file is missing), so is the remove, and
--- the image keeps what it has. Called when step 3 runs (step 1's artifacts
--- are known).
---@param ctx apex.Ctx
---@param list apex.Customization[]
---@return apex.ImageOp[] ops, {op: string, arg: string, why: string}[] skipped
function M.image_ops(ctx, list)
  local virt = M.have_program("virt-customize")
  local ops, skipped = core.array(), core.array()
  local function skip(c, why)
    skipped[#skipped + 1] = { op = c.op, arg = c.arg, reason = c.reason, why = why }
  end
  -- Reasons whose replacement file is missing (their removes are left out too).
  local unplaced = {}
  for _, c in ipairs(list) do
    local file = FILE_OPS[c.op] and file_and_dest(c.arg)
    if file and not customization_file(ctx, file) then unplaced[c.reason] = c.op .. " " .. c.arg end
  end
  for _, c in ipairs(list) do
    local file, dest = file_and_dest(c.arg)
    if c.op == "install" or c.op == "run-command" then
      if virt then
        local cmd = c.op == "install" and ("yum -y install " .. c.arg) or c.arg
        ops[#ops + 1] = { op = "run", command = cmd }
      else
        skip(c, "needs virt-customize (Debian package libguestfs-tools), which is not installed")
      end
    elseif c.op == "remove" then
      if unplaced[c.reason] then
        skip(c, "goes with " .. unplaced[c.reason] .. ", which is left out")
      elseif c.arg:sub(1, 1) == "/" then
        ops[#ops + 1] = { op = "remove", path = c.arg }
      else
        skip(c, "the path to remove is not absolute")
      end
    elseif FILE_OPS[c.op] then
      local from = file and customization_file(ctx, file)
      if not file then
        skip(c, "expected FILE:/absolute/destination")
      elseif not from then
        skip(c, file .. " is neither written by this deploy nor fetched from the artifact server")
      elseif c.op == "unpack" then
        ops[#ops + 1] = { op = "unpack", from = from, to = dest }
      elseif c.op == "patch" then
        ops[#ops + 1] = { op = "patch", from = from, dir = dest }
      else
        ops[#ops + 1] = { op = "upload", from = from, to = dest:sub(-1) == "/" and (dest .. file) or dest }
      end
    else
      skip(c, "customization op " .. tostring(c.op) .. " has no image-file translation")
    end
  end
  return ops, skipped
end

--- The customization's operations (then those of later steps), once per
--- run; what cannot be applied here is said (warning and summary note).
---@param ctx apex.Ctx
---@return apex.ImageOp[]
local function customize_ops(ctx)
  if not ctx.customize_ops then
    local ops, skipped = M.image_ops(ctx, ctx.overcloud_customize)
    ctx.image_skipped = skipped
    for _, s in ipairs(skipped) do
      local msg = string.format("overcloud image: %s %s not applied (%s): %s", s.op, s.arg, s.reason, s.why)
      core.log({ level = "warn", msg = msg })
      ctx.notes[#ctx.notes + 1] = msg
    end
    ctx.customize_ops = util.extend(ops, ctx.image_ops)
  end
  return ctx.customize_ops
end

--- The file ops that put a persistent loop device into the image: the sparse
--- backing file, the unit (from core.loop_unit) and its enable symlink.
---@param l apex.LoopDevice
---@return apex.ImageOp[]
function M.loop_ops(l)
  local u = core.loop_unit({ device = l.device, file = l.backing_file })
  return {
    { op = "truncate", path = l.backing_file, size = l.size },
    { op = "write", path = u.path, content = u.text, mode = 420 },
    { op = "symlink", path = u.enable_link, target = u.enable_target },
  }
end

--- Unpacks a pristine overcloud-full.qcow2 and applies the operations (the
--- list is read when the action runs, so step 6 can add its loop device).
---@param ctx apex.Ctx
function M.customize(ctx)
  local image = util.path(ctx.tmp_dir, M.IMAGE_DIR, M.OVERCLOUD_IMAGE)
  runner.add(ctx, {
    step = 3, key = "customize_image",
    inputs = function()
      local a = ctx.artifacts and ctx.artifacts[M.OVERCLOUD_TAR]
      local ops = customize_ops(ctx)
      -- A changed file behind an upload/unpack changes the image too.
      local sums = {}
      for _, op in ipairs(ops) do
        if op.from then sums[op.from] = core.sha256({ path = op.from }).hex end
      end
      return { artifact = a and a.generation, ops = ops, files = sums }
    end,
    valid = function() return exists(image) end,
    run = function()
      local a = ctx.artifacts and ctx.artifacts[M.OVERCLOUD_TAR]
      if not a then util.fail("no %s fetched in step 1", M.OVERCLOUD_TAR) end
      core.unpack({ src = a.path, dest = util.path(ctx.tmp_dir, M.IMAGE_DIR) })
      if not exists(image) then
        util.fail("%s holds no %s", a.path, M.OVERCLOUD_IMAGE)
      end
      local ops = customize_ops(ctx)
      if #ops == 0 then return { image = image, applied = core.array() } end
      local r = core.customize_image({ image = image, ops = ops })
      return { image = r.image, applied = r.applied, skipped = ctx.image_skipped }
    end,
  })
end

-- Step 8 ---------------------------------------------------------------------

--- 8a: the patch archive and the local env files to the undercloud work dir,
--- the archive unpacked into containers/ there.
---@param ctx apex.Ctx
---@param archive string  path of docker_patches.tar.gz
---@param env_files string[] paths relative to the tmp dir
function M.upload(ctx, archive, env_files)
  local u = ctx.infra.undercloud
  local host = site_mod.ssh_host(ctx.infra)
  runner.add(ctx, {
    step = 8, key = "upload",
    inputs = function()
      local files = {}
      for _, rel in ipairs(env_files) do files[rel] = ctx.files[rel] end
      return { archive = ctx.archive and ctx.archive.sha256, files = files, host = host, work_dir = u.work_dir }
    end,
    run = function()
      local sent = {}
      local results = core.parallel_map(util.extend({ archive }, env_files), function(p)
        local from = p:sub(1, 1) == "/" and p or util.path(ctx.tmp_dir, p)
        local name = from:match("([^/]+)$")
        local r = core.upload({ host = host, from = from, to = u.work_dir .. "/" .. name, mode = 420, sha256 = true })
        return { name = name, sha256 = r.sha256 }
      end, { limit = 4 })
      for _, r in ipairs(results) do sent[r.name] = r.sha256 end
      local q = util.shell_quote(u.work_dir)
      core.run_ssh({ host = host, command = "cd " .. q .. " && rm -rf containers.new && mkdir containers.new"
          .. " && tar -xzf " .. util.shell_quote(archive:match("([^/]+)$")) .. " -C containers.new"
          .. " && rm -rf containers && mv containers.new containers" })
      return { sent = sent }
    end,
    -- Still there, unchanged (known when step 2 ran in this run; a --resume trusts the state).
    valid = function(out)
      if ctx.uploaded_sums == nil then return true end
      for name, sum in pairs(out.sent or {}) do
        if ctx.uploaded_sums[name] ~= sum then
          core.log({ level = "warn", msg = "the undercloud no longer has " .. name .. " as uploaded; uploading again" })
          return false
        end
      end
      return true
    end,
  })
end

--- Failures shown in full in a step's error; the rest are counted (each is
--- in apex.log), so a registry that is down does not make a 20 kB message.
M.FAILURES_SHOWN = 5

--- The failures of a mirror or build run, one a line: those that were tried
--- first, then those not tried (their registry was found down).
---@param list {source?: string, name?: string, error: string}[]
---@return string
local function failures(list)
  local tried, not_tried = {}, {}
  for _, f in ipairs(list) do
    local into = f.error:find("^not tried:") and not_tried or tried
    into[#into + 1] = "  " .. (f.source or f.name) .. ": " .. f.error
  end
  local lines = util.extend(tried, not_tried)
  if #lines > M.FAILURES_SHOWN then
    local more = #lines - M.FAILURES_SHOWN
    for i = #lines, M.FAILURES_SHOWN + 1, -1 do lines[i] = nil end
    lines[#lines + 1] = string.format("  ... and %d more (each in apex.log)", more)
  end
  return table.concat(lines, "\n")
end

--- 8b/8c: the image list copied from the source registry into the local one
--- (blobs already there are not sent). Records each destination's digest.
---@param ctx apex.Ctx
---@param list {source: string, destination: string}[]
function M.mirror(ctx, list)
  runner.add(ctx, {
    step = 8, key = "mirror_images", recheck = true, group = M.INDEPENDENT,
    inputs = function() return list end,
    reuse = function(out) ctx.digests = out.digests end,
    run = function()
      local r = core.mirror_images({ images = list, allow_failures = true, concurrency = M.MIRROR_CONCURRENCY,
        registries = site_mod.registry_settings(ctx.infra) })
      if #r.failed > 0 then
        util.fail("%d of %d images not copied:\n%s", #r.failed, #list, failures(r.failed))
      end
      local digests = {}
      for _, c in ipairs(util.extend(util.extend({}, r.copied), r.present)) do
        digests[c.destination] = c.digest
      end
      ctx.digests = digests
      return { digests = digests, blobs_sent = r.blobs_sent, bytes_sent = r.bytes_sent, copied = #r.copied, present = #r.present }
    end,
  })
end

local function has_tag(ctx, repo, tag)
  local ok, r = pcall(core.registry_tags, { registry = ctx.infra.registries["local"], repository = repo,
    registries = site_mod.registry_settings(ctx.infra) })
  return ok and util.contains(r.tags, tag)
end

--- 8d: patched images rebuilt with rebuild_patched, tagged `apex` and pushed.
--- An image whose Dockerfile (and files) and base digest match its last
--- build, with its `apex` tag still in the local registry, is not rebuilt
--- (checked on every full run: a tag lookup per image).
---@param ctx apex.Ctx
function M.rebuild(ctx)
  local function per_image()
    local files, out = ctx.dockerfiles:files(), {}
    for _, img in ipairs(ctx.patched_list) do
      local mine = {}
      for rel, content in pairs(files) do
        if rel:sub(1, #img + 1) == img .. "/" then mine[rel] = content end
      end
      local base = images.ref(ctx.site, img).to
      out[img] = { files = mine, hash = state.hash({ files = mine, base = ctx.digests and ctx.digests[base] }) }
    end
    return out
  end
  runner.add(ctx, {
    step = 8, key = "rebuild_patched", recheck = true,
    inputs = function()
      local h = {}
      for img, v in pairs(per_image()) do h[img] = v.hash end
      return h
    end,
    run = function()
      local st, todo, stage = ctx.state, {}, util.path(ctx.tmp_dir, M.REBUILD_STAGE)
      core.remove({ path = stage })
      core.mkdir({ path = stage })
      local kept = core.array()
      for img, v in pairs(per_image()) do
        local key = "rebuild/" .. img
        local repo = ctx.site.namespace .. "/" .. images.NAME_PREFIX .. img
        if state.done(st, key, v.hash) and has_tag(ctx, repo, images.PATCHED_TAG) then
          kept[#kept + 1] = img
        else
          todo[#todo + 1] = img
          for rel, content in pairs(v.files) do
            core.write_file({ path = util.path(stage, rel), content = content })
          end
        end
      end
      table.sort(todo)
      table.sort(kept)
      if #todo == 0 then return { rebuilt = core.array(), kept = kept } end
      local r = core.rebuild_patched({
        registry = ctx.infra.registries["local"], containers_dir = stage, tag = images.PATCHED_TAG,
        source_tag = images.TAG, allow_failures = true,
        engine = site_mod.engine(ctx.infra), registries = site_mod.registry_settings(ctx.infra),
      })
      local hashes = per_image()
      local rebuilt = core.array()
      for _, b in ipairs(r.rebuilt) do
        local img = b.image:match(images.NAME_PREFIX:gsub("%p", "%%%0") .. "([^/:]+):[^/]*$")
        if img and hashes[img] then
          state.put(st, "rebuild/" .. img, { step = 8, status = "done", inputs = hashes[img].hash,
            outputs = { digest = b.digest, user = b.user, source = b.source } })
          rebuilt[#rebuilt + 1] = b.image
        end
      end
      if #r.not_in_registry > 0 then
        util.fail("patched images not in the local registry %s: %s", ctx.infra.registries["local"],
          table.concat(r.not_in_registry, ", "))
      end
      if #r.failed > 0 then
        util.fail("%d of %d patched images failed to build:\n%s", #r.failed, #todo, failures(r.failed))
      end
      return { rebuilt = rebuilt, kept = kept }
    end,
  })
end

--- 8f: the Ceph daemon image copied into the local registry.
---@param ctx apex.Ctx
---@param ref {source: string, destination: string}
function M.ceph_image(ctx, ref)
  runner.add(ctx, {
    step = 8, key = "ceph_image", recheck = true, group = M.INDEPENDENT,
    inputs = function() return ref end,
    run = function()
      local r = core.copy_image({ source = ref.source, destination = ref.destination,
        registries = site_mod.registry_settings(ctx.infra) })
      return { digest = r.digest, status = r.status, blobs_sent = r.blobs_sent }
    end,
  })
end

-- Step 9 ---------------------------------------------------------------------

--- What the overcloud is deployed from, besides the command: the uploaded
--- files, the undercloud patches, and the digest of every image the image
--- env file names (mirrored, rebuilt `:apex`, Ceph), so new upstream images
--- or a new patch deploy again.
---@param ctx apex.Ctx
local function deployed_from(ctx)
  local function outputs(key)
    local r = state.get(ctx.state, key)
    return r and r.status == "done" and r.outputs or {}
  end
  local function inputs(key)
    local r = state.get(ctx.state, key)
    return r and r.inputs
  end
  local rebuilt = {}
  for _, img in ipairs(ctx.patched_list or {}) do
    rebuilt[img] = outputs("rebuild/" .. img).digest
  end
  return {
    uploaded = inputs("upload"),
    undercloud_patches = inputs("undercloud_patches"),
    mirrored = outputs("mirror_images").digests,
    rebuilt = rebuilt,
    ceph = outputs("ceph_image").digest,
  }
end

--- Runs the deploy command in the undercloud work dir; not again while the
--- command, files and images are those of the last successful deploy (a
--- stack update is long), unless `--redeploy`.
---@param ctx apex.Ctx
---@param command string
function M.run_deploy(ctx, command)
  local u = ctx.infra.undercloud
  runner.add(ctx, {
    step = 9, key = "run_deploy", force = ctx.opts.redeploy,
    skip_hint = "the overcloud was deployed from the same command, files and images; --redeploy runs it again",
    inputs = function() return { command = command, work_dir = u.work_dir, from = deployed_from(ctx) } end,
    run = function()
      local r = core.run_ssh({ host = site_mod.ssh_host(ctx.infra), command = "cd " .. util.shell_quote(u.work_dir) .. " && " .. command, check = false })
      if not r.ok then
        util.fail("the deploy command exited with %d on the undercloud: %s", r.status,
          ((r.stderr ~= "" and r.stderr or r.stdout):gsub("%s+$", "")))
      end
      return { status = r.status }
    end,
  })
end

return M
