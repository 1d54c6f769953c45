--- ONOS: its neutron env file, plus SFC.
local util = require("apex.util")

local M = { description = "ONOS SDN controller (sfc)", kind = "sdn" }

---@param s apex.DeploySettings
function M.validate(s)
  for _, f in ipairs({ "vpn", "l2gw", "gluon" }) do
    if s.deploy_options[f] then
      util.fail("%s: deploy_options.%s: not available with sdn_controller onos (valid: false)", s.source, f)
    end
  end
end

---@param ctx apex.HookCtx
---@return apex.EnvFile[]
function M.env_files(ctx)
  local out = { { path = "neutron-onos.yaml", reason = "sdn_controller: onos" } }
  if ctx.settings.deploy_options.sfc then
    out[#out + 1] = { path = "neutron-onos-sfc.yaml", reason = "sfc" }
  end
  return out
end

--- Nothing: ONOS's parameters are all in THT's neutron-onos*.yaml, and Apex's
--- prep_env has no ONOS case. Present so `apex plugins` authors see the hook.
---@param ctx apex.HookCtx
---@return apex.EnvParams
function M.env_params(ctx)
  return {}
end

--- An SDN controller replaces the OVS agent: its units leave the overcloud image.
---@param ctx apex.HookCtx
---@return apex.Customization[]
function M.overcloud_customize(ctx)
  return require("apex.overcloud_base").ovs_agent_removal("onos")
end

return M
