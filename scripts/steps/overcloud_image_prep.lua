--- Step 3: overcloud image prep. Which container images to patch and why
--- (SDN rules from the plugins, upstream patches of Python projects), the
--- overcloud image's customization list (patches of other projects; what
--- every deploy gets, apex.overcloud_base; the dataplane's, apex.dataplane;
--- the plugins', which may replace or drop those by id), and its actions: undercloud patches applied on the undercloud,
--- the customized overcloud-full.qcow2.
local core = require("apex.core")
local util = require("apex.util")
local plugins = require("apex.plugins")
local hook_ctx = require("apex.hook_ctx")
local images = require("apex.images")
local patches = require("apex.patches")
local tht = require("apex.tht")
local runner = require("apex.runner")
local site_mod = require("apex.site")
local customize = require("apex.customize")
local state = require("apex.state")
local plan = require("apex.plan")
local artifacts = require("apex.artifacts")

---@type apex.Step
local M = { number = 3, name = "overcloud_image_prep", summary = "images to patch and why; overcloud image customization" }

M.OVERCLOUD_TAR = "overcloud-full.tar"
M.OVERCLOUD_IMAGE = "overcloud-full.qcow2"

local function exists(path)
  return core.fs.exists({ path = path }).exists
end

local function image_names(set)
  local out = {}
  for i, img in ipairs(set) do out[i] = img.name end
  return out
end

