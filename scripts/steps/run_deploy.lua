--- Step 9: the deploy on the undercloud, in the order of Apex's deploy
--- playbook: the deploy's files uploaded (only what changed), a preflight
--- (apex.preflight: the files and images resolve on the undercloud), the overcloud
--- images uploaded to Glance, the nodes imported (and introspected on
--- baremetal), the flavors, the ctlplane DNS and roles_data prepared, then
--- the deploy command. On failure the stack's failures are shown; after
--- success overcloudrc and the server list come back into the tmp dir. Every
--- openstack command runs with the undercloud's stackrc sourced.
local core = require("apex.core")
local util = require("apex.util")
local runner = require("apex.runner")
local site_mod = require("apex.site")
local state = require("apex.state")
local tht = require("apex.tht")
local plan = require("apex.plan")
local watch = require("apex.stack_watch")

---@type apex.Step
local M = { number = 9, name = "run_deploy", summary = "upload, images, nodes, then the deploy command on the undercloud" }

--- The image files `openstack overcloud image upload` reads from its working dir.
M.IMAGE_FILES = {
  "overcloud-full.qcow2", "overcloud-full.vmlinuz", "overcloud-full.initrd",
  "ironic-python-agent.initramfs", "ironic-python-agent.kernel",
}
M.FLAVORS = { "baremetal", "control", "compute" }
M.CEPH_OSD = require("apex.services").CEPH_OSD
M.FAILURES_COMMAND = "stack failures list overcloud --long"
M.FETCHED = { overcloudrc = "overcloudrc", servers = "overcloud_servers.json" }
--- One deploy command per undercloud at a time: a lock in the work dir
--- (flock), with the holder's PID and start time beside it.
M.LOCK = ".apex-deploy.lock"
M.LOCK_INFO = ".apex-deploy.pid"
M.LOCKED = 75

local function q(s) return util.shell_quote(s) end

--- `cd work_dir && . stackrc && <openstack> <args>`: what every openstack
--- call on the undercloud looks like.
---@param ctx apex.Ctx
---@param args string
---@return string
local function openstack(ctx, args)
  local u = ctx.infra.undercloud
  return string.format("cd %s && . %s && %s %s", q(u.work_dir), q(u.stackrc), q(u.openstack), args)
end

--- Runs a command on the undercloud; a failure raises with its output.
---@param ctx apex.Ctx
---@param command string
---@param what string
---@return apex.RunSshResult
local function remote(ctx, command, what)
  site_mod.hold_undercloud(ctx.infra, ctx.tmp_dir)
  local r = core.ssh.run({ host = site_mod.ssh_host(ctx.infra), command = command, check = false })
  if not r.ok then
    util.fail("%s failed on the undercloud (exit %d): %s", what, r.status,
      ((r.stderr ~= "" and r.stderr or r.stdout):gsub("%s+$", "")))
  end
  return r
end

--- Where each deploy file goes on the undercloud: plan files into the work
--- dir (same relative path), the plugins' files the command names under THT
--- into the site's THT dir (as Apex copies its storage and SR-IOV env files
--- over THT's), the overcloud images into the work dir.
---@param ctx apex.Ctx
---@return {from: string, to: string, tht?: boolean, sha256: string}[]
function M.deploy_files(ctx)
  local u = ctx.infra.undercloud
  local tht_named = {}
  for _, e in ipairs(ctx.env_files) do
    if not e["local"] then tht_named[e.path:match("([^/]+)$")] = e.path end
  end
  local out = {}
  for _, rel in ipairs(util.sorted_keys(ctx.files)) do
    if plan.uploaded(ctx, rel) and not rel:match("^containers/") and not rel:match("_patches/") then
      local dest = tht_named[rel] or (u.work_dir .. "/" .. rel)
      out[#out + 1] = { from = util.path(ctx.tmp_dir, rel), to = dest, tht = tht_named[rel] ~= nil,
        sha256 = core.data.sha256({ text = ctx.files[rel] }).hex, mode = plan.mode(ctx, rel) }
    end
  end
  return out
end

