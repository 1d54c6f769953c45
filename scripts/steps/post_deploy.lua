--- Step 10: post-deploy on the undercloud, as Apex's
--- post_deploy_undercloud.yml with the values apex/deploy.py computes for it
--- (facts in apex.post_deploy): the external network and subnet, the gluon
--- networks (gluon), overcloudrc completed (project id, tenant, region, the
--- SDN controller's VIP, ports and ODL password) and sent back to the
--- undercloud, the congress datasources (congress); then, as the first task
--- of that playbook and Apex's post_deploy_overcloud.yml, the jump host's key
--- onto every node (from the undercloud) and the per-node tasks run on the
--- nodes as heat-admin through the undercloud (apex.overcloud_nodes), their
--- syslogs fetched into the tmp dir. Each is one action, so
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
local nodes_mod = require("apex.overcloud_nodes")

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
---@param quiet? boolean  output not logged (it holds a secret)
local function run(ctx, command, quiet)
  return core.ssh.run({ host = site_mod.ssh_host(ctx.infra), command = command, check = false, quiet = quiet })
end

---@param ctx apex.Ctx
---@param rc "stackrc"|"overcloudrc"
---@param args string
---@return string stdout
local function must(ctx, rc, args, quiet)
  local r = run(ctx, openstack(ctx, rc, args), quiet)
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
local function json_of(ctx, rc, args, what, quiet)
  local out = must(ctx, rc, args, quiet)
  local ok, v = pcall(core.json.load, { text = out, name = "openstack " .. args })
  if not ok then util.fail("%s: openstack %s did not answer JSON: %s", what, args, out:sub(1, 200)) end
  return v
end

--- How many deploy commands ran (run_deploy counts them), so post-deploy follows every deploy.
---@param ctx apex.Ctx
local function deployed(ctx)
  local r = state.get(ctx.state, "run_deploy")
  return r and r.outputs and math.tointeger(r.outputs.deploys) or false
end

--- Creates what `show` does not find: the create commands of `items`
--- ({kind, name, cmd}) whose resource is missing; returns the names created.
---@param ctx apex.Ctx
---@param items {kind: string, name: string, cmd: string}[]
---@return string[] created
local function create_missing(ctx, items)
  local created = core.data.array()
  for _, it in ipairs(items) do
    local shown = run(ctx, openstack(ctx, "overcloudrc", string.format("%s show %s -f value -c id", it.kind, q(it.name))))
    if shown.ok then
      core.log.write({ level = "info", msg = string.format("post-deploy: %s %s exists; not created again", it.kind, it.name) })
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
        local env = json_of(ctx, "stackrc", "stack environment show overcloud -f json", "ODL password", true)
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
      local r = run(ctx, "cat " .. q(remote_rc), true)
      if not r.ok then util.fail("reading %s on the undercloud: %s", remote_rc, r.stderr) end
      local text = pd.set_exports(r.stdout, pd.rc_additions(v))
      local file = util.path(ctx.tmp_dir, M.OVERCLOUDRC)
      core.fs.write({ path = file, content = text, mode = 384 })
      core.ssh.upload({ host = host, from = file, to = remote_rc, mode = 384 })
      return { sha256 = core.data.sha256({ text = text }).hex, region = v.region or false }
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
      local rc = pd.parse_rc(core.fs.read({ path = rc_file }).content)
      local list = json_of(ctx, "overcloudrc", "congress datasource list -f json", "congress")
      local have = {}
      for _, d in ipairs(type(list) == "table" and list or {}) do
        if type(d) == "table" and d.name then have[d.name] = true end
      end
      local created, failed = core.data.array(), core.data.array()
      pd.congress_datasources(rc, rc_file) -- every credential is there
      for _, ds in ipairs(pd.congress_datasources(pd.CONGRESS_RC_REFS, rc_file)) do
        if not have[ds.name] then
          local r = run(ctx, openstack(ctx, "overcloudrc", "congress datasource create " .. ds.args))
          if r.ok then
            created[#created + 1] = ds.name
          else
            failed[#failed + 1] = ds.name
            core.log.write({ level = "warn", msg = string.format("congress datasource %s not created (exit %d): %s", ds.name,
              r.status, (r.stderr:gsub("%s+$", ""))) })
          end
        end
      end
      return { created = created, failed = failed }
    end,
  })
end

--- The nodes of the server list step 9 fetched.
---@param ctx apex.Ctx
---@return apex.OvercloudNode[]
local function server_nodes(ctx)
  local file = util.path(ctx.tmp_dir, "overcloud_servers.json")
  return nodes_mod.from_server_list(core.json.load({ path = file }), file)
end

--- The public key of the jump host that the nodes get: the site's undercloud
--- key's, else the first of ~/.ssh's default keys.
---@param ctx apex.Ctx
---@return string path
local function jumphost_pubkey(ctx)
  local key = ctx.infra.undercloud.key
  local tried = {}
  local candidates = key and { key .. ".pub" } or {}
  if not key then
    local home = os.getenv("HOME") or "/root"
    for _, n in ipairs({ "id_ed25519", "id_ecdsa", "id_rsa" }) do candidates[#candidates + 1] = home .. "/.ssh/" .. n .. ".pub" end
  end
  for _, c in ipairs(candidates) do
    if core.fs.exists({ path = c }).kind == "file" then return c end
    tried[#tried + 1] = c
  end
  util.fail("no public key of the jump host for the overcloud nodes (tried %s; set undercloud.key in the site settings)",
    table.concat(tried, ", "))
end

--- The jump host's key into heat-admin's authorized_keys on every node, from
--- the undercloud (whose key TripleO put there), as Apex's first task.
---@param ctx apex.Ctx
local function jumphost_key(ctx)
  local ov = ctx.infra.overcloud
  runner.add(ctx, {
    step = M.number, key = "jumphost_key",
    details = { "on the undercloud, for each server of the server list: ssh " .. ov.user .. "@<ctlplane address>: add the "
      .. "jump host's public key to ~/.ssh/authorized_keys unless there (host key recorded on first contact)" },
    text = "the jump host's key into " .. ov.user .. "'s authorized_keys on every overcloud node",
    inputs = function() return { deployed = deployed(ctx), user = ov.user, port = ov.ssh_port } end,
    run = function()
      local done = core.data.array()
      local nodes = server_nodes(ctx)
      if #nodes == 0 then return { nodes = done } end
      local pub = core.fs.read({ path = jumphost_pubkey(ctx) }).content:gsub("%s+$", "")
      for _, n in ipairs(nodes) do
        local r = run(ctx, nodes_mod.key_command(n, pub, ov.user, ov.ssh_port))
        if not r.ok then
          util.fail("node %s (%s): adding the jump host's key from the undercloud failed (exit %d): %s", n.name, n.address,
            r.status, ((r.stderr ~= "" and r.stderr or r.stdout):gsub("%s+$", "")))
        end
        done[#done + 1] = n.name
      end
      return { nodes = done }
    end,
  })
end

--- An ssh config naming the undercloud as the nodes' jump host (the jump's
--- own hop reads it: key, known_hosts, port of the site settings).
---@param ctx apex.Ctx
---@return string path
local function jump_config(ctx)
  local u = ctx.infra.undercloud
  local lines = { "# written by apex: the undercloud as the jump host to the overcloud nodes", "Host apex-undercloud",
    "  HostName " .. u.address, "  Port " .. u.port, "  User " .. u.user, "  BatchMode yes",
    "  StrictHostKeyChecking " .. (u.accept_new and "accept-new" or "yes") }
  if u.key then
    lines[#lines + 1] = "  IdentityFile " .. u.key
    lines[#lines + 1] = "  IdentitiesOnly yes"
  end
  if u.known_hosts then lines[#lines + 1] = "  UserKnownHostsFile " .. u.known_hosts end
  local path = util.path(ctx.tmp_dir, "overcloud_ssh", "ssh_config")
  core.fs.write({ path = path, content = table.concat(lines, "\n") .. "\n" })
  return path
end

--- Apex's post_deploy_overcloud.yml on every node as heat-admin through the
--- undercloud, `overcloud.parallel` nodes at a time: one log line per node
--- and task; every node's syslog fetched; failures name node, task, output.
---@param ctx apex.Ctx
local function node_tasks(ctx)
  local o, ov, u = ctx.settings.deploy_options, ctx.infra.overcloud, ctx.infra.undercloud
  local details = {}
  for _, role in ipairs({ "controller", "compute" }) do
    local names = {}
    for _, t in ipairs(nodes_mod.tasks({ name = "overcloud-" .. role .. "-0", role = role }, o)) do names[#names + 1] = t.name end
    details[#details + 1] = string.format("each %s: %s", role, table.concat(names, "; "))
  end
  details[#details + 1] = string.format("each node: the end of /var/log/messages into %s/<node>.messages",
    util.path(ctx.tmp_dir, nodes_mod.LOG_DIR))
  runner.add(ctx, {
    step = M.number, key = "overcloud_nodes", details = details,
    text = string.format("per-node tasks on the overcloud nodes as %s through the undercloud, %d at a time "
      .. "(host keys recorded on first contact, checked after)", ov.user, ov.parallel),
    inputs = function() return { deployed = deployed(ctx), details = details, user = ov.user, port = ov.ssh_port } end,
    run = function()
      local nodes = server_nodes(ctx)
      local config = jump_config(ctx)
      local known = util.path(ctx.tmp_dir, "overcloud_ssh", "known_hosts")
      local results = core.parallel.map(nodes, function(n)
        local host = { address = n.address, port = ov.ssh_port, user = ov.user, key = u.key, known_hosts = known,
          accept_new = true, jump = { "apex-undercloud" }, ssh_config = config, persist = u.persist }
        local failures = {}
        for _, t in ipairs(nodes_mod.tasks(n, o)) do
          local ok, r = pcall(core.ssh.run, { host = host, command = t.command, check = false })
          if not ok then r = { ok = false, status = -1, stdout = "", stderr = util.message(r) } end
          local out = ((r.stderr ~= "" and r.stderr or r.stdout):gsub("%s+$", ""))
          if r.ok then
            core.log.write({ level = "info", msg = string.format("node %s: %s: ok", n.name, t.name) })
          elseif t.warn_only then
            core.log.write({ level = "warn", msg = string.format("node %s: %s: no (exit %d) %s", n.name, t.name, r.status, out) })
          else
            core.log.write({ level = "error", msg = string.format("node %s: %s: failed (exit %d)", n.name, t.name, r.status) })
            failures[#failures + 1] = string.format("node %s (%s), task %q: `%s` exited %d: %s", n.name, n.address, t.name,
              t.command, r.status, out)
            break
          end
        end
        local ok, r = pcall(core.ssh.run, { host = host, command = nodes_mod.log_command(), check = false, quiet = true })
        local dest = util.path(ctx.tmp_dir, nodes_mod.LOG_DIR, n.name .. ".messages")
        if ok and r.ok then
          core.fs.write({ path = dest, content = r.stdout, mode = 384 })
          core.log.write({ level = "info", msg = string.format("node %s: /var/log/messages fetched into %s", n.name, dest) })
        else
          core.log.write({ level = "warn", msg = string.format("node %s: /var/log/messages not fetched: %s", n.name,
            ok and r.stderr or util.message(r)) })
        end
        return failures
      end, { limit = ov.parallel })
      local all = {}
      for _, f in ipairs(results) do util.extend(all, f) end
      if #all > 0 then
        util.fail("post-deploy failed on %d of %d overcloud nodes:\n%s", #all, #nodes, table.concat(all, "\n"))
      end
      local names = core.data.array()
      for i, n in ipairs(nodes) do names[i] = n.name end
      return { nodes = names }
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
  jumphost_key(ctx)
  node_tasks(ctx)
end

return M