-- The image set: the SDN plugin's driver, then the catalog when a source
-- registry is configured and reachable, else the shipped list.
---@param ctx apex.Ctx
---@param view apex.HookCtx  the step's hook context
local function choose_images(ctx, view)
  local named = {}
  for _, r in ipairs(plugins.call_all(ctx.plugins, "images", view)) do
    if r.result.driver then
      ctx.driver = r.result.driver
    end
    for i, name in ipairs(r.result.mirror or {}) do named[#named + 1] = { name = name, plugin = r.plugin, at = i } end
  end
  local source = ctx.settings.global_params.source_registry
  if not source and ctx.infra.registries.given_source then
    source = "http://" .. ctx.infra.registries.source
  end
  local available
  if source then
    local why
    available, why = images.catalog({ registry = source, namespace = ctx.site.namespace,
      registries = site_mod.registry_settings(ctx.infra) })
    if available then
      ctx.image_source = "catalog " .. source
    else
      ctx.notes[#ctx.notes + 1] = "source registry catalog " .. why .. "; using the shipped image list"
    end
  end
  ctx.image_source = ctx.image_source or "shipped list"
  ctx.image_set = images.image_set(ctx.driver, available, ctx.settings.deploy_options.os_version)
  if available then
    local missing = {}
    for _, img in ipairs(images.missing(ctx.driver, available, ctx.settings.deploy_options.os_version)) do missing[#missing + 1] = img.name end
    ctx.missing_images = missing
    if #missing > 0 then
      local msg = string.format("%d images of the shipped list are not in %s (%s): not copied, and their parameters "
        .. "stay at THT's defaults in %s", #missing, source, table.concat(missing, ", "), tht.IMAGE_ENV)
      if ctx.infra.registries.require_all_images then
        util.fail("%s (site %s: registries.require_all_images)", msg, ctx.infra.source)
      end
      ctx.notes[#ctx.notes + 1] = msg
    end
  end
  ctx.in_set = {}
  for _, img in ipairs(ctx.image_set) do ctx.in_set[img.name] = true end
  -- Images a plugin wants mirrored whatever services the deploy enables.
  ctx.plugin_images = {}
  for _, n in ipairs(named) do
    if not ctx.in_set[n.name] then
      util.fail("plugin %s (%s): hook images: mirror[%d] %s is not an image of this deployment (%s, driver %s)",
        n.plugin.name, n.plugin.origin, n.at, util.show(n.name), ctx.image_source, tostring(ctx.driver or "default"))
    end
    ctx.plugin_images[n.name] = "named by plugin " .. n.plugin.name
  end
end

local function from_ref(ctx, image)
  return images.ref(ctx.site, image).to
end

-- Upstream patches: Python projects patch every image of the project; the
-- rest customize the overcloud (or undercloud) image.
local function upstream_patches(ctx, node, customize_list)
  local gp = ctx.settings.global_params
  local where = string.format("%s: global_params.patches.%s", ctx.settings.source, node)
  local fetched = patches.fetch_all(ctx.patches[node], {
    gerrit_url = gp.gerrit_url, os_version = ctx.settings.deploy_options.os_version, where = where,
    wheres = ctx.patches.wheres[node], offline_ok = ctx.plan,
  })
  local unfetched = {}
  for _, f in ipairs(fetched) do
    local p = f.patch
    if f.empty then
      ctx.skipped[#ctx.skipped + 1] = { change_id = p["change-id"], project = p.project,
        why = "nothing left to apply without " .. table.concat(f.stripped, ", ") }
      goto continue
    end
    if f.status == "unfetched" then
      unfetched[#unfetched + 1] = p["change-id"]
      unfetched.reason = f.reason
    end
    local id = p["change-id"]
    local path, kind = patches.project_path(p.project, f.diff)
    local short = p.project:match("([^/]+)$")
    local targets = {}
    if kind == "python" and node == "overcloud" then
      targets = images.project_images(short, image_names(ctx.image_set))
      if #targets == 0 then
        targets = images.project_images((short:gsub("^python%-", "")), image_names(ctx.image_set))
      end
      if #targets == 0 then
        util.fail("%s: patch %s: no container image of project %s in the %s (images are named <project>-<service>)",
          where, id, p.project, ctx.image_source)
      end
    end
    local created, unknown = nil, "no source registry configured"
    if f.status == "MERGED" and #targets > 0 and gp.source_registry then
      created, unknown = images.created({
        registry = gp.source_registry, repo = images.repository(ctx.site, targets[1]), tag = images.TAG,
      })
    end
    if patches.promoted(f, created) then
      ctx.skipped[#ctx.skipped + 1] = {
        change_id = id, project = p.project,
        why = string.format("merged before the upstream image %s was built: already in it", targets[1]),
      }
    else
      if f.status == "MERGED" and #targets > 0 and not created then
        ctx.notes[#ctx.notes + 1] = string.format(
          "patch %s is merged but the upstream image's build time is unknown (%s); applying it", id, unknown)
      end
      local reason = string.format("patch %s (%s, %s)", id, p.project, f.source)
      local files = f.diff and { [patches.file_name(p)] = f.diff } or nil
      if #targets > 0 then
        for _, image in ipairs(targets) do
          ctx.dockerfiles:get(image, from_ref(ctx, image)):add(patches.container_ops(p, path), reason, files)
        end
      else
        util.extend(customize_list, patches.image_ops(p, path, reason))
        if f.diff then plan.file(ctx, util.path(node .. "_patches", patches.file_name(p)), f.diff) end
      end
    end
    ::continue::
  end
  if #unfetched > 0 then
    ctx.notes[#ctx.notes + 1] = string.format("%s patches %s: Gerrit not reachable now (%s); fetched at deploy",
      node, table.concat(unfetched, ", "), unfetched.reason)
  end
end

--- Undercloud patches (THT, puppet there): each patch file uploaded to
--- `<work_dir>/undercloud_patches/` and applied in its directory (THT: the
--- site's tht_dir) with `patch -p1`, as root through `sudo -n` when the SSH
--- user is not root. A patch already in place (it reverses cleanly) is not
--- applied twice. Other customization ops cannot run on a live host and are
--- said so.
---@param ctx apex.Ctx
---@param list apex.Customization[]
local function undercloud_patches(ctx, list)
  local u = ctx.infra.undercloud
  local host = site_mod.ssh_host(ctx.infra)
  local todo, details = core.data.array(), {}
  for _, c in ipairs(list) do
    local file, dir = customize.file_and_dest(c.arg)
    if c.op == "patch" and file and ctx.files["undercloud_patches/" .. file] then
      todo[#todo + 1] = { file = file, dir = tht.on_site(dir, u.tht_dir), diff = ctx.files["undercloud_patches/" .. file],
        reason = c.reason }
      details[#details + 1] = string.format("patch -p1 in %s with %s (%s)", tht.on_site(dir, u.tht_dir), file, c.reason)
    else
      ctx.notes[#ctx.notes + 1] = string.format(
        "undercloud: %s %s not applied (%s): only patches are applied to a running undercloud", c.op, c.arg, c.reason)
    end
  end
  if #todo == 0 then return end
  runner.add(ctx, {
    step = M.number, key = "undercloud_patches", text = string.format("apply %d patches on the undercloud", #todo),
    details = details,
    inputs = function() return { host = host, work_dir = u.work_dir, patches = todo } end,
    run = function()
      site_mod.hold_undercloud(ctx.infra, ctx.tmp_dir)
      local sudo = u.user ~= "root" and "sudo -n " or ""
      local applied = core.data.array()
      for _, p in ipairs(todo) do
        local remote = u.work_dir .. "/undercloud_patches/" .. p.file
        core.ssh.upload({ host = host, from = util.path(ctx.tmp_dir, "undercloud_patches", p.file), to = remote, mode = 420 })
        local f, d = util.shell_quote(remote), util.shell_quote(p.dir)
        local script = "cd " .. d .. " && if patch -p1 -R --dry-run -s -f < " .. f .. " >/dev/null 2>&1; "
          .. "then echo 'already applied'; else patch -p1 --forward --batch < " .. f .. "; fi"
        local r = core.ssh.run({ host = host, command = sudo .. "sh -c " .. util.shell_quote(script), check = false })
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

--- The customization's operations (then those of later steps, e.g. the loop
--- device of step 6), once per run; what cannot be applied here is said
--- (warning and summary note). Called when the action runs, after step 1
--- fetched the files the operations name.
---@param ctx apex.Ctx
---@return apex.ImageOp[]
local function customize_ops(ctx)
  if not ctx.customize_ops then
    local ops, skipped = customize.image_ops(ctx, ctx.overcloud_customize)
    ctx.image_skipped = skipped
    for _, s in ipairs(skipped) do
      local msg = string.format("overcloud image: %s %s not applied (%s): %s", s.op, s.arg, s.reason, s.why)
      core.log.write({ level = "warn", msg = msg })
      ctx.notes[#ctx.notes + 1] = msg
    end
    ctx.customize_ops = util.extend(ops, ctx.image_ops)
  end
  return ctx.customize_ops
end

--- Unpacks a pristine overcloud-full.qcow2 and applies the operations (the
--- list is read when the action runs, so step 6 can add its loop device).
---@param ctx apex.Ctx
local function customize_image(ctx)
  local image = util.path(ctx.tmp_dir, plan.IMAGE_DIR, M.OVERCLOUD_IMAGE)
  local details = {}
  for _, c in ipairs(ctx.overcloud_customize) do
    details[#details + 1] = string.format("%s %s (%s)%s", c.op, c.arg, c.reason, c.owner and (" [" .. c.owner .. "]") or "")
  end
  for _, change in ipairs(ctx.customize_changes or {}) do
    details[#details + 1] = change
  end
  runner.add(ctx, {
    step = M.number, key = "customize_image", details = details,
    text = string.format("customize %s/%s: %d operations (overcloud_customize.yaml), then those of later steps",
      plan.IMAGE_DIR, M.OVERCLOUD_IMAGE, #ctx.overcloud_customize),
    inputs = function()
      local a = ctx.artifacts and ctx.artifacts[M.OVERCLOUD_TAR]
      local ops = customize_ops(ctx)
      -- A changed file behind an upload/unpack changes the image too.
      local sums = {}
      for _, op in ipairs(ops) do
        if op.from then sums[op.from] = state.file_sum(ctx.state, op.from) end
      end
      return { artifact = a and a.generation, ops = ops, files = sums }
    end,
    valid = function() return exists(image) end,
    run = function()
      -- The cached tarball is checked against its recorded sha256 as it is unpacked.
      local r = artifacts.unpack(ctx, M.OVERCLOUD_TAR, util.path(ctx.tmp_dir, plan.IMAGE_DIR))
      if not exists(image) then
        util.fail("%s holds no %s", r.path, M.OVERCLOUD_IMAGE)
      end
      local ops = customize_ops(ctx)
      artifacts.check_used(ctx, ops)
      if #ops == 0 then return { image = image, applied = core.data.array() } end
      local r = core.image.customize({ image = image, ops = ops })
      return { image = r.image, applied = r.applied, skipped = ctx.image_skipped }
    end,
  })
end

---@param ctx apex.Ctx
function M.plan(ctx)
  local view = hook_ctx.new(ctx)
  choose_images(ctx, view)
  for _, r in ipairs(plugins.call_all(ctx.plugins, "patches", view)) do
    for i, cp in ipairs(r.result) do
      if not ctx.in_set[cp.image] then
        util.fail("plugin %s (%s): hook patches: [%d].image %s is not an image of this deployment (%s, driver %s)",
          r.plugin.name, r.plugin.origin, i, util.show(cp.image), ctx.image_source, tostring(ctx.driver or "default"))
      end
      ctx.dockerfiles:get(cp.image, from_ref(ctx, cp.image)):add(cp.ops, cp.reason .. " [" .. r.plugin.name .. "]", cp.files)
    end
  end
  upstream_patches(ctx, "overcloud", ctx.overcloud_customize)
  upstream_patches(ctx, "undercloud", ctx.undercloud_customize)
  -- The common base, the dataplane, then the plugins (which may replace or
  -- drop a group of the first two by its id).
  ctx.customize_changes = {}
  for _, r in ipairs(plugins.call_all(plugins.customizers(ctx.plugins), "overcloud_customize", view)) do
    util.extend(ctx.customize_changes, customize.merge(ctx.overcloud_customize, r.plugin.name, r.result))
  end
  ctx.patched_list = ctx.dockerfiles:images()
  ctx.patched = {}
  for _, img in ipairs(ctx.patched_list) do ctx.patched[img] = true end
  plan.file(ctx, "overcloud_customize.yaml", core.yaml.dump({ overcloud_image = M.OVERCLOUD_IMAGE, steps = ctx.overcloud_customize }),
    { upload = false })
  if #ctx.undercloud_customize > 0 then
    plan.file(ctx, "undercloud_customize.yaml", core.yaml.dump({ steps = ctx.undercloud_customize }), { upload = false })
    undercloud_patches(ctx, ctx.undercloud_customize)
  end
  customize_image(ctx)
end

return M
