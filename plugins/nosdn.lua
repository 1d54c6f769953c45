--- No SDN controller (sdn_controller: false): ML2 with Open vSwitch, or
--- OVS-DPDK (dataplane ovs_dpdk), or ML2 VPP (vpp). With dataplane fdio the
--- overcloud image trades its vpp-lib for the VPP packages Apex ships for
--- this case (Apex's prep_image: `yum remove -y vpp-lib`, then
--- /root/nosdn_vpp_rpms/*.rpm installed). Apex builds those packages into its
--- own image; apex starts from the upstream one, so they come as
--- nosdn_vpp_rpms.tar (holding nosdn_vpp_rpms/*.rpm) from the artifact
--- server, unpacked in /root/ first.
local util = require("apex.util")
local opnfv_env = require("apex.opnfv_env")

local M = { description = "No SDN controller: ML2/OVS (dataplane ovs), OVS-DPDK (ovs_dpdk) or ML2 VPP (vpp)", kind = "sdn" }

local NEEDS_SDN = { "sfc", "vpn", "l2gw", "gluon" }

---@param s apex.DeploySettings
function M.validate(s)
  for _, f in ipairs(NEEDS_SDN) do
    if s.deploy_options[f] then
      util.fail("%s: deploy_options.%s: needs an SDN controller (set deploy_options.sdn_controller: opendaylight)",
        s.source, f)
    end
  end
end

---@param ctx apex.HookCtx
---@return apex.EnvFile[]
function M.env_files(ctx)
  local o = ctx.settings.deploy_options
  local out = {}
  if o.vpp then
    out[#out + 1] = { path = "neutron-ml2-vpp.yaml", reason = "vpp without SDN controller" }
  end
  if o.dataplane == "ovs_dpdk" then
    out[#out + 1] = { path = "neutron-ovs-dpdk.yaml", reason = "dataplane: ovs_dpdk" }
  end
  return out
end

--- ML2 VPP (dataplane fdio): datacentre on the controller's tenant NIC and the
--- external network on tap0 (Apex's prep_env, NeutronVPPAgentPhysnets).
---@param ctx apex.HookCtx
---@return apex.EnvParams
function M.env_params(ctx)
  if ctx.settings.deploy_options.dataplane ~= "fdio" then
    return {}
  end
  local nic = opnfv_env.tenant(ctx.network).nics.Controller
  return { parameter_defaults = { NeutronVPPAgentPhysnets = "datacentre:" .. nic .. ",external:tap0" } }
end

M.VPP_RPMS = "nosdn_vpp_rpms.tar"
local VPP_REASON = "dataplane fdio without an SDN controller: Apex's VPP packages"

---@param ctx apex.HookCtx
---@return apex.Customization[]
function M.overcloud_customize(ctx)
  if ctx.settings.deploy_options.dataplane ~= "fdio" then
    return {}
  end
  return {
    { id = "nosdn-vpp", op = "uninstall", arg = "vpp-lib", reason = VPP_REASON },
    { id = "nosdn-vpp", op = "unpack", file = M.VPP_RPMS, dest = "/root/", reason = VPP_REASON },
    { id = "nosdn-vpp", op = "install", arg = "/root/nosdn_vpp_rpms/*.rpm", reason = VPP_REASON },
  }
end

---@param ctx apex.HookCtx
---@return apex.ExtraArtifact[]
function M.artifacts(ctx)
  if ctx.settings.deploy_options.dataplane ~= "fdio" then
    return {}
  end
  return { { name = M.VPP_RPMS, required = true, reason = VPP_REASON } }
end

return M
