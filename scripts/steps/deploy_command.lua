--- Step 7: the env files, in the contract's order, with the settings'
--- content (network, operator, storage, virtual/baremetal, ...), the scales
--- and NTP: the deploy command. Everything here is a file of the plan; the
--- run uploads exactly these files.
local core = require("apex.core")
local util = require("apex.util")
local plugins = require("apex.plugins")
local tht = require("apex.tht")
local plan = require("apex.plan")

---@type apex.Step
local M = { number = 7, name = "deploy_command", summary = "env files, scales, NTP: the deploy command" }

--- Whether nested virtualization is on (kvm), else qemu, for a virtual deploy.
---@return "kvm"|"qemu"
function M.libvirt_type()
  for _, m in ipairs({ "kvm_intel", "kvm_amd" }) do
    local p = "/sys/module/" .. m .. "/parameters/nested"
    if core.exists({ path = p }).exists then
      local v = core.read_file({ path = p }).content
      return (v:match("^[Y1]") and "kvm" or "qemu")
    end
  end
  return "qemu"
end

--- The env files apex writes beside the command: the network env from the
--- network settings, the operator's env, the virtual/baremetal env. The
--- image env file is written in step 8.
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
        params = { NovaComputeLibvirtType = ctx.libvirt_type }
      end
      out[e.path] = "# " .. e.reason .. " (written by apex)\n" .. core.yaml_dump({ parameter_defaults = params })
    end
  end
  return out
end

---@param ctx apex.Ctx
function M.plan(ctx)
  local by_kind = { sdn = {}, storage = {} }
  for _, r in ipairs(plugins.call_all(ctx.plugins, "env_files", ctx)) do
    util.extend(by_kind[r.plugin.kind or "sdn"] or by_kind.sdn, r.result)
  end
  local virtual = ctx.scenario.inventory == nil
  ctx.libvirt_type = virtual and M.libvirt_type() or "kvm"
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
  for rel, content in pairs(M.local_env_files(ctx)) do plan.file(ctx, rel, content) end
  ctx.scales = tht.scales(ctx.settings.global_params.ha_enabled, ctx.scenario.inventory)
  ctx.deploy_command, ctx.deploy_args = tht.deploy_command({
    env_files = ctx.env_files,
    ntp = ctx.network.ntp[1],
    scales = ctx.scales,
    libvirt_type = ctx.libvirt_type,
  })
  plan.file(ctx, "deploy_command", ctx.deploy_command .. "\n")
end

return M
