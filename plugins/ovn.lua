--- OVN: neutron driver `ovn` (the ovn-* images and neutron-server-ovn) and
--- its HA env file.
local util = require("apex.util")
local opnfv_env = require("apex.opnfv_env")

local M = { description = "OVN (neutron driver ovn; HA OVN databases)", kind = "sdn" }

local UNSUPPORTED = { "sfc", "vpn", "l2gw", "gluon", "vpp" }

---@param s apex.DeploySettings
function M.validate(s)
  for _, f in ipairs(UNSUPPORTED) do
    if s.deploy_options[f] then
      util.fail("%s: deploy_options.%s: not available with sdn_controller ovn (valid: false; %s needs opendaylight)",
        s.source, f, f)
    end
  end
end

---@param ctx apex.HookCtx
---@return apex.ImagesResult
function M.images(ctx)
  return { driver = "ovn" }
end

---@param ctx apex.HookCtx
---@return apex.EnvFile[]
function M.env_files(ctx)
  return { { path = "services/neutron-ovn-ha.yaml", reason = "sdn_controller: ovn" } }
end

--- OVN's tenant networks are Geneve tunnels (as THT's OVN env file says), so
--- opnfv-environment.yaml does not claim vxlan; with tenant VLANs the VLAN
--- settings apex writes stand. Apex's prep_env sets nothing else for OVN.
---@param ctx apex.HookCtx
---@return apex.EnvParams
function M.env_params(ctx)
  if opnfv_env.tenant(ctx.network).vlan then
    return {}
  end
  return { parameter_defaults = { NeutronNetworkType = "geneve", NeutronTunnelTypes = "geneve" } }
end

--- An SDN controller replaces the OVS agent: its units leave the overcloud image.
---@param ctx apex.HookCtx
---@return apex.Customization[]
function M.overcloud_customize(ctx)
  return require("apex.overcloud_base").ovs_agent_removal("ovn")
end

return M
