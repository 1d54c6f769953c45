--- `apex plugins new NAME` and `apex scenarios new NAME`: write a working
--- skeleton and its test into an override directory, so a first plugin or
--- scenario starts from code that already runs and passes its test.
local core = require("apex.core")
local util = require("apex.util")

local M = {}

local PLUGIN = [[
--- %s: a custom SDN plugin (scaffolded by `apex plugins new %s`).
---
--- Hooks are optional; see `apex lua-types` for their types (apex.Plugin).
--- This skeleton installs an ML2 driver into neutron-server and adds an env
--- file; change the package, the image and the env file to your SDN's.
local util = require("apex.util")
local dockerfile = require("apex.dockerfile")

---@type apex.Plugin
local M = {
  description = "%s SDN plugin (installs its ML2 driver into neutron-server)",
  kind = "sdn",
  -- Deploy options of this plugin (deploy_options.<name>): apex validates
  -- them (type, valid values) and fills in the default, as for its own.
  options = {
    OPTION_NAME = { type = "boolean", default = false,
      description = "also install the %s debug tools into neutron-server" },
  },
}

--- Rejects settings this SDN cannot serve, naming the key and what is valid.
---@param settings apex.DeploySettings
function M.validate(settings)
  if settings.deploy_options.dataplane ~= "ovs" then
    util.fail("%%s: deploy_options.dataplane: %s supports only ovs (got %%s)", settings.source,
      settings.deploy_options.dataplane)
  end
end

--- The container patch: one Dockerfile operation per line, run as root;
--- dockerfile.as_root restores the image's own user afterwards (the
--- REAL_USER build argument).
---@param ctx apex.HookCtx
---@return apex.ContainerPatch[]
function M.patches(ctx)
  local ops = { "RUN yum -y install python-networking-%s" }
  if ctx.settings.deploy_options.OPTION_NAME then
    ops[#ops + 1] = "RUN yum -y install %s-debug-tools"
  end
  return { {
    image = "neutron-server",
    reason = "install the %s ML2 driver",
    ops = dockerfile.as_root(ops),
  } }
end

--- Env files for the deploy command (relative paths are under the THT
--- environments directory on the undercloud).
---@param ctx apex.HookCtx
---@return apex.EnvFile[]
function M.env_files(ctx)
  return { { path = "services/neutron-%s.yaml", reason = "sdn_controller: %s" } }
end

--- The overcloud image: an SDN controller replaces the OVS agent, so its
--- units are removed, as every shipped SDN plugin does. Add your own
--- customizations here; one with the id of a common one (e.g. "nfs")
--- replaces it, and {op = "drop", arg = "nfs", reason = ...} leaves it out.
---@param ctx apex.HookCtx
---@return apex.Customization[]
function M.overcloud_customize(ctx)
  return require("apex.overcloud_base").ovs_agent_removal("%s")
end

return M
]]

local PLUGIN_TEST = [[
-- Test of the %s plugin: `apex --lua-path <this dir's parent> test <this file>`.
local core = require("apex.core")
local t = require("apex.test")
local deploy = require("flows.deploy")

--- Plans a small scenario naming the plugin, in a fresh temp dir.
local function plan_with(options)
  local dir = core.fs.tmpdir({ prefix = "%s-test-" }).path
  local scenario = dir .. "/scenario.lua"
  core.fs.write({ path = scenario, content = "return " .. options })
  local ok, ctx = pcall(deploy.run, { scenario = scenario, plan = true, tmp_dir = dir .. "/plan", lua_paths = {} })
  local dockerfile = ok and core.fs.exists({ path = dir .. "/plan/containers/neutron-server/Dockerfile" }).exists
    and core.fs.read({ path = dir .. "/plan/containers/neutron-server/Dockerfile" }).content
  core.fs.remove({ path = dir })
  if not ok then
    error(ctx, 0)
  end
  return ctx, dockerfile
end

t.describe("plugin %s", function()
  t.it("patches neutron-server and names its env file", function()
    local ctx, dockerfile = plan_with(
      [==[{ global_params = { ha_enabled = false }, deploy_options = { sdn_controller = "%s", ceph = false } }]==])
    t.expect(ctx.patched_list).to_equal({ "neutron-server" })
    t.expect(dockerfile).to_contain("RUN yum -y install python-networking-%s\n")
    t.expect(ctx.deploy_command).to_contain("services/neutron-%s.yaml")
  end)

  t.it("declares its option: validated, defaulted, read by its hooks", function()
    local ctx, dockerfile = plan_with([==[{ global_params = { ha_enabled = false },
      deploy_options = { sdn_controller = "%s", ceph = false, OPTION_NAME = true } }]==])
    t.expect(ctx.settings.deploy_options.OPTION_NAME).to_be(true)
    t.expect(dockerfile).to_contain("RUN yum -y install %s-debug-tools\n")
    t.expect(function()
      plan_with([==[{ global_params = { ha_enabled = false },
        deploy_options = { sdn_controller = "%s", ceph = false, OPTION_NAME = "yes" } }]==])
    end).to_fail("deploy_options.OPTION_NAME: invalid value \"yes\" (valid: true, false)")
  end)

  t.it("refuses a dataplane it does not support", function()
    t.expect(function()
      plan_with([==[{ global_params = { ha_enabled = false },
        deploy_options = { sdn_controller = "%s", ceph = false, dataplane = "ovs_dpdk" } }]==])
    end).to_fail("deploy_options.dataplane: %s supports only ovs")
  end)
end)
]]

