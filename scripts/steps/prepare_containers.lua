--- Step 8: container preparation on the undercloud. The image lists (which
--- image to copy from where to the local registry), the rebuild list and the
--- image env file are files of the plan; the actions upload the patch
--- archive and the local env files (8a), copy the images into the local
--- registry (8b/8c), rebuild the patched ones with their Dockerfile, tagged
--- `apex` (8d), and copy the Ceph daemon image (8f). The image env file (8e)
--- names the local registry, with `apex` for the rebuilt images.
local core = require("apex.core")
local util = require("apex.util")
local images = require("apex.images")
local tht = require("apex.tht")
local plan = require("apex.plan")
local runner = require("apex.runner")
local site_mod = require("apex.site")
local state = require("apex.state")
local rebuild_mod = require("apex.rebuild")
local services = require("apex.services")

---@type apex.Step
local M = { number = 8, name = "prepare_containers",
  summary = "upload patches, copy images, build patched ones, image env file" }

M.REBUILD_STAGE = "rebuild"
-- Images checked/copied at once (the primitive's default is 4; a rerun is
-- only manifest checks, light enough to overlap more).
M.MIRROR_CONCURRENCY = 8
-- Patched images built at once (each a pull, a build and a push on the engine).
M.BUILD_CONCURRENCY = rebuild_mod.CONCURRENCY

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

--- 8a: the patch archive to the undercloud work dir, unpacked into
--- containers/ there (replacing what an earlier run left).
---@param ctx apex.Ctx
---@param archive string  path of docker_patches.tar.gz, relative to the tmp dir
local function upload(ctx, archive)
  local u = ctx.infra.undercloud
  local host = site_mod.ssh_host(ctx.infra)
  runner.add(ctx, {
    step = M.number, key = "upload",
    text = string.format("upload %s to %s on the undercloud, unpack it into containers/ there", archive, u.work_dir),
    inputs = function()
      return { archive = ctx.archive and ctx.archive.sha256, host = host, work_dir = u.work_dir }
    end,
    run = function()
      site_mod.hold_undercloud(ctx.infra, ctx.tmp_dir)
      local r = core.ssh.upload({ host = host, from = util.path(ctx.tmp_dir, archive), to = u.work_dir .. "/" .. archive,
        mode = 420, sha256 = true })
      local q = util.shell_quote(u.work_dir)
      -- The archive holds containers/<image>/...: unpacked beside the old tree, then swapped in.
      core.ssh.run({ host = host, command = "cd " .. q .. " && rm -rf containers.new && mkdir containers.new"
          .. " && tar -xzf " .. util.shell_quote(archive) .. " -C containers.new"
          .. " && rm -rf containers && mv containers.new/containers containers && rmdir containers.new" })
      return { sent = { [archive] = r.sha256 } }
    end,
    valid = function(out) return runner.still_uploaded(ctx, out.sent) end,
  })
end

