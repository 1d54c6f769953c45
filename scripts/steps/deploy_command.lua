--- Step 7: the env files, in the contract's order, with the settings'
--- content, the node inventory, the scales and NTP: the deploy command.
--- network-environment.yaml, the NIC templates and network_data.yaml come
--- from the network settings (apex.network_env); opnfv-environment.yaml, the
--- virtual/baremetal and kubernetes env files and the plugins' own files
--- (storage-environment.yaml, the SR-IOV file) from the deploy options and the
--- plugins' env_params (apex.opnfv_env); instackenv.json from the inventory.
--- Every one is a file of the plan; the run uploads exactly these files.
local core = require("apex.core")
local util = require("apex.util")
local plugins = require("apex.plugins")
local hook_ctx = require("apex.hook_ctx")
local tht = require("apex.tht")
local plan = require("apex.plan")
local inventory = require("apex.inventory")
local images = require("apex.images")
local network_env = require("apex.network_env")
local opnfv_env = require("apex.opnfv_env")

---@type apex.Step
local M = { number = 7, name = "deploy_command", summary = "env files, scales, NTP: the deploy command" }

M.SSH_KEY = "overcloud_ssh/id_ed25519"
M.SSH_KEY_RSA = "overcloud_ssh/id_rsa" -- the RSA key of a deploy made by an earlier apex, kept
M.INSTACKENV = "instackenv.json"
M.PRIVATE = 384 -- 0600: the private key and the BMC passwords

--- Whether nested virtualization is on (kvm), else qemu, for a virtual deploy.
---@return "kvm"|"qemu"
function M.libvirt_type()
  for _, m in ipairs({ "kvm_intel", "kvm_amd" }) do
    local p = "/sys/module/" .. m .. "/parameters/nested"
    if core.fs.exists({ path = p }).exists then
      local v = core.fs.read({ path = p }).content
      return (v:match("^[Y1]") and "kvm" or "qemu")
    end
  end
  return "qemu"
end

--- The overcloud's SSH key pair (Ed25519: see src/ssh/keygen.rs for why
--- TripleO takes it), kept in the tmp dir across runs (a rerun writes the same
--- env file and does not rotate the key of a running cloud).
---@param ctx apex.Ctx
---@return apex.SshKeyPair
local function ssh_key(ctx)
  local rel = core.fs.exists({ path = util.path(ctx.tmp_dir, M.SSH_KEY_RSA) }).exists and M.SSH_KEY_RSA or M.SSH_KEY
  local k = core.ssh.key_pair({ path = util.path(ctx.tmp_dir, rel), comment = "apex overcloud " .. ctx.scenario.name })
  plan.file(ctx, rel, k.private, { mode = M.PRIVATE, upload = false })
  plan.file(ctx, rel .. ".pub", k.public .. "\n", { upload = false })
  return { public = k.public, private = k.private }
end

--- Whether the overcloud is virtual, as Apex decides it: its `virtual` is the
--- --virtual flag (node VMs apex made: an inventory marked virtual), anything
--- else is baremetal. Nodes the operator registered in the undercloud's
--- ironic (site undercloud.registered_nodes, no inventory) are baremetal:
--- baremetal-environment.yaml, the baremetal worker counts, libvirt type kvm.
--- A plan with no nodes at all (not deployable as it is) assumes virtual.
---@param ctx apex.Ctx
---@return boolean
function M.virtual(ctx)
  if ctx.inventory then return ctx.inventory.virtual == true end
  return not ctx.infra.undercloud.registered_nodes
end

---@param ctx apex.Ctx
function M.plan(ctx)
  local s, o = ctx.settings, ctx.settings.deploy_options
  local ha = s.global_params.ha_enabled
  ctx.tht_release = tht.release(o.os_version)
  local virtual = M.virtual(ctx)
  ctx.libvirt_type = virtual and M.libvirt_type() or "kvm"
  if ctx.inventory then
    ctx.scales = inventory.scales(ctx.inventory, ha)
    plan.file(ctx, M.INSTACKENV, core.json.dump(inventory.instackenv(ctx.inventory), { pretty = true }) .. "\n",
      { mode = M.PRIVATE })
  else
    ctx.scales = inventory.virtual(ha, ctx.opts.virtual_computes)
    if not virtual then
      ctx.scales.source = "registered nodes"
      ctx.notes[#ctx.notes + 1] = string.format("nodes registered in the undercloud's ironic (site "
        .. "undercloud.registered_nodes): deployed as baremetal (baremetal-environment.yaml, libvirt type kvm); "
        .. "%d control (%s), %d compute (%s)", ctx.scales.control, ha and "HA" or "no HA", ctx.scales.compute,
        ctx.opts.virtual_computes and "--virtual-computes" or "Apex's default count")
    end
  end

  local net = network_env.build(ctx.network, {
    os_version = o.os_version, dataplane = o.dataplane, sdn_controller = o.sdn_controller,
    odl_vpp_routing_node = o.odl_vpp_routing_node, dvr = o.dvr, ha = ha, performance = o.performance,
    tht_dir = ctx.infra.undercloud.tht_dir,
  })
  for rel, content in pairs(net.files) do plan.file(ctx, rel, content) end
  ctx.networks_file = net.networks_file

  ctx.env = {
    virtual = virtual,
    ceph_image = ctx.site.local_registry .. "/ceph/" .. images.CEPH.name .. ":" .. images.CEPH.tag,
    scales = ctx.scales,
    libvirt_type = ctx.libvirt_type,
  }
  -- The plugins' hooks see the deploy's environment as it is settled now.
  local view = hook_ctx.new(ctx)
  local env = opnfv_env.build({
    settings = s, network = ctx.network, ssh_key = ssh_key(ctx), virtual = virtual,
    plugin_params = opnfv_env.plugin_params(ctx.plugins, view), ceph_image = ctx.env.ceph_image,
    libvirt_type = ctx.libvirt_type, scales = ctx.scales,
  })
  for rel, content in pairs(env.files) do
    plan.file(ctx, rel, content, opnfv_env.SECRET_FILES[rel] and { mode = M.PRIVATE } or nil)
  end

  local by_kind, custom = { sdn = {}, storage = {} }, {}
  for _, r in ipairs(plugins.call_all(ctx.plugins, "env_files", view)) do
    util.extend(by_kind[r.plugin.kind or "sdn"] or by_kind.sdn, r.result)
    if not tostring(r.plugin.origin):match("^shipped") then
      for _, e in ipairs(r.result) do custom[e.path] = r.plugin.name end
    end
  end
  ctx.env_files = tht.env_files({ ha = ha, options = o, neutron = tht.neutron_files(ctx.tht_release, ctx.driver),
    sdn = by_kind.sdn, storage = by_kind.storage, virtual = virtual })
  for name, text in pairs(tht.fixed_files(ctx.env_files, ctx.tht_release)) do plan.file(ctx, name, text) end
  util.extend(ctx.notes, tht.check_release(ctx.env_files, ctx.tht_release, o.os_version, ctx.files, custom))
  for _, e in ipairs(ctx.env_files) do
    if not e["local"] then e.path = tht.on_site(e.path, ctx.infra.undercloud.tht_dir) end
  end
  ctx.deploy_command, ctx.deploy_args = tht.deploy_command({
    env_files = ctx.env_files,
    ntp = ctx.network.ntp[1],
    scales = ctx.scales,
    libvirt_type = ctx.libvirt_type,
    networks_file = ctx.networks_file,
  })
  plan.file(ctx, "deploy_command", ctx.deploy_command .. "\n")
end

return M