local SCENARIO = [[
--- Scenario %s (scaffolded by `apex scenarios new %s`): deploy settings in
--- the Apex format, as a Lua table. `apex deploy %s --plan` shows what it does.
return {
  description = "%s: OpenStack without SDN, no HA, Ceph on a loop device",
  global_params = { ha_enabled = false },
  deploy_options = {
    containers = true,
    os_version = "master",
    sdn_controller = false,
    ceph = true,
  },
}
]]

local SCENARIO_TEST = [[
-- Test of scenario %s: `apex --lua-path <this dir's parent> test <this file>`.
local core = require("apex.core")
local t = require("apex.test")
local deploy = require("flows.deploy")

t.describe("scenario %s", function()
  t.it("plans a containerized deploy with Ceph and one controller", function()
    local dir = core.fs.tmpdir({ prefix = "%s-test-" }).path
    local ok, ctx = pcall(deploy.run, { scenario = "%s", plan = true, tmp_dir = dir, lua_paths = {} })
    core.fs.remove({ path = dir })
    if not ok then error(ctx, 0) end
    t.expect(ctx.deploy_command).to_contain("environments/docker.yaml")
    t.expect(ctx.deploy_command).to_contain("environments/storage-environment.yaml")
    t.expect(ctx.deploy_command).to_contain("--control-scale 1")
  end)
end)
]]

--- Fills a template: every `%%s` gets the name, OPTION_NAME the plugin's option.
local function fill(template, name)
  -- The plugin's option: its name made a Lua identifier, so two plugins' options never clash.
  template = template:gsub("OPTION_NAME", (name:lower():gsub("[^%w_]", "_")) .. "_debug_tools")
  local n = select(2, template:gsub("%%s", ""))
  local args = {}
  for i = 1, n do args[i] = name end
  return string.format(template, table.unpack(args))
end

--- Writes one file unless it exists (never overwrite the author's work).
local function create(path, content)
  if core.fs.exists({ path = path }).exists then
    util.fail("%s already exists; not overwriting it", path)
  end
  core.fs.write({ path = path, content = content })
  print("wrote " .. path)
end

---@param opts {kind: "plugin"|"scenario", name: string, dir: string}
function M.run(opts)
  local name = opts.name
  if not name:match("^[%a][%w_%-]*$") then
    util.fail("invalid %s name %s (letters, digits, _ and -, starting with a letter)", opts.kind, util.show(name))
  end
  local dir = opts.dir
  if opts.kind == "plugin" then
    create(util.path(dir, "plugins", name .. ".lua"), fill(PLUGIN, name))
    create(util.path(dir, "tests", name .. "_test.lua"), fill(PLUGIN_TEST, name))
    print(string.format("next: apex --lua-path %s test %s", dir, util.path(dir, "tests", name .. "_test.lua")))
    print(string.format("      name it in deploy settings: deploy_options.sdn_controller: %s", name))
  else
    create(util.path(dir, "scenarios", name .. ".lua"), fill(SCENARIO, name))
    create(util.path(dir, "tests", name .. "_scenario_test.lua"), fill(SCENARIO_TEST, name))
    print(string.format("next: apex --lua-path %s deploy %s --plan", dir, name))
  end
end

return M
