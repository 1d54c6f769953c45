--- Step 2: the undercloud. By default an existing host reached over SSH; with
--- site `undercloud.create: true` apex first creates it as Apex does: a
--- copy-on-write overlay of the upstream undercloud image with the SSH keys,
--- stack's access and the NIC configuration injected, a libvirt domain on the
--- jump host, SSH waited for, then configured (undercloud.conf, the NIC
--- templates, `openstack undercloud install`). With `--virtual` the overcloud
--- nodes are VMs too: empty disks booting from the network, each behind a
--- virtual BMC, and their instackenv.json. Reaching the undercloud creates the
--- work dir and reads back the sums of what the last run uploaded there, so a
--- work dir wiped or changed since (a reinstalled undercloud) is uploaded again.
local core = require("apex.core")
local util = require("apex.util")
local runner = require("apex.runner")
local site_mod = require("apex.site")
local state = require("apex.state")
local plan = require("apex.plan")
local artifacts = require("apex.artifacts")
local uvm = require("apex.undercloud_vm")
local inventory = require("apex.inventory")
local images = require("apex.images")

---@type apex.Step
local M = { number = 2, name = "undercloud", summary = "reach (or create and configure) the undercloud" }

--- The keys of this step's actions in state.json: `apex destroy` drops them
--- all, so the next deploy reaches or creates the undercloud again.
M.KEYS = {
  reach = "undercloud", vm_networks = "undercloud_vm_networks", vm = "undercloud_vm",
  configure = "undercloud_configure", virtual_nodes = "virtual_nodes",
}

--- Parses `sha256sum` output into name -> sum.
---@param text string
---@return table<string, string>
local function parse_sums(text)
  local sums = {}
  for sum, name in text:gmatch("(%x+)  ([^\n]+)") do sums[name] = sum end
  return sums
end

