--- Step 10: post-deploy on the undercloud, as Apex's
--- post_deploy_undercloud.yml with the values apex/deploy.py computes for it
--- (facts in apex.post_deploy): the external network and subnet, the gluon
--- networks (gluon), overcloudrc completed (project id, tenant, region, the
--- SDN controller's VIP, ports and ODL password) and sent back to the
--- undercloud, the congress datasources (congress). Each is one action, so
--- `--resume` after a failure continues with what is left; each create first
--- looks at what exists, so no rerun creates anything twice. Every action
--- runs again after the deploy command ran again (a stack update rewrites
--- overcloudrc).
local core = require("apex.core")
local util = require("apex.util")
local runner = require("apex.runner")
local site_mod = require("apex.site")
local state = require("apex.state")
local pd = require("apex.post_deploy")

---@type apex.Step
local M = { number = 10, name = "post_deploy", summary = "external network, overcloudrc, congress on the undercloud" }

M.OVERCLOUDRC = "overcloudrc"

local function q(s) return util.shell_quote(s) end

--- `cd work_dir && . <rc> && <openstack> <args>`; `rc` "stackrc" or "overcloudrc".
---@param ctx apex.Ctx
---@param rc "stackrc"|"overcloudrc"
---@param args string   what follows `openstack`
---@return string
local function openstack(ctx, rc, args)
  local u = ctx.infra.undercloud
  local file = rc == "stackrc" and u.stackrc or (u.work_dir .. "/" .. M.OVERCLOUDRC)
  return string.format("cd %s && . %s && %s %s", q(u.work_dir), q(file), q(u.openstack), args)
end

--- Args of an `openstack ...` command line (the word dropped).
local function args_of(cmd) return (cmd:gsub("^openstack ", "")) end

---@param ctx apex.Ctx
---@param command string
---@return apex.RunSshResult
local function run(ctx, command)
  return core.run_ssh({ host = site_mod.ssh_host(ctx.infra), command = command, check = false })
end

---@param ctx apex.Ctx
---@param rc "stackrc"|"overcloudrc"
---@param args string
---@return string stdout
local function must(ctx, rc, args)
  local r = run(ctx, openstack(ctx, rc, args))
  if not r.ok then
    util.fail("openstack %s failed on the undercloud (exit %d): %s", args, r.status,
      ((r.stderr ~= "" and r.stderr or r.stdout):gsub("%s+$", "")))
  end
  return r.stdout
end

---@param ctx apex.Ctx
---@param args string
---@param what string
---@return any
local function json_of(ctx, rc, args, what)
  local out = must(ctx, rc, args)
  local ok, v = pcall(core.json_load, { text = out, name = "openstack " .. args })
  if not ok then util.fail("%s: openstack %s did not answer JSON: %s", what, args, out:sub(1, 200)) end
  return v
end

--- The last deploy command run (its time), so post-deploy follows every deploy.
---@param ctx apex.Ctx
local function deployed(ctx)
  local r = state.get(ctx.state, "run_deploy")
  return r and r.outputs and r.outputs.at or false
end

--- Creates what `show` does not find: the create commands of `items`
--- ({kind, name, cmd}) whose resource is missing; returns the names created.
---@param ctx apex.Ctx
---@param items {kind: string, name: string, cmd: string}[]
---@return string[] created
local function create_missing(ctx, items)
  local created = core.array()
  for _, it in ipairs(items) do
    local shown = run(ctx, openstack(ctx, "overcloudrc", string.format("%s show %s -f value -c id", it.kind, q(it.name))))
    if shown.ok then
      core.log({ level = "info", msg = string.format("post-deploy: %s %s exists; not created again", it.kind, it.name) })
    else
      must(ctx, "overcloudrc", args_of(it.cmd))
      created[#created + 1] = it.name
    end
  end
  return created
end

---@param ctx apex.Ctx
local function external_network(ctx)
  local e = pd.external_network(ctx.network, ctx.settings.deploy_options)
  local items = {
    { kind = "network", name = pd.EXTERNAL_NETWORK, cmd = e.network },
    { kind = "subnet", name = pd.EXTERNAL_SUBNET, cmd = e.subnet },
  }
  runner.add(ctx, {
    step = M.number, key = "external_network", details = { e.network, e.subnet },
    text = string.format("external network and subnet (%s%s on physnet %s, from the %s network) with overcloudrc, "
      .. "unless they exist", e.type, e.vlan and (" " .. e.vlan) or "", e.physnet, e.from),
    inputs = function() return { cmds = { e.network, e.subnet }, deployed = deployed(ctx) } end,
    run = function() return { created = create_missing(ctx, items) } end,
  })
end

---@param ctx apex.Ctx
local function gluon(ctx)
  local cmds = pd.gluon_cmds()
  local items = {
    { kind = "network", name = pd.GLUON_NETWORK, cmd = cmds[1] },
    { kind = "subnet", name = pd.GLUON_SUBNET, cmd = cmds[2] },
  }
  runner.add(ctx, {
    step = M.number, key = "gluon_networks", details = cmds,
    text = "gluon network and subnet with overcloudrc, unless they exist",
    inputs = function() return { cmds = cmds, deployed = deployed(ctx) } end,
    run = function() return { created = create_missing(ctx, items) } end,
  })
end

--- overcloudrc completed on the undercloud and in the tmp dir.
---@param ctx apex.Ctx
local function overcloudrc(ctx)
  local o = ctx.settings.deploy_options
  local u = ctx.infra.undercloud
  local sdn = o.sdn_controller
  local openstack_vim = o.vim == "openstack"
  local queries = { "project list -f json (overcloudrc): OS_PROJECT_ID, OS_TENANT_NAME=admin" }
  if sdn then
    queries[#queries + 1] = string.format("port list --name %s -f json (stackrc): SDN_CONTROLLER_IP; "
      .. "SDN_CONTROLLER_WEBPORT and SDN_CONTROLLER_RESTCONFPORT %d", pd.SDN_VIP_PORT, pd.SDN_PORT)
  end
  if sdn == "opendaylight" then
    queries[#queries + 1] = "stack environment show overcloud -f json (stackrc): SDN_CONTROLLER_PASSWORD"
  end
  if openstack_vim then queries[#queries + 1] = "endpoint list -c Region -f json (overcloudrc): OS_REGION_NAME" end
  local details = {}
  for i, d in ipairs(queries) do details[i] = "openstack " .. d end
  details[#details + 1] = "write " .. u.work_dir .. "/" .. M.OVERCLOUDRC .. " and " .. util.path(ctx.tmp_dir, M.OVERCLOUDRC)
  runner.add(ctx, {
    step = M.number, key = "overcloudrc", details = details,
    text = "complete overcloudrc as Apex does (project id, tenant, region" .. (sdn and ", SDN controller" or "") .. ")",
    inputs = function() return { queries = queries, deployed = deployed(ctx) } end,
    run = function()
      local v = { sdn = sdn }
      v.project_id = pd.admin_project(json_of(ctx, "overcloudrc", "project list -f json", "overcloudrc"))
      if not v.project_id then util.fail("overcloudrc: the overcloud has no admin project (openstack project list)") end
      if sdn then
        v.sdn_vip = pd.port_address(json_of(ctx, "stackrc", "port list --name " .. pd.SDN_VIP_PORT .. " -f json",
          "SDN controller VIP"))
        if not v.sdn_vip then util.fail("overcloudrc: no port %s on the undercloud (the SDN controller's VIP)", pd.SDN_VIP_PORT) end
      end
      if sdn == "opendaylight" then
        local env = json_of(ctx, "stackrc", "stack environment show overcloud -f json", "ODL password")
        v.odl_password = type(env) == "table" and type(env.parameter_defaults) == "table"
            and env.parameter_defaults.OpenDaylightPassword or nil
        if type(v.odl_password) ~= "string" then
          util.fail("overcloudrc: the overcloud stack's environment has no parameter_defaults.OpenDaylightPassword")
        end
      end
      if openstack_vim then
        v.region = pd.region(json_of(ctx, "overcloudrc", "endpoint list -c Region -f json", "region"))
      end
      local host = site_mod.ssh_host(ctx.infra)
      local remote_rc = u.work_dir .. "/" .. M.OVERCLOUDRC
      local r = run(ctx, "cat " .. q(remote_rc))
      if not r.ok then util.fail("reading %s on the undercloud: %s", remote_rc, r.stderr) end
      local text = pd.set_exports(r.stdout, pd.rc_additions(v))
      local file = util.path(ctx.tmp_dir, M.OVERCLOUDRC)
      core.write_file({ path = file, content = text, mode = 384 })
      core.upload({ host = host, from = file, to = remote_rc, mode = 384 })
      return { sha256 = core.sha256({ text = text }).hex, region = v.region or false }
    end,
  })
end

--- Congress datasources, as Apex's create_congress_cmds: those that exist
--- are not created again; a failed create is a warning (Apex ignores them).
---@param ctx apex.Ctx
local function congress(ctx)
  local rc_file = util.path(ctx.tmp_dir, M.OVERCLOUDRC)
  runner.add(ctx, {
    step = M.number, key = "congress_datasources",
    details = { "openstack congress datasource create <driver> \"<driver>\" --config username=... (overcloudrc's "
      .. "credentials) for " .. table.concat(pd.CONGRESS_DRIVERS, ", ") .. ", unless it exists" },
    text = "congress datasources with overcloudrc (Apex's create_congress_cmds)",
    inputs = function() return { drivers = pd.CONGRESS_DRIVERS, deployed = deployed(ctx) } end,
    run = function()
      local rc = pd.parse_rc(core.read_file({ path = rc_file }).content)
      local list = json_of(ctx, "overcloudrc", "congress datasource list -f json", "congress")
      local have = {}
      for _, d in ipairs(type(list) == "table" and list or {}) do
        if type(d) == "table" and d.name then have[d.name] = true end
      end
      local created, failed = core.array(), core.array()
      for _, ds in ipairs(pd.congress_datasources(rc, rc_file)) do
        if not have[ds.name] then
          local r = run(ctx, openstack(ctx, "overcloudrc", "congress datasource create " .. ds.args))
          if r.ok then
            created[#created + 1] = ds.name
          else
            failed[#failed + 1] = ds.name
            core.log({ level = "warn", msg = string.format("congress datasource %s not created (exit %d): %s", ds.name,
              r.status, (r.stderr:gsub("%s+$", ""))) })
          end
        end
      end
      return { created = created, failed = failed }
    end,
  })
end

---@param ctx apex.Ctx
function M.plan(ctx)
  local o = ctx.settings.deploy_options
  if o.vim == "openstack" then external_network(ctx) end
  if o.gluon then gluon(ctx) end
  overcloudrc(ctx)
  if o.congress then congress(ctx) end
end

return M