--- Upload of the deploy files and the overcloud images: only those whose
--- sum differs from what the undercloud holds (read in step 2) or from the
--- last upload. THT files go through the work dir and are installed as root.
---@param ctx apex.Ctx
local function upload_files(ctx)
  local u = ctx.infra.undercloud
  local host = site_mod.ssh_host(ctx.infra)
  local files = M.deploy_files(ctx)
  local details = {}
  for _, f in ipairs(files) do details[#details + 1] = string.format("%s (mode %04o)", f.to, f.mode) end
  for _, name in ipairs(M.IMAGE_FILES) do details[#details + 1] = u.work_dir .. "/" .. name .. " (mode 0644)" end
  local function all()
    local list = util.deep_copy(files)
    for _, name in ipairs(M.IMAGE_FILES) do
      local from = util.path(ctx.tmp_dir, plan.IMAGE_DIR, name)
      if not core.fs.exists({ path = from }).exists then
        util.fail("%s: missing; step 1's artifacts (overcloud-full.tar, ironic-python-agent.tar) must hold %s", from,
          table.concat(M.IMAGE_FILES, ", "))
      end
      list[#list + 1] = { from = from, to = u.work_dir .. "/" .. name, sha256 = state.file_sum(ctx.state, from),
        image = true }
    end
    return list
  end
  runner.add(ctx, {
    step = M.number, key = "upload_deploy_files", details = details,
    text = string.format("upload %d deploy files and %d overcloud image files to the undercloud (only what changed)",
      #files, #M.IMAGE_FILES),
    inputs = function()
      local sums = {}
      for _, f in ipairs(all()) do sums[f.to] = f.sha256 end
      return { host = host, files = sums }
    end,
    valid = function(out) return runner.still_uploaded(ctx, out.sent) end,
    run = function(prev)
      site_mod.hold_undercloud(ctx.infra, ctx.tmp_dir)
      local before = ctx.uploaded_sums or (prev and prev.outputs and prev.outputs.sent) or {}
      local sent, todo, images_changed = {}, {}, false
      for _, f in ipairs(all()) do
        sent[f.to] = f.sha256
        if before[f.to] ~= f.sha256 then
          todo[#todo + 1] = f
          if f.image then images_changed = true end
        end
      end
      core.parallel.map(todo, function(f)
        local to = f.tht and (u.work_dir .. "/tht/" .. f.to:match("([^/]+)$")) or f.to
        -- Each with its mode here: secrets (BMC passwords, the overcloud key) stay 0600.
        core.ssh.upload({ host = host, from = f.from, to = to, mode = f.mode or 420, sha256 = true })
        return true
      end, { limit = 4 })
      -- A file kept from an earlier upload (same sum) gets its mode too: an
      -- older apex uploaded every file 0644.
      local uploading, chmods = {}, {}
      for _, f in ipairs(todo) do uploading[f.to] = true end
      for _, f in ipairs(files) do
        if not uploading[f.to] and not f.tht and f.mode ~= 420 then
          chmods[#chmods + 1] = string.format("chmod %04o -- %s", f.mode, q(f.to))
        end
      end
      if #chmods > 0 then remote(ctx, table.concat(chmods, " && "), "setting the modes of the deploy files") end
      local installs = {}
      for _, f in ipairs(todo) do
        if f.tht then
          installs[#installs + 1] = string.format("install -m %04o %s %s", f.mode or 420,
            q(u.work_dir .. "/tht/" .. f.to:match("([^/]+)$")), q(f.to))
        end
      end
      if #installs > 0 then
        local sudo = u.user ~= "root" and "sudo -n " or ""
        remote(ctx, sudo .. "sh -c " .. q(table.concat(installs, " && ")), "installing env files into " .. u.tht_dir)
      end
      return { sent = sent, uploaded = #todo, images_changed = images_changed }
    end,
  })
end

--- `openstack overcloud image upload` when the overcloud images changed
--- (`--update-existing` after the first time); not again otherwise.
---@param ctx apex.Ctx
local function image_upload(ctx)
  runner.add(ctx, {
    step = M.number, key = "image_upload",
    text = "openstack overcloud image upload (overcloud-full, ironic-python-agent) into Glance on the undercloud",
    inputs = function()
      local sums = {}
      for _, name in ipairs(M.IMAGE_FILES) do
        local p = util.path(ctx.tmp_dir, plan.IMAGE_DIR, name)
        sums[name] = core.fs.exists({ path = p }).exists and state.file_sum(ctx.state, p) or false
      end
      return sums
    end,
    run = function(prev)
      local update = prev and prev.outputs and prev.outputs.uploaded and " --update-existing" or ""
      remote(ctx, openstack(ctx, "overcloud image upload" .. update), "openstack overcloud image upload")
      return { uploaded = true }
    end,
  })
end

--- Node import from instackenv.json: baremetal nodes are introspected and
--- provided (when global_params.introspect), as Apex does; virtual nodes
--- are provided at import.
---@param ctx apex.Ctx
local function node_import(ctx)
  if not ctx.files["instackenv.json"] then return end
  local baremetal = ctx.inventory ~= nil and not ctx.inventory.virtual and ctx.settings.global_params.introspect ~= false
  local cmds = baremetal
      and { "overcloud node import instackenv.json", "overcloud node introspect --all-manageable --provide" }
      or { "overcloud node import --provide instackenv.json" }
  local details = {}
  for i, c in ipairs(cmds) do details[i] = "openstack " .. c end
  runner.add(ctx, {
    step = M.number, key = "node_import", details = details,
    text = string.format("import %d nodes from instackenv.json%s", #(ctx.inventory and ctx.inventory.nodes or {}),
      baremetal and ", introspect and provide them" or ", provide them"),
    inputs = function() return { nodes = core.data.sha256({ text = ctx.files["instackenv.json"] }).hex, cmds = cmds } end,
    run = function()
      for _, c in ipairs(cmds) do remote(ctx, openstack(ctx, c), "openstack " .. c) end
      return { imported = true }
    end,
  })
end

--- With nodes the operator registered in ironic (site undercloud.registered_nodes,
--- no inventory): before the deploy command, ironic must hold as many usable
--- nodes (available or active, not in maintenance) as the scales ask for.
---@param ctx apex.Ctx
local function registered_nodes(ctx)
  if ctx.inventory or not ctx.infra.undercloud.registered_nodes then return end
  local need = ctx.scales.control + ctx.scales.compute
  local cmd = 'baremetal node list -f json -c UUID -c "Provisioning State" -c Maintenance'
  runner.add(ctx, {
    step = M.number, key = "registered_nodes", details = { "openstack " .. cmd },
    text = string.format("check that the undercloud's ironic holds %d usable nodes (%d control, %d compute; "
      .. "site: registered_nodes)", need, ctx.scales.control, ctx.scales.compute),
    inputs = function() return { need = need, cmd = cmd } end,
    run = function()
      local out = remote(ctx, openstack(ctx, cmd), "openstack baremetal node list").stdout
      local ok, list = pcall(core.json.load, { text = out })
      if not ok or type(list) ~= "table" then
        util.fail("openstack baremetal node list: not a JSON list: %s", out:sub(1, 200))
      end
      local usable = 0
      for _, n in ipairs(list) do
        local st = n["Provisioning State"]
        if (st == "available" or st == "active") and n.Maintenance ~= true then usable = usable + 1 end
      end
      if usable < need then
        util.fail("the undercloud's ironic holds %d usable nodes (available or active, not in maintenance) of %d; "
          .. "the deploy needs %d (%d control, %d compute): register more nodes, or give an inventory (-i)",
          usable, #list, need, ctx.scales.control, ctx.scales.compute)
      end
      return { usable = usable, nodes = #list }
    end,
  })
end

--- roles_data.yaml as Apex leaves it: the Ceph OSD service on Compute (before
--- NovaCompute) and Controller (before CephRbdMirror) instead of a storage
--- role, and the External network on Compute with its default route there.
---@param text string
---@param source string
---@return string
function M.roles_data(text, source)
  local ok, roles = pcall(core.yaml.load, { text = text })
  if not ok or type(roles) ~= "table" or not util.is_list(roles) then
    util.fail("%s: not a TripleO roles_data list (%s)", source, ok and "not a list" or util.message(roles))
  end
  local function insert_before(list, anchor, item)
    for i, s in ipairs(list) do
      if s == anchor then table.insert(list, i, item) return end
    end
    list[#list + 1] = item
  end
  for _, role in ipairs(roles) do
    local services = role.ServicesDefault
    if type(services) == "table" then
      for i = #services, 1, -1 do
        if services[i] == M.CEPH_OSD then table.remove(services, i) end
      end
      local anchor = require("apex.services").CEPH_OSD_ROLES[role.name]
      if anchor then insert_before(services, anchor, M.CEPH_OSD) end
    end
    if role.name == "Compute" then
      if type(role.networks) == "table" and not util.is_list(role.networks) then
        role.networks.External = role.networks.External or { subnet = "external_subnet" }
      else
        role.networks = role.networks or core.data.array()
        if not util.contains(role.networks, "External") then role.networks[#role.networks + 1] = "External" end
      end
      role.default_route_networks = core.data.array()
      role.default_route_networks[1] = "External"
    end
  end
  return "# roles_data.yaml: edited by apex as Apex's deploy does (Ceph OSD on Compute and Controller, "
      .. "External on Compute)\n" .. core.yaml.dump(roles)
end

--- Flavors get the architecture, the ctlplane subnet the DNS servers,
--- roles_data the Ceph OSD and External network changes, and the NIC
--- templates THT's new parameters (when THT ships its merge script).
---@param ctx apex.Ctx
local function prepare_undercloud(ctx)
  local u = ctx.infra.undercloud
  local dns = {}
  for i, d in ipairs(ctx.network.dns_nameservers) do dns[i] = "--dns-nameserver " .. q(d) end
  local arch = ctx.inventory and ctx.inventory.nodes[1] and ctx.inventory.nodes[1].arch or "x86_64"
  local cmds = {}
  for _, f in ipairs(M.FLAVORS) do
    cmds[#cmds + 1] = string.format('flavor set --property "cpu_arch"=%s %s', q(arch), f)
  end
  cmds[#cmds + 1] = "subnet set ctlplane-subnet " .. table.concat(dns, " ")
  local roles = tht.on_site(tht.THT_DIR .. "/roles_data.yaml", u.tht_dir)
  local details = {}
  for i, c in ipairs(cmds) do details[i] = "openstack " .. c end
  details[#details + 1] = roles .. ": Ceph OSD on Compute and Controller, External network on Compute"
  runner.add(ctx, {
    step = M.number, key = "prepare_undercloud", details = details,
    text = "flavors (cpu_arch " .. arch .. "), ctlplane DNS, roles_data.yaml, NIC templates on the undercloud",
    inputs = function() return { cmds = cmds, roles = roles, nics = ctx.files["nics/controller.yaml"] } end,
    run = function()
      for _, c in ipairs(cmds) do remote(ctx, openstack(ctx, c), "openstack " .. c) end
      local current = remote(ctx, "cat " .. q(roles), "reading " .. roles).stdout
      local edited = M.roles_data(current, roles)
      local staged = util.path(ctx.tmp_dir, "roles_data.yaml")
      core.fs.write({ path = staged, content = edited })
      core.ssh.upload({ host = site_mod.ssh_host(ctx.infra), from = staged, to = u.work_dir .. "/tht/roles_data.yaml", mode = 420 })
      local sudo = u.user ~= "root" and "sudo -n " or ""
      local merge = tht.on_site(tht.THT_DIR .. "/tools/merge-new-params-nic-config-script.py", u.tht_dir)
      local script = string.format("install -m 0644 %s %s", q(u.work_dir .. "/tht/roles_data.yaml"), q(roles))
      if ctx.networks_file then
        for _, role in ipairs({ "controller", "compute" }) do
          -- The site's THT and roles, not the script's /usr/share defaults (Apex relied on those).
          script = script .. string.format(" && if [ -x %s ]; then %s --tht-dir %s -r %s -n %s -t %s --discard-comments True "
            .. "--role-name Controller; fi", q(merge), q(merge), q(u.tht_dir), q(roles),
            q(u.work_dir .. "/" .. ctx.networks_file), q(u.work_dir .. "/nics/" .. role .. ".yaml"))
        end
      end
      remote(ctx, sudo .. "sh -c " .. q(script), "roles_data and NIC templates")
      return { roles = core.data.sha256({ text = edited }).hex }
    end,
  })
end

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
    deploy_files = inputs("upload_deploy_files"),
    undercloud_patches = inputs("undercloud_patches"),
    mirrored = outputs("mirror_images").digests,
    rebuilt = rebuilt,
    ceph = outputs("ceph_image").digest,
  }
end

--- The deploy command in the work dir; not run again while the command,
--- files and images are those of the last successful deploy (a stack update
--- is long), unless `--redeploy`. A failure shows the stack's failures; a
--- success fetches overcloudrc and the server list.
---@param ctx apex.Ctx
---@param command string
local function run_deploy(ctx, command)
  local u = ctx.infra.undercloud
  runner.add(ctx, {
    step = M.number, key = "run_deploy",
    text = "run deploy_command on the undercloud (" .. ctx.uc_ip .. ") in " .. u.work_dir
        .. " (its stack followed every " .. u.progress_every .. "s, resources unchanged for " .. u.stuck_after
        .. "s named possibly stuck); then fetch overcloudrc and the server list",
    force = ctx.opts.redeploy,
    skip_hint = "the overcloud was deployed from the same command, files and images; --redeploy runs it again",
    inputs = function() return { command = command, work_dir = u.work_dir, from = deployed_from(ctx) } end,
    run = function(prev)
      site_mod.hold_undercloud(ctx.infra, ctx.tmp_dir)
      local host = site_mod.ssh_host(ctx.infra)
      local locked = string.format("flock -n -E %d %s sh -c %s", M.LOCKED, M.LOCK,
        q('echo "$$ $(date -u +%Y-%m-%dT%H:%M:%SZ)" > ' .. M.LOCK_INFO .. "; exec " .. command))
      -- Followed while it runs (apex.stack_watch): progress lines, possibly stuck resources.
      local r = watch.while_running({
        tmp_dir = ctx.tmp_dir, every = u.progress_every, quiet_time = u.stuck_after,
        poll = function()
          local p = core.ssh.run({ host = host, check = false, quiet = true, command = openstack(ctx, watch.COMMAND) })
          if not p.ok then return nil, p.stderr end
          return core.json.load({ text = p.stdout, name = "openstack " .. watch.COMMAND })
        end,
      }, function()
        return core.ssh.run({ host = host, check = false,
          command = string.format("cd %s && . %s && %s", q(u.work_dir), q(u.stackrc), locked) })
      end)
      if r.status == M.LOCKED then
        local info = core.ssh.run({ host = host, check = false,
          command = "cat " .. q(u.work_dir .. "/" .. M.LOCK_INFO) }).stdout:gsub("%s+$", "")
        local pid, started = info:match("^(%d+) (%S+)")
        util.fail("a deploy command is already running on the undercloud (pid %s, started %s; lock %s/%s): "
          .. "wait for it to end, then run again", pid or "?", started or "?", u.work_dir, M.LOCK)
      end
      if not r.ok then
        local f = core.ssh.run({ host = host, check = false, command = openstack(ctx, M.FAILURES_COMMAND) })
        local failures = ((f.ok and f.stdout or ("(could not list them: " .. f.stderr .. ")")):gsub("%s+$", ""))
        util.fail("the deploy command exited with %d on the undercloud: %s\nstack failures (openstack %s):\n%s", r.status,
          ((r.stderr ~= "" and r.stderr or r.stdout):gsub("%s+$", "")), M.FAILURES_COMMAND, failures)
      end
      -- quiet: overcloudrc holds the overcloud's admin password, kept out of the log.
      local rc = core.ssh.run({ host = host, check = false, quiet = true, command = "cat " .. q(u.work_dir .. "/overcloudrc") })
      if not rc.ok then util.fail("fetching overcloudrc failed on the undercloud (exit %d): %s", rc.status, rc.stderr) end
      rc = rc.stdout
      core.fs.write({ path = util.path(ctx.tmp_dir, M.FETCHED.overcloudrc), content = rc, mode = 384 })
      local servers = remote(ctx, openstack(ctx, "server list -f json"), "openstack server list").stdout
      core.fs.write({ path = util.path(ctx.tmp_dir, M.FETCHED.servers), content = servers })
      ctx.notes[#ctx.notes + 1] = string.format("overcloud credentials in %s, its servers in %s",
        util.path(ctx.tmp_dir, M.FETCHED.overcloudrc), util.path(ctx.tmp_dir, M.FETCHED.servers))
      -- Counts the deploys (post-deploy follows each); a count, not a time: it hashes the same after the state file.
      local count = prev and prev.outputs and math.tointeger(prev.outputs.deploys) or 0
      return { status = r.status, deploys = count + 1 }
    end,
  })
end

---@param ctx apex.Ctx
function M.plan(ctx)
  local args = util.deep_copy(ctx.deploy_args)
  args[1] = ctx.infra.undercloud.openstack
  local words = {}
  for i, a in ipairs(args) do words[i] = q(a) end
  upload_files(ctx)
  require("apex.preflight").add(ctx, M.number)
  image_upload(ctx)
  node_import(ctx)
  registered_nodes(ctx)
  prepare_undercloud(ctx)
  run_deploy(ctx, table.concat(words, " "))
end

return M