--- 8b/8c: the image list copied from the source registry into the local one
--- (blobs already there are not sent). Records each destination's digest.
--- With --verify-images, an image already there has every blob HEADed and a
--- lost one copied again (a rerun otherwise trusts the tag's digest: one HEAD
--- per image, which keeps a rerun cheap).
---@param ctx apex.Ctx
---@param list {source: string, destination: string}[]
---@param sel apex.MirrorSelection
local function mirror(ctx, list, sel)
  runner.add(ctx, {
    step = M.number, key = "mirror_images", recheck = true, group = runner.INDEPENDENT,
    text = string.format("copy %d images from %s to %s (image_list.yaml; blobs the destination has are not sent)",
      #list, ctx.site.upstream, ctx.site.local_registry),
    details = { services.label(sel) },
    inputs = function() return list end,
    force = ctx.opts.verify_images,
    reuse = function(out) ctx.digests = out.digests end,
    run = function()
      local r = core.registry.mirror({ images = list, allow_failures = true, concurrency = M.MIRROR_CONCURRENCY,
        verify = ctx.opts.verify_images or false, registries = site_mod.registry_settings(ctx.infra) })
      if #r.failed > 0 then
        util.fail("%d of %d images not copied:\n%s", #r.failed, #list, failures(r.failed))
      end
      local digests = {}
      for _, c in ipairs(util.extend(util.extend(util.extend({}, r.copied), r.present), r.repaired)) do
        digests[c.destination] = c.digest
      end
      ctx.digests = digests
      return { digests = digests, blobs_sent = r.blobs_sent, bytes_sent = r.bytes_sent, copied = #r.copied, present = #r.present,
        repaired = #r.repaired }
    end,
  })
end

--- Whether the local registry's `repo:tag` is still the image this deploy
--- rebuilt (`digest`, from the state): another deploy (another ODL version,
--- another patch) may have rebuilt the tag since, and its image is not ours.
local function still_ours(ctx, repo, tag, digest)
  if not digest then return false end
  local ok, r = pcall(core.registry.digest, { registry = ctx.infra.registries["local"], repository = repo,
    reference = tag, registries = site_mod.registry_settings(ctx.infra) })
  if ok and r.digest and r.digest ~= digest then
    core.log.write({ level = "warn", msg = string.format("%s:%s is not the image this deploy built (%s, now %s); rebuilding",
      repo, tag, digest, r.digest) })
  end
  return ok and r.digest == digest
end

--- Whether the rebuilt image `repo@digest` lost a blob from the local
--- registry's storage (--verify-images): it is built and pushed again.
local function lost_blobs(ctx, repo, digest)
  local r = core.registry.missing_blobs({ registry = ctx.infra.registries["local"], repository = repo,
    reference = digest, registries = site_mod.registry_settings(ctx.infra) })
  if #r.missing > 0 then
    core.log.write({ level = "warn", msg = string.format("%s@%s: %d blob(s) missing from the local registry; rebuilding",
      repo, digest, #r.missing) })
  end
  return #r.missing > 0
end

--- 8d: patched images rebuilt from their Dockerfile, tagged `apex` and
--- pushed, a few at once. An image whose Dockerfile (and files) and base
--- digest match its last build, with its `apex` tag still in the local
--- registry, is not rebuilt (checked on every full run: a tag lookup per
--- image); with --verify-images every blob of such an image is checked too
--- and an image that lost one is rebuilt (counted as repaired).
---@param ctx apex.Ctx
local function rebuild(ctx, builds)
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
    step = M.number, key = "rebuild_patched", recheck = true,
    text = string.format("build %d patched images on %s from their Dockerfile with --build-arg REAL_USER, push them as :%s",
      #builds, site_mod.engine_label(ctx.infra), images.PATCHED_TAG),
    details = (function()
      local d = {}
      for i, b in ipairs(builds) do d[i] = string.format("%s from %s -> %s", b.context, b.from, b.tag) end
      return d
    end)(),
    inputs = function()
      local h = {}
      for img, v in pairs(per_image()) do h[img] = v.hash end
      return h
    end,
    force = ctx.opts.verify_images,
    run = function()
      local st, todo, stage = ctx.state, {}, util.path(ctx.tmp_dir, M.REBUILD_STAGE)
      core.fs.remove({ path = stage })
      core.fs.mkdir({ path = stage })
      local kept, repairing = core.data.array(), {}
      local hashes = per_image()
      for img, v in pairs(hashes) do
        local repo = images.repository(ctx.site, img)
        local rec, same = state.rebuild(st, img, v.hash)
        local keep = same and still_ours(ctx, repo, images.PATCHED_TAG, rec.digest)
        if keep and ctx.opts.verify_images and lost_blobs(ctx, repo, rec.digest) then
          keep, repairing[img] = false, true
        end
        if keep then
          kept[#kept + 1] = img
        else
          todo[#todo + 1] = img
          for rel, content in pairs(v.files) do
            core.fs.write({ path = util.path(stage, rel), content = content })
          end
        end
      end
      table.sort(todo)
      table.sort(kept)
      if #todo == 0 then return { rebuilt = core.data.array(), kept = kept, repaired = 0 } end
      local r = rebuild_mod.patched({ site = ctx.site, images = todo, stage = stage, engine = site_mod.engine(ctx.infra),
        registries = site_mod.registry_settings(ctx.infra), concurrency = M.BUILD_CONCURRENCY,
        -- Recorded as each one is pushed: a failure of another keeps this one for --resume.
        on_built = function(img, built) state.put_rebuild(st, img, hashes[img].hash, built, M.number) end })
      local rebuilt, repaired = core.data.array(), 0
      for _, b in ipairs(r.rebuilt) do
        rebuilt[#rebuilt + 1] = b.image
        if repairing[b.name] then repaired = repaired + 1 end
      end
      if #r.missing > 0 then
        util.fail("patched images not in the local registry %s: %s", ctx.infra.registries["local"],
          table.concat(r.missing, ", "))
      end
      if #r.failed > 0 then
        util.fail("%d of %d patched images failed to build:\n%s", #r.failed, #todo, failures(r.failed))
      end
      return { rebuilt = rebuilt, kept = kept, repaired = repaired }
    end,
  })
end

--- 8f: the Ceph daemon image copied into the local registry.
---@param ctx apex.Ctx
---@param ref {source: string, destination: string}
local function ceph_image(ctx, ref)
  runner.add(ctx, {
    step = M.number, key = "ceph_image", recheck = true, group = runner.INDEPENDENT,
    text = string.format("copy the Ceph daemon image %s to %s", ref.source, ref.destination),
    inputs = function() return ref end,
    run = function()
      local r = core.registry.copy({ source = ref.source, destination = ref.destination,
        registries = site_mod.registry_settings(ctx.infra) })
      return { digest = r.digest, status = r.status, blobs_sent = r.blobs_sent }
    end,
  })
end


---@param ctx apex.Ctx
function M.plan(ctx)
  local o = ctx.settings.deploy_options
  -- Only the images the deploy's services use (apex.services), the patched
  -- ones and those a plugin names; every image with registries.mirror_all.
  local named = {}
  for img in pairs(ctx.plugin_images or {}) do named[img] = ctx.plugin_images[img] end
  for _, img in ipairs(ctx.patched_list) do named[img] = "patched" end
  local sel = services.selection(ctx, named)
  ctx.mirror = sel
  if #sel.misses > 0 then
    local where, lines = tht.release_label(ctx.tht_release, o.os_version) .. " with the deploy's env files", {}
    for i, m in ipairs(sel.misses) do lines[i] = "  " .. services.miss_line(m, where, ctx.driver) end
    util.fail("%d enabled service%s of the deploy use%s images apex does not mirror (on a release whose THT "
      .. "defaults to OVN, %s switches the OVN services off):\n%s", #sel.misses, #sel.misses == 1 and "" or "s",
      #sel.misses == 1 and "s" or "", tht.NEUTRON_OVS, table.concat(lines, "\n"))
  end
  if #sel.unknown > 0 then
    ctx.notes[#ctx.notes + 1] = string.format("the services of %s are not known offline (no facts of %s): "
      .. "images they need are not mirrored unless the site sets registries.mirror_all; the preflight checks them",
      table.concat(sel.unknown, ", "), tht.release_label(ctx.tht_release, o.os_version))
  end
  local copy = images.copy_list(ctx.site, sel.set, o.ceph)
  for _, c in ipairs(copy) do
    if c.name == "ceph/" .. images.CEPH.name and ctx.infra.registries.ceph_image then
      c.from = ctx.infra.registries.ceph_image
    end
  end
  local builds = core.data.array()
  for _, img in ipairs(ctx.patched_list) do
    builds[#builds + 1] = {
      image = img,
      context = "containers/" .. img,
      from = images.ref(ctx.site, img).to,
      tag = images.ref(ctx.site, img, images.PATCHED_TAG).to,
      build_args = { REAL_USER = "<the image's own user, from its config>" },
    }
  end
  plan.file(ctx, "image_list.yaml", core.yaml.dump({ source = ctx.image_source, driver = ctx.driver,
    selection = services.label(sel), why = sel.kept, copy = copy }), { upload = false })
  plan.file(ctx, "image_builds.yaml", core.yaml.dump({ builds = builds }), { upload = false })
  plan.file(ctx, tht.IMAGE_ENV, core.yaml.dump(images.env_file(ctx.site, sel.set, ctx.patched, o.ceph)))
  -- TripleO's prepare input: Apex hands it to `openstack undercloud install`
  -- (undercloud.conf's container_images_file) and to `openstack tripleo
  -- container image prepare`. apex mirrors, rebuilds and writes the image env
  -- file itself (8c-8e), so only an undercloud apex installs reads it (step 2
  -- uploads it); for an existing undercloud it is not written.
  if ctx.infra.undercloud.create then
    plan.file(ctx, images.PREPARE_FILE,
      core.yaml.dump(images.prepare_parameter(ctx.site, ctx.driver, ctx.patched, o.ceph)), { upload = false })
  end
  local list, ceph = {}, nil
  for _, c in ipairs(copy) do
    if c.name == "ceph/" .. images.CEPH.name then
      ceph = { source = c.from, destination = c.to }
    else
      list[#list + 1] = { source = c.from, destination = c.to }
    end
  end
  upload(ctx, plan.ARCHIVE)
  mirror(ctx, list, sel)
  if #builds > 0 then rebuild(ctx, builds) end
  if ceph then ceph_image(ctx, ceph) end
end

return M