local function reach(ctx, group)
  local u = ctx.infra.undercloud
  local where = u.user .. "@" .. u.address .. (u.port ~= 22 and (":" .. u.port) or "")
  runner.add(ctx, {
    step = M.number, key = M.KEYS.reach, recheck = true, group = group,
    text = string.format("reach the undercloud %s over SSH (host key checked against known_hosts), create %s",
      where, u.work_dir),
    inputs = function() return { host = site_mod.ssh_host(ctx.infra), work_dir = u.work_dir } end,
    run = function()
      local q = util.shell_quote(u.work_dir)
      local names = {}
      for _, key in ipairs(runner.UPLOADS) do
        local rec = state.get(ctx.state, key)
        for name in pairs(rec and rec.outputs and rec.outputs.sent or {}) do names[#names + 1] = name end
      end
      table.sort(names)
      local check = ""
      if #names > 0 then
        local quoted = {}
        for i, n in ipairs(names) do quoted[i] = util.shell_quote(n) end
        check = "; echo '--- sums'; cd " .. q .. " && { test -d containers || echo 'no containers/'; sha256sum -- "
            .. table.concat(quoted, " ") .. " 2>/dev/null; }; true"
      end
      local r = core.ssh.run({ host = site_mod.ssh_host(ctx.infra),
        command = "mkdir -p " .. q .. " && test -w " .. q .. " && uname -n" .. check })
      local node, sums = r.stdout:match("^(.-)\n%-%-%- sums\n(.*)$")
      ctx.uploaded_sums = parse_sums(sums or "")
      -- The patch archive counts as there only with its unpacked containers/.
      if (sums or ""):find("no containers/", 1, true) then ctx.uploaded_sums[plan.ARCHIVE] = nil end
      return { node = ((node or r.stdout):gsub("%s+$", "")) }
    end,
  })
end

local function exists(path) return core.fs.exists({ path = path }).exists end

--- The file name of a kept key: the RSA one of an earlier apex if there is one.
local function key_name(ctx, rsa_name, name)
  return exists(util.path(ctx.tmp_dir, uvm.SSH_DIR, rsa_name)) and rsa_name or name
end

--- The keys of a created undercloud (kept in the tmp dir): apex's client key
--- (root's and stack's authorized key) and the VM's host key, which apex
--- writes into known_hosts itself, so the first connection is verified too.
--- New keys are Ed25519; the RSA keys of an undercloud created by an earlier
--- apex are kept (its image already holds them).
local function keys(ctx, vm)
  local u = ctx.infra.undercloud
  local dir = util.path(ctx.tmp_dir, uvm.SSH_DIR)
  local function pair(rsa_name, name, comment)
    name = key_name(ctx, rsa_name, name)
    local k = core.ssh.key_pair({ path = util.path(dir, name), comment = comment })
    plan.file(ctx, uvm.SSH_DIR .. "/" .. name, k.private, { mode = 384, upload = false })
    plan.file(ctx, uvm.SSH_DIR .. "/" .. name .. ".pub", k.public .. "\n", { upload = false })
    return k, name
  end
  local client, client_name = pair("id_rsa", "id_ed25519", "apex@" .. ctx.scenario.name)
  local host = pair("ssh_host_rsa_key", "ssh_host_ed25519_key", "undercloud host key")
  if vm.network == "user" then
    if not u.given.address then u.address = "127.0.0.1" end
    if not u.given.port then u.port = vm.ssh_port end
  end
  local pub = host.public:match("^(%S+ %S+)")
  local name = u.port == 22 and u.address or string.format("[%s]:%d", u.address, u.port)
  plan.file(ctx, uvm.SSH_DIR .. "/known_hosts", name .. " " .. pub .. "\n", { upload = false })
  if not u.given.key then u.key = util.path(dir, client_name) end
  if not u.given.known_hosts then u.known_hosts = util.path(dir, "known_hosts") end
  return client, host
end

local function undercloud_vm(ctx)
  local vm, u = ctx.infra.vm, ctx.infra.undercloud
  local client, hostkey = keys(ctx, vm)
  local images = util.path(ctx.tmp_dir, plan.IMAGE_DIR)
  local base = util.path(ctx.infra.artifacts.cache_dir, "undercloud.qcow2")
  local overlay = util.path(vm.image_dir, vm.name .. ".qcow2")
  local nics = uvm.nics(ctx.network)
  for _, n in ipairs(nics) do plan.file(ctx, "undercloud/ifcfg-" .. n.device, n.text, { upload = false }) end

  -- The domain: Apex's NICs on libvirt networks (default NAT, admin, external), or one
  -- user-mode NIC with SSH forwarded from 127.0.0.1 (a lab on one machine).
  local dom_nics, networks = {}, {}
  if vm.network == "user" then
    dom_nics[1] = { user = true, forwards = { { host_port = vm.ssh_port, guest_port = 22 } },
      mac = core.vm.mac({ seed = ctx.tmp_dir .. "/" .. vm.name .. "/eth0" }).mac }
  else
    for _, n in ipairs(nics) do
      local net = n.network == "default" and "default" or ("apex-" .. n.network)
      if n.network ~= "default" then networks[#networks + 1] = { name = net, bridge = "br-" .. n.network } end
      dom_nics[#dom_nics + 1] = { network = net, mac = core.vm.mac({ seed = ctx.tmp_dir .. "/" .. vm.name .. "/" .. n.device }).mac }
    end
  end
  local spec = {
    name = vm.name, memory = vm.memory, cpus = vm.cpus, domain_type = vm.domain_type, cpu_model = vm.cpu_model,
    disks = { { path = overlay, bus = vm.disk_bus } }, nics = dom_nics,
    kernel = vm.kernel or util.path(images, "overcloud-full.vmlinuz"),
    initrd = vm.initrd or util.path(images, "overcloud-full.initrd"),
    cmdline = vm.cmdline, serial_log = util.path(ctx.tmp_dir, "undercloud", "console.log"), owner = ctx.tmp_dir,
  }
  local xml = core.vm.domain_xml(spec).xml
  plan.file(ctx, "undercloud/domain.xml", xml, { upload = false })
  local ops = uvm.inject_ops({ authorized_key = client.public, host_key = hostkey.private, host_key_pub = hostkey.public,
    nics = nics, hostname = "undercloud." .. ctx.network.domain })

  if #networks > 0 then
    local net_xml = {}
    for i, n in ipairs(networks) do
      net_xml[i] = core.vm.network_xml(n).xml
      plan.file(ctx, "undercloud/network-" .. n.name .. ".xml", net_xml[i], { upload = false })
    end
    runner.add(ctx, {
      step = M.number, key = M.KEYS.vm_networks,
      text = string.format("create the libvirt networks %s on %s (isolated bridges, as Apex's admin and external)",
        table.concat(util.sorted_keys((function() local t = {} for _, n in ipairs(networks) do t[n.name] = true end return t end)()), ", "), vm.uri),
      inputs = function() return { uri = vm.uri, xml = net_xml } end,
      run = function()
        for i, n in ipairs(networks) do
          local r = core.vm.network_ensure({ uri = vm.uri, name = n.name, xml = net_xml[i] })
          if r.created then uvm.record(ctx.tmp_dir, function(rec) rec.uri = vm.uri; uvm.add_unique(rec.networks, n.name) end) end
        end
        return { networks = #networks }
      end,
    })
  end

  local function inputs()
    local art = ctx.artifacts and ctx.artifacts["undercloud.qcow2"] or {}
    return { image = { size = art.size, generation = art.generation }, xml = xml, ops = ops, overlay = overlay, disk = vm.disk }
  end
  local function summary()
    local i = inputs()
    return { image = core.json.dump(i.image), domain = core.data.sha256({ text = xml }).hex,
      customization = core.data.sha256({ text = core.json.dump(ops) }).hex, disk = tostring(vm.disk) }
  end
  local function wait()
    return core.vm.wait_ssh({ address = u.address, port = u.port, timeout = vm.boot_timeout })
  end
  runner.add(ctx, {
    step = M.number, key = M.KEYS.vm,
    text = string.format("create the undercloud VM %s on %s: overlay %s of undercloud.qcow2 (%d GiB), inject SSH keys, "
      .. "stack's access and %d NICs, define and start it (%d vCPUs, %d MiB), wait for SSH on %s:%d",
      vm.name, vm.uri, overlay, vm.disk, #nics, vm.cpus, vm.memory, u.address, u.port),
    details = { "domain XML: undercloud/domain.xml", "NIC configuration: undercloud/ifcfg-*",
      "a rerun with the same image and settings reuses the running VM; changed ones are refused without --recreate-undercloud" },
    inputs = inputs,
    valid = function(out)
      local st = core.vm.state({ uri = vm.uri, name = vm.name })
      return st.running and st.owner == ctx.tmp_dir and out.created ~= nil
    end,
    reuse = function(out) ctx.undercloud_created = out.created end,
    run = function(prev)
      local st = core.vm.state({ uri = vm.uri, name = vm.name })
      if st.exists and st.owner ~= ctx.tmp_dir then
        util.fail("a domain %s exists on %s and apex did not create it for %s (its owner: %s); remove it or set vm.name",
          vm.name, vm.uri, ctx.tmp_dir, st.owner or "none")
      end
      local same = prev and prev.status == "done" and prev.inputs == state.hash(inputs())
      if st.exists and same then
        -- Ours with the same inputs, only stopped (a reboot of the jump host): start it again
        -- (on its backing image, checked against the sha256 recorded at download).
        artifacts.checked(ctx, "undercloud.qcow2")
        core.vm.start({ uri = vm.uri, name = vm.name })
        local w = wait()
        ctx.undercloud_created = prev.outputs.created
        return { created = prev.outputs.created, summary = prev.outputs.summary, ssh_seconds = w.seconds }
      end
      if st.exists then
        local changed = {}
        local now = summary()
        for k, v in pairs(now) do
          if not (prev and prev.outputs and prev.outputs.summary) or prev.outputs.summary[k] ~= v then changed[#changed + 1] = k end
        end
        table.sort(changed)
        if not ctx.opts.recreate_undercloud then
          util.fail("the undercloud VM %s runs with other inputs (changed: %s); it is left as it is. "
            .. "Rerun with --recreate-undercloud to destroy and recreate it (the undercloud's state is lost)",
            vm.name, #changed > 0 and table.concat(changed, ", ") or "unknown")
        end
        core.log.write({ level = "warn", msg = "recreating the undercloud VM " .. vm.name .. " (changed: " .. table.concat(changed, ", ") .. ")" })
        core.vm.remove({ uri = vm.uri, name = vm.name, owner = ctx.tmp_dir })
      end
      if exists(overlay) then core.fs.remove({ path = overlay }) end
      uvm.record(ctx.tmp_dir, function(rec)
        rec.uri = vm.uri
        uvm.add_unique(rec.domains, vm.name)
        uvm.add_unique(rec.disks, overlay)
      end)
      core.fs.mkdir({ path = util.path(ctx.tmp_dir, "undercloud") })
      -- The backing image is read as it is: checked against its recorded sha256 first (one read).
      artifacts.checked(ctx, "undercloud.qcow2")
      core.vm.disk({ path = overlay, size = vm.disk * 1024 * 1024 * 1024, backing = base })
      core.image.customize({ image = overlay, backing = base, ops = ops })
      core.vm.define({ uri = vm.uri, xml = xml })
      core.vm.start({ uri = vm.uri, name = vm.name })
      local w = wait()
      ctx.undercloud_created = string.format("%.3f", core.os.now().unix)
      return { created = ctx.undercloud_created, summary = summary(), ssh_seconds = w.seconds }
    end,
  })
end

--- Apex's configure_undercloud: the key of the jump host, the NIC templates,
--- undercloud.conf, `openstack undercloud install` (its log fetched on failure).
local function configure(ctx)
  local u = ctx.infra.undercloud
  local conf = uvm.undercloud_conf(ctx.network, {
    ipxe = ctx.settings.global_params.ipxe ~= false, local_interface = "eth1",
    registry = ctx.site.local_registry, containers_file = uvm.STACK_HOME .. "/" .. images.PREPARE_FILE,
  })
  plan.file(ctx, "undercloud/undercloud.conf", conf, { upload = false })
  local log = "apex-undercloud-install.log"
  local install = string.format("cd %s && %s undercloud install > %s 2>&1", util.shell_quote(uvm.STACK_HOME),
    util.shell_quote(u.openstack), log)
  runner.add(ctx, {
    step = M.number, key = M.KEYS.configure,
    text = "configure the undercloud (Apex's configure_undercloud): upload undercloud.conf, its container_images_file and nics/, run `openstack undercloud install`",
    details = { "undercloud.conf: undercloud/undercloud.conf -> " .. uvm.STACK_HOME .. "/undercloud.conf",
      install .. " (the log comes back into the tmp dir on failure)" },
    inputs = function()
      local nics = {}
      for rel, text in pairs(ctx.files) do
        if rel:match("^nics/") or rel == images.PREPARE_FILE then nics[rel] = core.data.sha256({ text = text }).hex end
      end
      return { conf = conf, nics = nics, created = ctx.undercloud_created }
    end,
    run = function()
      local host = site_mod.ssh_host(ctx.infra)
      core.ssh.run({ host = host, command = "mkdir -p " .. uvm.STACK_HOME .. "/nics" })
      core.ssh.upload({ host = host, from = util.path(ctx.tmp_dir, "undercloud", "undercloud.conf"), to = uvm.STACK_HOME .. "/undercloud.conf" })
      core.ssh.upload({ host = host, from = util.path(ctx.tmp_dir, uvm.SSH_DIR, key_name(ctx, "id_rsa", "id_ed25519") .. ".pub"), to = uvm.STACK_HOME .. "/jumphost_id_rsa.pub" }) -- Apex's name
      -- undercloud.conf's container_images_file, as Apex's configure_undercloud copies it.
      core.ssh.upload({ host = host, from = util.path(ctx.tmp_dir, images.PREPARE_FILE),
        to = uvm.STACK_HOME .. "/" .. images.PREPARE_FILE })
      for _, role in ipairs({ "controller", "compute" }) do
        local rel = "nics/" .. role .. ".yaml"
        if ctx.files[rel] then
          core.ssh.upload({ host = host, from = util.path(ctx.tmp_dir, rel), to = uvm.STACK_HOME .. "/" .. rel })
        end
      end
      local r = core.ssh.run({ host = host, command = install, check = false, timeout = 7200 })
      if not r.ok then
        local got = core.ssh.run({ host = host, command = "cat " .. uvm.STACK_HOME .. "/" .. log, check = false, quiet = true })
        local dest = util.path(ctx.tmp_dir, log)
        core.fs.write({ path = dest, content = got.stdout })
        local tail = {}
        for line in got.stdout:gmatch("[^\n]+") do
          tail[#tail + 1] = line
          if #tail > 15 then table.remove(tail, 1) end
        end
        util.fail("openstack undercloud install failed (exit %d); its log: %s, ending:\n%s%s", r.status, dest,
          table.concat(tail, "\n"), r.stderr ~= "" and ("\n" .. r.stderr) or "")
      end
      return { installed = true }
    end,
  })
end

--- The overcloud nodes of a virtual deploy: one VM each (empty disk, network
--- boot, not started: Ironic powers them) behind a virtual BMC, and the
--- inventory step 7 writes as instackenv.json.
local function virtual_nodes(ctx)
  local vm = ctx.infra.vm
  local s = ctx.settings
  local ha = s.global_params.ha_enabled
  local computes = ctx.opts.virtual_computes or (ha and inventory.VIRTUAL_HA_COMPUTES or inventory.VIRTUAL_COMPUTES)
  if ha and computes < inventory.VIRTUAL_HA_COMPUTES then computes = inventory.VIRTUAL_HA_COMPUTES end
  local nodes = uvm.nodes({ ha = ha, computes = computes, cpus = ctx.opts.virtual_cpus or 4, ram = ctx.opts.virtual_ram or 8,
    sdn = s.deploy_options.sdn_controller, prefix = vm.node_prefix, seed = ctx.tmp_dir,
    bmc = { port = vm.bmc_port } })
  -- How the undercloud reaches the BMCs: the host's address on the libvirt network, or
  -- 10.0.2.2 (the host's loopback as user-mode networking shows it) in a one-machine lab.
  local seen_as = vm.network == "user" and "10.0.2.2" or vm.bmc_address
  local raw = uvm.inventory(nodes, { seen_as = seen_as, user = vm.bmc_user, password = vm.bmc_password })
  ctx.inventory = inventory.validate(raw, "virtual nodes", { ha = ha })
  ctx.inventory.virtual = true
  local vbmc = { dir = util.path(ctx.tmp_dir, "vbmc"), command = vm.vbmc, control_port = vm.vbmc_control_port }
  local specs, xmls = {}, {}
  for i, n in ipairs(nodes) do
    local disk = util.path(vm.image_dir, n.name .. ".qcow2")
    local nics = {}
    if vm.network == "user" then
      nics[1] = { user = true, mac = n.mac }
    else
      for j, net in ipairs(ctx.network.enabled) do
        nics[j] = { network = "apex-" .. net, mac = j == 1 and n.mac or core.vm.mac({ seed = ctx.tmp_dir .. "/" .. n.name .. "/" .. net }).mac }
      end
    end
    specs[i] = { name = n.name, memory = n.memory, cpus = n.cpus, domain_type = vm.domain_type, cpu_model = vm.cpu_model,
      disks = { { path = disk, bus = vm.disk_bus } }, nics = nics, boot = { "network", "hd" }, owner = ctx.tmp_dir,
      serial_log = util.path(ctx.tmp_dir, "virtual", n.name .. ".console.log") }
    xmls[i] = core.vm.domain_xml(specs[i]).xml
    plan.file(ctx, "virtual/" .. n.name .. ".xml", xmls[i], { upload = false })
  end
  local names = {}
  for i, n in ipairs(nodes) do names[i] = string.format("%s (%s, %d MiB, IPMI %s:%d)", n.name, n.profile, n.memory, vm.bmc_address, n.bmc_port) end
  runner.add(ctx, {
    step = M.number, key = M.KEYS.virtual_nodes,
    text = string.format("create %d virtual overcloud nodes on %s (empty %d GB disks, network boot), each behind a VirtualBMC",
      #nodes, vm.uri, uvm.NODE_DISK_GB),
    details = names,
    inputs = function() return { xml = xmls, bmc = { vm.bmc_address, vm.bmc_port, vm.bmc_user, vm.vbmc_control_port } } end,
    valid = function()
      for _, n in ipairs(nodes) do
        local st = core.vm.state({ uri = vm.uri, name = n.name })
        if not st.exists or st.owner ~= ctx.tmp_dir then return false end
      end
      local l = core.vbmc.list({ vbmc = vbmc })
      return l.running and #l.names >= #nodes
    end,
    run = function()
      for i, n in ipairs(nodes) do
        local st = core.vm.state({ uri = vm.uri, name = n.name })
        if st.exists and st.owner ~= ctx.tmp_dir then
          util.fail("a domain %s exists on %s and apex did not create it for %s; remove it or set vm.node_prefix", n.name, vm.uri, ctx.tmp_dir)
        end
        local disk = specs[i].disks[1].path
        uvm.record(ctx.tmp_dir, function(rec)
          rec.uri = vm.uri
          uvm.add_unique(rec.domains, n.name)
          uvm.add_unique(rec.disks, disk)
          rec.vbmc = vbmc
        end)
        if not exists(disk) then core.vm.disk({ path = disk, size = uvm.NODE_DISK_GB * 1024 * 1024 * 1024 }) end
        core.vm.define({ uri = vm.uri, xml = xmls[i] })
        core.vbmc.add({ vbmc = vbmc, bmc = { domain = n.name, port = n.bmc_port, address = vm.bmc_address,
          user = vm.bmc_user, password = vm.bmc_password, libvirt_uri = vm.uri } })
      end
      return { nodes = #nodes }
    end,
  })
end

---@param ctx apex.Ctx
function M.plan(ctx)
  local u = ctx.infra.undercloud
  if ctx.opts.virtual and ctx.inventory then
    util.fail("--virtual and an inventory (-i) exclude each other: a virtual deploy makes its nodes")
  end
  if not u.create then
    if ctx.opts.virtual then
      virtual_nodes(ctx)
    end
    reach(ctx, runner.INDEPENDENT)
    return
  end
  undercloud_vm(ctx)
  configure(ctx)
  if ctx.opts.virtual then virtual_nodes(ctx) end
  -- After the VM exists: not among the independent checks run beside step 1.
  reach(ctx, nil)
end

return M
