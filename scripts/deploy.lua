--- The container deploy flow, as nine named steps over one context (`ctx`).
---
--- `apex deploy` calls `run(opts)`. Everything is evaluated first (settings,
--- plugins, patches, images, env files, the deploy command); in plan mode the
--- steps that would act on a host, registry or engine record what they would
--- do, and the artifacts are written under the tmp dir only. A scenario may
--- replace any step by name (`steps = { deploy_command = function(ctx) ... end }`).
local core = require("apex.core")
local util = require("apex.util")
local settings_mod = require("apex.settings")
local plugins = require("apex.plugins")
local images = require("apex.images")
local patches = require("apex.patches")
local dockerfile = require("apex.dockerfile")
local tht = require("apex.tht")
local plan = require("apex.plan")
local site_mod = require("apex.site")
local actions = require("apex.actions")
local runner = require("apex.runner")

local M = {}

---@class apex.DeployOpts
---@field scenario? string
---@field deploy_settings? string
---@field network_settings? string
---@field plan boolean
---@field no_fetch boolean
---@field resume boolean
---@field redeploy boolean  run the deploy command even when done with the same inputs
---@field site? string   site settings file (-s)
---@field tmp_dir string
---@field log_file string
---@field lua_paths string[]

---@class apex.Ctx
---@field opts apex.DeployOpts
---@field plan boolean
---@field tmp_dir string
---@field scenario apex.Scenario
---@field settings apex.DeploySettings
---@field network apex.NetworkSettings
---@field uc_ip string
---@field site apex.ImageSite
---@field infra apex.Site           the site settings (-s): undercloud, engine, registries, artifacts
---@field image_ops apex.ImageOp[]   real mode: image operations of later steps (the loop device), after the customization's
---@field extra_artifacts apex.ExtraArtifact[]  what plugins want from the artifact server besides the images
---@field image_skipped table[]      real mode: customizations that cannot be applied here, and why
---@field uploaded_sums? table<string, string>  real mode: sha256 of last run's uploads, as step 2 found them on the undercloud
---@field plugins apex.Plugin[]
---@field plugin_names string[]
---@field plugin_labels string[]
---@field driver? string
---@field image_set apex.Image[]
---@field image_source string        "catalog <url>" or "shipped list"
---@field dockerfiles apex.DockerfileSet
---@field patched table<string, boolean>
---@field patched_list string[]
---@field skipped {change_id: string, project: string, why: string}[]
---@field overcloud_customize apex.Customization[]
---@field undercloud_customize apex.Customization[]
---@field loop_devices apex.LoopDevice[]
---@field env_files apex.EnvFile[]
---@field deploy_command string
---@field files table<string, string>   artifacts, path relative to tmp_dir
---@field actions {step: integer, text: string}[]
---@field notes string[]

M.ARTIFACTS = { "overcloud-full.tar", "ironic-python-agent.tar" }
M.UPSTREAM_ARTIFACTS = "https://images.rdoproject.org/%s/rdo_trunk/current-tripleo/"
M.CACHE_DIR = "/var/cache/apex"

--- The steps, in order: number, name, what it does.
M.STEPS = {
  { 1, "fetch_artifacts", "upstream artifacts into the cache (only when newer)" },
  { 2, "undercloud", "reach the undercloud" },
  { 3, "overcloud_image_prep", "images to patch and why; overcloud image customization" },
  { 4, "container_dirs", "containers/<image>/ for each patched image" },
  { 5, "dockerfiles", "Dockerfiles and patch files; docker_patches.tar.gz" },
  { 6, "ceph_loop_device", "persistent loop device for Ceph OSDs" },
  { 7, "deploy_command", "env files, scales, NTP: the deploy command" },
  { 8, "prepare_containers", "upload patches, copy images, build patched ones, image env file" },
  { 9, "run_deploy", "run the deploy command on the undercloud" },
}

-- Loading inputs -------------------------------------------------------------

local SCENARIO_EXTRA = { description = true, inventory = true, steps = true }

