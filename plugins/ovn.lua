--- OVN: neutron driver `ovn` (the ovn-* images and neutron-server-ovn) and
--- its HA env file.
local util = require("apex.util")

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

---@param ctx apex.Ctx
---@return apex.ImagesResult
function M.images(ctx)
  return { driver = "ovn" }
end

---@param ctx apex.Ctx
---@return apex.EnvFile[]
function M.env_files(ctx)
  return { { path = "services/neutron-ovn-ha.yaml", reason = "sdn_controller: ovn" } }
end

return M
