--- The dataplane's overcloud image customizations, as Apex's prep_image
--- applies them by `deploy_options.dataplane` whatever the SDN: ovs_dpdk and
--- fdio load vfio_pci and uio_pci_generic at boot (a loader each in
--- /etc/sysconfig/modules/, mode 0755); fdio patches neutron with the
--- generic namespace interface driver (Apex's neutron-patch-NSDriver.patch,
--- -p1 in python2.7's site-packages). What fdio needs without an SDN
--- controller (the VPP packages) belongs to the nosdn plugin.
---
--- Apex builds the NSDriver patch into its own overcloud image; apex starts
--- from the upstream image, so the patch is an artifact fetched in step 1
--- beside overcloud-full.tar, required when the dataplane is fdio. Copy this
--- file to DIR/apex/dataplane.lua to change it for every deploy, or replace
--- or drop a group by its id from a plugin (docs/plugin-guide.md).
local M = { description = "the dataplane's kernel modules and patches (ovs_dpdk, fdio)" }

M.MODULES_DIR = "/etc/sysconfig/modules"
M.DPDK_MODULES = { "vfio_pci", "uio_pci_generic" }
M.NSDRIVER_PATCH = "neutron-patch-NSDriver.patch"
M.SITE_PACKAGES = "/usr/lib/python2.7/site-packages"

--- The boot-time loader of a kernel module (/etc/sysconfig/modules/<mod>.modules).
---@param module string
---@return string
function M.module_loader(module)
  return "#!/bin/bash\nexec /sbin/modprobe " .. module .. "\n"
end

---@param ctx apex.HookCtx
---@return apex.Customization[]
function M.overcloud_customize(ctx)
  local dp = ctx.settings.deploy_options.dataplane
  local out = {}
  if dp == "ovs_dpdk" or dp == "fdio" then
    for _, mod in ipairs(M.DPDK_MODULES) do
      out[#out + 1] = {
        id = "dpdk-modules", op = "write", arg = M.MODULES_DIR .. "/" .. mod .. ".modules",
        content = M.module_loader(mod), mode = "0755", reason = "dataplane " .. dp .. ": DPDK needs " .. mod .. " at boot",
      }
    end
  end
  if dp == "fdio" then
    out[#out + 1] = { id = "fdio-nsdriver", op = "patch", arg = M.NSDRIVER_PATCH .. ":" .. M.SITE_PACKAGES,
      reason = "dataplane fdio: neutron's namespace interface driver (NSDriver)" }
  end
  return out
end

---@param ctx apex.HookCtx
---@return apex.ExtraArtifact[]
function M.artifacts(ctx)
  if ctx.settings.deploy_options.dataplane == "fdio" then
    return { { name = M.NSDRIVER_PATCH, required = true, reason = "dataplane fdio: neutron's namespace interface driver (NSDriver)" } }
  end
  return {}
end

return M