--- Loads a scenario by name (override dirs, then shipped) or from a .lua path.
---@param name string
---@param lua_paths string[]
---@return apex.Scenario
function M.load_scenario(name, lua_paths)
  local value, origin
  if name:find("/", 1, true) or name:match("%.lua$") then
    local chunk, err = loadfile(name, "t")
    if not chunk then
      util.fail("scenario %s: %s", name, err)
    end
    local ok, v = pcall(chunk)
    if not ok then
      util.fail("scenario %s: %s", name, util.message(v))
    end
    value, origin = v, name
  else
    local module = "scenarios." .. name
    local ok, v = pcall(require, module)
    if not ok then
      if tostring(v):find("module '" .. module .. "' not found", 1, true) then
        local places = {}
        for _, d in ipairs(lua_paths) do places[#places + 1] = util.path(d, "scenarios") end
        places[#places + 1] = "shipped (scripts/scenarios/ in the apex binary)"
        util.fail("unknown scenario %q (see `apex scenarios`; searched: %s)", name, table.concat(places, ", "))
      end
      util.fail("scenario %s failed to load: %s", name, util.message(v))
    end
    value, origin = v, "scenario " .. name
  end
  if type(value) ~= "table" then
    util.fail("%s: a scenario returns a table of deploy settings (got %s)", origin, type(value))
  end
  if value.steps ~= nil and type(value.steps) ~= "table" then
    util.fail("%s: steps: expected a table of step functions by name", origin)
  end
  local known = {}
  for _, s in ipairs(M.STEPS) do known[s[2]] = true end
  for k, f in pairs(value.steps or {}) do
    if not known[k] or type(f) ~= "function" then
      util.fail("%s: steps.%s: expected a function replacing a step (valid: %s)", origin, tostring(k),
        table.concat(util.sorted_keys(known), ", "))
    end
  end
  local raw = {}
  for k, v in pairs(value) do
    if not SCENARIO_EXTRA[k] then raw[k] = v end
  end
  return {
    name = name:match("([^/]+)%.lua$") or name,
    description = value.description,
    origin = origin,
    settings = raw,
    inventory = value.inventory,
    steps = value.steps or {},
  }
end

--- Builds the context: loads and validates every input, loads the plugins
--- and lets them validate. Writes nothing.
---@param opts apex.DeployOpts
---@return apex.Ctx
function M.new_ctx(opts)
  local lua_paths = opts.lua_paths or {}
  local scenario
  if opts.scenario then
    scenario = M.load_scenario(opts.scenario, lua_paths)
  else
    scenario = { name = opts.deploy_settings:match("([^/]+)%.ya?ml$") or opts.deploy_settings, origin = opts.deploy_settings, steps = {} }
  end
  local settings
  if opts.deploy_settings then
    settings = settings_mod.load_deploy(opts.deploy_settings)
    scenario.description = scenario.description or ("deploy settings " .. opts.deploy_settings)
  else
    settings = settings_mod.validate_deploy(scenario.settings, scenario.origin)
  end
  local network
  if opts.network_settings then
    network = settings_mod.load_network(opts.network_settings)
  else
    network = settings_mod.validate_network(require("apex.network_defaults"), "shipped network settings (virtual lab)")
  end
  local o = settings.deploy_options
  local ctx = {
    opts = opts,
    plan = opts.plan,
    tmp_dir = opts.tmp_dir,
    scenario = scenario,
    settings = settings,
    network = network,
    uc_ip = network.undercloud_ip,
    files = {},
    -- Lists (core.array): written as [] to plan.json and the YAML files when empty.
    actions = core.array(),
    notes = core.array(),
    skipped = core.array(),
    overcloud_customize = core.array(),
    undercloud_customize = core.array(),
    loop_devices = core.array(),
    image_ops = core.array(),
    image_skipped = core.array(),
    dockerfiles = dockerfile.set(),
  }
  local namespace = images.namespace(o.os_version)
  local source = settings.global_params.source_registry
  ctx.infra = site_mod.load(opts.site, ctx.uc_ip, o.os_version)
  local reg = ctx.infra.registries
  ctx.site = {
    upstream = (reg.given_source and reg.source or source and images.host_of(source) or images.UPSTREAM_HOST)
        .. "/" .. namespace,
    local_registry = reg["local"],
    namespace = namespace,
  }
  ctx.plugins = plugins.enabled(settings)
  ctx.plugin_names, ctx.plugin_labels = {}, {}
  for _, p in ipairs(ctx.plugins) do
    ctx.plugin_names[#ctx.plugin_names + 1] = p.name
    ctx.plugin_labels[#ctx.plugin_labels + 1] = p.name .. " [" .. p.origin .. "]"
  end
  plugins.call_all(ctx.plugins, "validate", settings)
  return ctx
end

-- The steps ------------------------------------------------------------------

M.steps = {}

--- Step 1: upstream artifacts, downloaded only when newer than the cache.
---@param ctx apex.Ctx
function M.steps.fetch_artifacts(ctx)
  local base, cache = ctx.infra.artifacts.url, ctx.infra.artifacts.cache_dir
  for _, a in ipairs(M.ARTIFACTS) do
    if ctx.opts.no_fetch then
      plan.would(ctx, 1, string.format("use cached %s/%s (fetch %s%s only if missing), unpack into the image dir",
        cache, a, base, a))
    else
      plan.would(ctx, 1, string.format("fetch %s%s if newer than %s/%s (If-Modified-Since, ETag), unpack it",
        base, a, cache, a))
    end
  end
  ctx.extra_artifacts = core.array()
  for _, r in ipairs(plugins.call_all(ctx.plugins, "artifacts", ctx)) do
    util.extend(ctx.extra_artifacts, r.result)
  end
  for _, e in ipairs(ctx.extra_artifacts) do
    plan.would(ctx, 1, string.format("fetch %s%s if the server has it, for %s (without it, what needs it is left out)",
      base, e.name, e.reason))
  end
  if not ctx.plan then actions.fetch(ctx, M.ARTIFACTS, ctx.extra_artifacts) end
end

--- Step 2: the undercloud is an existing host reached over SSH.
---@param ctx apex.Ctx
function M.steps.undercloud(ctx)
  local u = ctx.infra.undercloud
  local where = u.user .. "@" .. u.address .. (u.port ~= 22 and (":" .. u.port) or "")
  plan.would(ctx, 2, "reach the undercloud " .. where .. " over SSH (host key checked against known_hosts)")
  if not ctx.plan then actions.undercloud(ctx) end
end

local function image_names(set)
  local out = {}
  for i, img in ipairs(set) do out[i] = img.name end
  return out
end

-- The image set: the SDN plugin's driver, then the catalog when a source
-- registry is configured and reachable, else the shipped list.
local function choose_images(ctx)
  for _, r in ipairs(plugins.call_all(ctx.plugins, "images", ctx)) do
    if r.result.driver then
      ctx.driver = r.result.driver
    end
  end
  local source = ctx.settings.global_params.source_registry
  if not source and ctx.infra.registries.given_source then
    source = "http://" .. ctx.infra.registries.source
  end
  local available
  if source then
    local why
    available, why = images.catalog({ registry = source, namespace = ctx.site.namespace })
    if available then
      ctx.image_source = "catalog " .. source
    else
      ctx.notes[#ctx.notes + 1] = "source registry catalog " .. why .. "; using the shipped image list"
    end
  end
  ctx.image_source = ctx.image_source or "shipped list"
  ctx.image_set = images.image_set(ctx.driver, available)
  ctx.in_set = {}
  for _, img in ipairs(ctx.image_set) do ctx.in_set[img.name] = true end
end

local function from_ref(ctx, image)
  return images.ref(ctx.site, image).to
end

-- Upstream patches: Python projects patch every image of the project; the
-- rest customize the overcloud (or undercloud) image.
local function upstream_patches(ctx, node, customize)
  local gp = ctx.settings.global_params
  local where = string.format("%s: global_params.patches.%s", ctx.settings.source, node)
  local fetched = patches.fetch_all(gp.patches[node], {
    gerrit_url = gp.gerrit_url, os_version = ctx.settings.deploy_options.os_version, where = where,
  })
  for _, f in ipairs(fetched) do
    local p = f.patch
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
        registry = gp.source_registry, repo = ctx.site.namespace .. "/" .. images.NAME_PREFIX .. targets[1], tag = images.TAG,
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
      if #targets > 0 then
        for _, image in ipairs(targets) do
          ctx.dockerfiles:get(image, from_ref(ctx, image))
            :add(patches.container_ops(p, path), reason, { [patches.file_name(p)] = f.diff })
        end
      else
        util.extend(customize, patches.image_ops(p, path, reason))
        plan.file(ctx, util.path(node .. "_patches", patches.file_name(p)), f.diff)
      end
    end
  end
end

--- Step 3: which container images to patch and why (SDN rules, upstream
--- patches), and the overcloud image customization list.
---@param ctx apex.Ctx
function M.steps.overcloud_image_prep(ctx)
  choose_images(ctx)
  for _, r in ipairs(plugins.call_all(ctx.plugins, "patches", ctx)) do
    for i, cp in ipairs(r.result) do
      if not ctx.in_set[cp.image] then
        util.fail("plugin %s (%s): hook patches: [%d].image %q is not an image of this deployment (%s, driver %s)",
          r.plugin.name, r.plugin.origin, i, cp.image, ctx.image_source, tostring(ctx.driver or "default"))
      end
      ctx.dockerfiles:get(cp.image, from_ref(ctx, cp.image)):add(cp.ops, cp.reason .. " [" .. r.plugin.name .. "]", cp.files)
    end
  end
  upstream_patches(ctx, "overcloud", ctx.overcloud_customize)
  upstream_patches(ctx, "undercloud", ctx.undercloud_customize)
  for _, r in ipairs(plugins.call_all(ctx.plugins, "overcloud_customize", ctx)) do
    util.extend(ctx.overcloud_customize, r.result)
  end
  for _, k in ipairs({ "http_proxy", "https_proxy" }) do
    local v = ctx.network[k]
    if v then
      ctx.overcloud_customize[#ctx.overcloud_customize + 1] = {
        op = "run-command", arg = "echo " .. util.shell_quote(k .. "=" .. v) .. " >> /etc/environment",
        reason = k .. " from the network settings",
      }
    end
  end
  ctx.patched_list = ctx.dockerfiles:images()
  ctx.patched = {}
  for _, img in ipairs(ctx.patched_list) do ctx.patched[img] = true end
  plan.file(ctx, "overcloud_customize.yaml", core.yaml_dump({ overcloud_image = "overcloud-full.qcow2", steps = ctx.overcloud_customize }))
  if #ctx.undercloud_customize > 0 then
    plan.file(ctx, "undercloud_customize.yaml", core.yaml_dump({ steps = ctx.undercloud_customize }))
    for _, c in ipairs(ctx.undercloud_customize) do
      plan.would(ctx, 3, string.format("on the undercloud: %s %s (%s)", c.op, c.arg, c.reason))
    end
    if not ctx.plan then actions.undercloud_patches(ctx, ctx.undercloud_customize) end
  end
  if not ctx.plan then actions.customize(ctx) end
end

--- Step 4: containers/<image>/ for each patched image (created with its files).
---@param ctx apex.Ctx
function M.steps.container_dirs(ctx)
  ctx.container_dirs = {}
  for _, img in ipairs(ctx.patched_list) do
    ctx.container_dirs[#ctx.container_dirs + 1] = "containers/" .. img
  end
end

--- Step 5: the Dockerfiles and patch files; archived as docker_patches.tar.gz
--- when the artifacts are written.
---@param ctx apex.Ctx
function M.steps.dockerfiles(ctx)
  for rel, content in pairs(ctx.dockerfiles:files()) do
    plan.file(ctx, "containers/" .. rel, content)
  end
end

--- Step 6: a persistent loop device for Ceph when no disk is given.
---@param ctx apex.Ctx
function M.steps.ceph_loop_device(ctx)
  for _, r in ipairs(plugins.call_all(ctx.plugins, "loop_devices", ctx)) do
    for _, l in ipairs(r.result) do
      ctx.loop_devices[#ctx.loop_devices + 1] = l
      local unit = "losetup-" .. l.device:match("([^/]+)$") .. ".service"
      plan.file(ctx, unit, l.unit)
      if ctx.plan then
        plan.would(ctx, 6, string.format("create sparse %s (%s), attach it as %s, install %s to re-attach at boot (%s)",
          l.backing_file, l.size, l.device, unit, l.reason))
      else
        util.extend(ctx.image_ops, actions.loop_ops(l))
        plan.would(ctx, 6, string.format("put sparse %s (%s) and a unit attaching it as %s at boot into %s (%s)",
          l.backing_file, l.size, l.device, actions.OVERCLOUD_IMAGE, l.reason))
      end
    end
  end
end

local function libvirt_type()
  for _, m in ipairs({ "kvm_intel", "kvm_amd" }) do
    local p = "/sys/module/" .. m .. "/parameters/nested"
    if core.exists({ path = p }).exists then
      local v = core.read_file({ path = p }).content
      return (v:match("^[Y1]") and "kvm" or "qemu")
    end
  end
  return "qemu"
end

--- Step 7: env files (contract order), scales, NTP: the deploy command.
---@param ctx apex.Ctx
function M.steps.deploy_command(ctx)
  local by_kind = { sdn = {}, storage = {} }
  for _, r in ipairs(plugins.call_all(ctx.plugins, "env_files", ctx)) do
    util.extend(by_kind[r.plugin.kind or "sdn"] or by_kind.sdn, r.result)
  end
  local virtual = ctx.scenario.inventory == nil
  ctx.env_files = tht.env_files({
    ha = ctx.settings.global_params.ha_enabled,
    options = ctx.settings.deploy_options,
    sdn = by_kind.sdn,
    storage = by_kind.storage,
    virtual = virtual,
  })
  for _, e in ipairs(ctx.env_files) do
    if not e["local"] then e.path = tht.on_site(e.path, ctx.infra.undercloud.tht_dir) end
  end
  if not ctx.plan then
    for rel, content in pairs(M.local_env_files(ctx)) do plan.file(ctx, rel, content) end
  end
  ctx.scales = tht.scales(ctx.settings.global_params.ha_enabled, ctx.scenario.inventory)
  ctx.deploy_command, ctx.deploy_args = tht.deploy_command({
    env_files = ctx.env_files,
    ntp = ctx.network.ntp[1],
    scales = ctx.scales,
    libvirt_type = virtual and libvirt_type() or "kvm",
  })
  plan.file(ctx, "deploy_command", ctx.deploy_command .. "\n")
end

--- The env files apex writes beside the deploy command (real mode): the
--- network env from the network settings, the operator's env, the
--- virtual/baremetal env. The image env file is written in step 8.
---@param ctx apex.Ctx
---@return table<string, string>
function M.local_env_files(ctx)
  local n = ctx.network
  local out = {}
  for _, e in ipairs(ctx.env_files) do
    if e["local"] and e.path ~= tht.IMAGE_ENV then
      local params = {}
      if e.path == tht.NETWORK_ENV then
        params = { DnsServers = n.dns_nameservers, NtpServer = n.ntp, ControlPlaneDefaultRoute = ctx.uc_ip }
      elseif e.path == "virtual-environment.yaml" then
        params = { NovaComputeLibvirtType = libvirt_type() }
      end
      out[e.path] = "# " .. e.reason .. " (written by apex)\n" .. core.yaml_dump({ parameter_defaults = params })
    end
  end
  return out
end

--- Step 8: on the undercloud: unpack the patches, copy images into the
--- local registry, rebuild patched ones with their Dockerfile, write the
--- image env file. Plan mode writes the lists and records the actions.
---@param ctx apex.Ctx
function M.steps.prepare_containers(ctx)
  local o = ctx.settings.deploy_options
  local copy = images.copy_list(ctx.site, ctx.image_set, o.ceph)
  for _, c in ipairs(copy) do
    if c.name == "ceph/" .. images.CEPH.name and ctx.infra.registries.ceph_image then
      c.from = ctx.infra.registries.ceph_image
    end
  end
  local builds = core.array()
  for _, img in ipairs(ctx.patched_list) do
    builds[#builds + 1] = {
      image = img,
      context = "containers/" .. img,
      from = images.ref(ctx.site, img).to,
      tag = images.ref(ctx.site, img, images.PATCHED_TAG).to,
      build_args = { REAL_USER = "<the image's own user, from its config>" },
    }
  end
  plan.file(ctx, "image_list.yaml", core.yaml_dump({ source = ctx.image_source, driver = ctx.driver, copy = copy }))
  plan.file(ctx, "image_builds.yaml", core.yaml_dump({ builds = builds }))
  plan.file(ctx, tht.IMAGE_ENV, core.yaml_dump(images.env_file(ctx.site, ctx.image_set, ctx.patched, o.ceph)))
  plan.file(ctx, "containers-prepare-parameter.yaml",
    core.yaml_dump(images.prepare_parameter(ctx.site, ctx.driver, ctx.patched, o.ceph)))
  if not ctx.plan then
    local list, ceph = {}, nil
    for _, c in ipairs(copy) do
      if c.name == "ceph/" .. images.CEPH.name then
        ceph = { source = c.from, destination = c.to }
      else
        list[#list + 1] = { source = c.from, destination = c.to }
      end
    end
    local env = {}
    for _, e in ipairs(ctx.env_files) do
      if e["local"] then env[#env + 1] = e.path end
    end
    actions.upload(ctx, plan.ARCHIVE, env)
    actions.mirror(ctx, list)
    if #builds > 0 then actions.rebuild(ctx) end
    if ceph then actions.ceph_image(ctx, ceph) end
  end
  if #builds > 0 then
    plan.would(ctx, 8, "upload docker_patches.tar.gz to the undercloud and unpack it into containers/")
  end
  plan.would(ctx, 8, string.format("copy %d images (%s) from %s to %s (image_list.yaml)", #copy, ctx.image_source,
    ctx.site.upstream, ctx.site.local_registry))
  for _, b in ipairs(builds) do
    plan.would(ctx, 8, string.format("build %s from %s with --build-arg REAL_USER on %s, push as %s", b.context, b.from,
      site_mod.engine_label(ctx.infra), b.tag))
  end
  plan.would(ctx, 8, "write " .. tht.IMAGE_ENV .. " (local registry; :apex for " .. #builds .. " patched images)")
end

--- Step 9: run the deploy command on the undercloud.
---@param ctx apex.Ctx
function M.steps.run_deploy(ctx)
  plan.would(ctx, 9, "run deploy_command on the undercloud (" .. ctx.uc_ip .. ")")
  if not ctx.plan then
    local args = util.deep_copy(ctx.deploy_args)
    args[1] = ctx.infra.undercloud.openstack
    local words = {}
    for i, a in ipairs(args) do words[i] = util.shell_quote(a) end
    actions.run_deploy(ctx, table.concat(words, " "))
  end
end

--- Runs every step in order (a scenario's replacement first), then writes the
--- artifacts and prints the summary.
---@param opts apex.DeployOpts
---@return apex.Ctx
function M.run(opts)
  local t0 = core.now().unix
  local ctx = M.new_ctx(opts)
  for _, s in ipairs(M.STEPS) do
    local n, name = s[1], s[2]
    local step = ctx.scenario.steps[name] or M.steps[name]
    core.log({ level = "debug", msg = string.format("step %d: %s", n, name) })
    step(ctx)
  end
  plan.write(ctx)
  if ctx.plan then
    plan.print_summary(ctx)
    return ctx
  end
  ctx.eval_seconds = core.now().unix - t0
  local report = runner.execute(ctx)
  M.print_report(ctx, report, core.now().unix - t0)
  return ctx
end

--- Prints what a real run did: each action, done or skipped, and its time.
---@param ctx apex.Ctx
---@param report {key: string, step: integer, skipped: boolean, seconds: number}[]
---@param total number
function M.print_report(ctx, report, total)
  local out = { string.format("Deployed %s (%s); state in %s", ctx.scenario.name, ctx.scenario.description or "",
    util.path(ctx.tmp_dir, "state.json")) }
  out[#out + 1] = string.format("  [eval  ] evaluate settings, plugins, artifacts  %.2fs", ctx.eval_seconds)
  for _, r in ipairs(report) do
    out[#out + 1] = string.format("  [step %d] %-18s %s  %.2fs", r.step, r.key, r.skipped and "skipped" or "done   ",
      r.seconds)
  end
  for _, n in ipairs(ctx.notes) do out[#out + 1] = "Note: " .. n end
  out[#out + 1] = string.format("Total %.2fs", total)
  io.write(table.concat(out, "\n"), "\n")
end

return M
