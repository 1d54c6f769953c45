--- The container deploy flow, as ten named steps over one context (`ctx`).
---
--- `apex deploy` calls `run(opts)`. Everything is evaluated first (settings,
--- plugins, patches, images, env files, the deploy command); in plan mode the
--- steps that would act on a host, registry or engine record what they would
--- do, and the artifacts are written under the tmp dir only. A scenario may
--- replace any step by name (`steps = { deploy_command = function(ctx) ... end }`).
local core = require("apex.core")
local util = require("apex.util")
local settings_mod = require("apex.settings")
local network_mod = require("apex.network")
local patches = require("apex.patches")
local inventory = require("apex.inventory")
local plugins = require("apex.plugins")
local hook_ctx = require("apex.hook_ctx")
local images = require("apex.images")
local dockerfile = require("apex.dockerfile")
local plan = require("apex.plan")
local site_mod = require("apex.site")
local runner = require("apex.runner")

local M = {}

--- What `apex deploy` passes (src/cli.rs `deploy_opts`: the parsed arguments
--- plus tmp dir, log and override dirs). A unit test there fails when this
--- class and the CLI disagree, or when a module reads an undeclared ctx.opts key.
---@class apex.DeployOpts
---@field scenario? string
---@field deploy_settings? string
---@field network_settings? string
---@field plan boolean
---@field no_fetch boolean
---@field resume boolean
---@field redeploy boolean  run the deploy command even when done with the same inputs
---@field verify_images? boolean  HEAD every blob of images already in the local registry, repair lost ones
---@field site? string   site settings file (-s)
---@field tmp_dir string
---@field log_file? string   --log-file: the log is appended there
---@field run_log? boolean   without log_file: the run's own log in the tmp dir (logs/<time>.log, apex.log the latest)
---@field lua_paths string[]
---@field inventory? string          Apex inventory file (-i): baremetal nodes, instackenv.json, scales
---@field patches_file? string       Apex common-patches file (--patches-file FILE, or "shipped" for Apex's list)
---@field virtual_computes? integer  computes of a virtual deploy (default: Apex's)
---@field virtual boolean            --virtual: apex creates the overcloud nodes as VMs behind virtual BMCs
---@field virtual_cpus? integer      vCPUs of each virtual node (default: Apex's)
---@field virtual_ram? integer       RAM of each virtual node in GB (default: Apex's, per role)
---@field recreate_undercloud boolean  destroy and recreate an undercloud VM apex made when its inputs changed

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
---@field image_set apex.Image[]     the release's list for the driver (what could be mirrored)
---@field plugin_images table<string, string>  images plugins want mirrored -> why (images hook, mirror)
---@field mirror? apex.MirrorSelection  step 8: the images mirrored (the deploy's services, patched, named)
---@field image_source string        "catalog <url>" or "shipped list"
---@field dockerfiles apex.DockerfileSet
---@field patched table<string, boolean>
---@field patched_list string[]
---@field skipped {change_id: string, project: string, why: string}[]
---@field overcloud_customize apex.Customization[]
---@field undercloud_customize apex.Customization[]
---@field loop_devices apex.LoopDeviceRequest[]
---@field env_files apex.EnvFile[]
---@field deploy_command string
---@field files table<string, string>   artifacts, path relative to tmp_dir
---@field todo apex.Action[]          the actions the steps registered, in order (plan shows them, the run runs them)
---@field notes string[]
---@field log_file? string           the log of this run (set when the tmp dir is claimed)
---@field nodes_missing? string      why there are no nodes to deploy on (a plan says it first; a run refuses)

---@class apex.Step
---@field number integer   the step's number in Apex's design document
---@field name string
---@field summary string   one line: what the step is for
---@field plan fun(ctx: apex.Ctx)  evaluates the step: its files (plan.file) and its actions (runner.add)

--- The steps, in order (Apex's numbering). Each is the module
--- `steps.<name>` (see apex.Step); a scenario may replace one by name.
M.STEP_NAMES = {
  "fetch_artifacts", "undercloud", "overcloud_image_prep", "container_dirs", "dockerfiles",
  "ceph_loop_device", "deploy_command", "prepare_containers", "run_deploy", "post_deploy",
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
    -- Read by the host: a regular file of bounded size (a FIFO would block).
    local read_ok, text = pcall(core.fs.read, { path = name })
    if not read_ok then
      util.fail("scenario %s: %s", name, (util.message(text):gsub("^fs%.read: ", "")))
    end
    local chunk, err = load(text.content, "@" .. name, "t")
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
        util.fail("unknown scenario %s (see `apex scenarios`; searched: %s)", util.show(name), table.concat(places, ", "))
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
  for _, s in ipairs(M.STEP_NAMES) do known[s] = true end
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
    network = network_mod.load(opts.network_settings)
  else
    network = network_mod.validate(require("apex.network_defaults"), "shipped network settings (virtual lab)")
  end
  local o = settings.deploy_options
  local ha = settings.global_params.ha_enabled
  -- Apex's common patches of the release join the deploy's own, as Apex's deploy does.
  local common
  if opts.patches_file == "shipped" then
    common = patches.shipped_common()
  elseif opts.patches_file then
    common = patches.load_patches_file(opts.patches_file)
  end
  local merged = common and patches.merge_common(settings.global_params.patches, o.os_version, common, settings.source)
    or patches.merge_common(settings.global_params.patches, o.os_version, { source = "none", releases = {} },
      settings.source)
  local inv
  if opts.inventory then
    inv = inventory.load(opts.inventory, { ha = ha })
  elseif scenario.inventory then
    inv = inventory.validate(scenario.inventory, scenario.origin .. ": inventory", { ha = ha })
  end
  local ctx = {
    opts = opts,
    plan = opts.plan,
    tmp_dir = opts.tmp_dir,
    scenario = scenario,
    settings = settings,
    network = network,
    uc_ip = network.undercloud_ip,
    files = {},
    -- Lists (core.data.array): written as [] to plan.json and the YAML files when empty.
    todo = core.data.array(),
    notes = core.data.array(),
    skipped = core.data.array(),
    overcloud_customize = core.data.array(),
    undercloud_customize = core.data.array(),
    loop_devices = core.data.array(),
    image_ops = core.data.array(),
    image_skipped = core.data.array(),
    dockerfiles = dockerfile.set(),
    patches = merged,
    inventory = inv,
  }
  for _, w in ipairs(settings.warnings or {}) do ctx.notes[#ctx.notes + 1] = w end
  for _, w in ipairs(network.warnings or {}) do
    core.log.write({ level = "warn", msg = w })
    ctx.notes[#ctx.notes + 1] = w
  end
  if common and not merged.found then
    ctx.notes[#ctx.notes + 1] = string.format("no common patches for %s in %s", o.os_version, merged.source)
  end
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
  -- validate gets a read-only copy: a plugin checks the settings, it cannot change them
  plugins.call_all(ctx.plugins, "validate", hook_ctx.copy(settings, "settings"))
  return ctx
end

-- The steps ------------------------------------------------------------------

--- The steps as modules (`steps.<name>`, shipped in scripts/steps/, shadowed
--- by `DIR/steps/<name>.lua`): each one evaluates its part of the flow and
--- registers its actions, which the plan shows and the real run executes.
M.steps = setmetatable({}, {
  __index = function(_, name)
    if not M.known_step(name) then return nil end
    return require("steps." .. name).plan
  end,
})

--- Whether `name` is a step of the flow.
---@param name string
---@return boolean
function M.known_step(name)
  return util.contains(M.STEP_NAMES, name)
end

--- Why this deploy has no overcloud nodes to deploy on, or nil: no
--- inventory (-i, or the scenario's), no --virtual, and the site does not say
--- the nodes are registered in the undercloud's ironic already. Apex refuses
--- a deploy without an inventory that is not virtual.
---@param ctx apex.Ctx
---@return string?
function M.nodes_missing(ctx)
  if ctx.inventory or ctx.opts.virtual or ctx.infra.undercloud.registered_nodes then return nil end
  return "no overcloud nodes to deploy on: give an inventory (-i inventory.yaml, baremetal nodes), --virtual "
    .. "(node VMs apex creates behind virtual BMCs), or, for nodes already registered in the undercloud's ironic, "
    .. "`undercloud: {registered_nodes: true}` in the site settings (-s; their count is checked before the deploy command)"
end

--- Runs every step in order (a scenario's replacement first), then writes the
--- artifacts and prints the summary.
---@param opts apex.DeployOpts
---@return apex.Ctx
function M.run(opts)
  local t0 = core.os.now().unix
  local ctx = M.new_ctx(opts)
  ctx.nodes_missing = M.nodes_missing(ctx)
  if ctx.nodes_missing and not ctx.plan then
    util.fail("refusing to deploy: %s", ctx.nodes_missing)
  end
  for _, name in ipairs(M.STEP_NAMES) do
    local mod = require("steps." .. name)
    core.log.write({ level = "debug", msg = string.format("step %d: %s", mod.number, name) })
    ctx.current_step = mod.number
    local replaced = ctx.scenario.steps[name]
    if replaced then replaced(ctx) else mod.plan(ctx) end
  end
  -- Every input is valid: only now is anything written.
  -- A refusal (another run holds it, another user owns it) is one clean line.
  local claimed, res = pcall(core.tmp_dir.claim, { path = ctx.tmp_dir, log_file = opts.log_file, run_log = opts.run_log,
    files = plan.paths(ctx) })
  if not claimed then util.fail("%s", util.message(res)) end
  ctx.log_file = res.log_file
  plan.write(ctx)
  if ctx.plan then
    plan.print_summary(ctx)
    return ctx
  end
  ctx.eval_seconds = core.os.now().unix - t0
  local report = runner.execute(ctx)
  M.print_report(ctx, report, core.os.now().unix - t0)
  return ctx
end

--- Prints what a real run did: each action, done or skipped, and its time.
---@param ctx apex.Ctx
---@param report {key: string, step: integer, skipped: boolean, seconds: number}[]
---@param total number
function M.print_report(ctx, report, total)
  local out = { string.format("Deployed %s (%s); state in %s", ctx.scenario.name, ctx.scenario.description or "",
    util.path(ctx.tmp_dir, "state.json")) }
  local width = #"evaluate"
  for _, r in ipairs(report) do width = math.max(width, #r.key) end
  local row = "  [%-6s] %-" .. width .. "s  %-7s %8.2fs"
  out[#out + 1] = string.format(row, "eval", "evaluate", "done", ctx.eval_seconds)
  for _, r in ipairs(report) do
    out[#out + 1] = string.format(row, "step " .. r.step, r.key, r.skipped and "skipped" or "done", r.seconds)
  end
  for _, n in ipairs(ctx.notes) do out[#out + 1] = "Note: " .. n end
  if ctx.log_file then out[#out + 1] = "Log: " .. ctx.log_file end
  out[#out + 1] = string.format("Total %.2fs", total)
  io.write(table.concat(out, "\n"), "\n")
end

return M
