--- The overcloud image customizations every deploy gets, as Apex's
--- prep_image (apex/overcloud/deploy.py) applies them whatever the SDN:
--- the proxies of the network settings in /etc/environment, the
--- dhcp-interface@.service workaround (its ConditionPathExists dropped, so
--- the unit runs for every NIC whatever that condition names) and
--- the NFS exports (/glance, /cinder, /nova) Apex's deploys rely on.
--- Also the one customization every SDN controller shares (the OVS agent
--- units removed), as a helper the SDN plugins call: the reason is theirs.
---
--- Each customization carries an `id`: a plugin returning items with the same
--- id replaces the group, and `{op = "drop", arg = ID, reason = ...}` drops it
--- (see docs/plugin-guide.md). Copy this file to DIR/apex/overcloud_base.lua
--- to change it for every deploy.
---
--- Where apex differs from Apex on purpose: `systemctl enable nfs-server` is
--- the wants/ link Apex makes by hand (no systemd runs in an image), and
--- the NFS directories are made with their mode by apex itself; only what
--- needs the image's own users or tools (chown to nfsnobody, crudini,
--- exportfs) runs inside it, and fails naming the tool when the image lacks it.
local util = require("apex.util")

local M = { description = "what every deploy's overcloud image gets (proxies, DHCP unit workaround, NFS exports)" }

M.DHCP_UNIT = "/usr/lib/systemd/system/dhcp-interface@.service"
M.NFS_DIRS = { "/glance", "/cinder", "/nova" }
M.NFS_OWNER = "nfsnobody"
M.NFS_EXPORT_OPTIONS = "rw,sync,no_root_squash,no_acl"
M.NFS_SERVICE = "nfs-server.service"
M.OVS_AGENT = "neutron-openvswitch-agent.service"

--- The proxies of the network settings, one line each in /etc/environment
--- (the network settings refuse values with control characters).
---@param ctx apex.HookCtx
---@return apex.Customization[]
function M.proxies(ctx)
  local out = {}
  for _, k in ipairs({ "http_proxy", "https_proxy" }) do
    local v = ctx.network and ctx.network[k]
    if v then
      out[#out + 1] = {
        id = "proxy", op = "run-command", arg = "echo " .. util.shell_quote(k .. "=" .. v) .. " >> /etc/environment",
        reason = k .. " from the network settings",
      }
    end
  end
  return out
end

--- dhcp-interface@.service without its ConditionPathExists (crudini --del, as Apex).
---@return apex.Customization[]
function M.dhcp_unit()
  return { {
    id = "dhcp-interface-unit", op = "run-command", needs = { "crudini" },
    arg = "crudini --del " .. M.DHCP_UNIT .. " Unit ConditionPathExists",
    reason = "Apex's dhcp-interface@ workaround: the unit runs for every NIC",
  } }
end

--- The /etc/exports lines of the NFS directories.
---@return string
function M.exports()
  local lines = {}
  for _, d in ipairs(M.NFS_DIRS) do
    lines[#lines + 1] = string.format("%s *(%s)\n", d, M.NFS_EXPORT_OPTIONS)
  end
  return table.concat(lines)
end

--- NFS prep: nfs-utils, nfs-server enabled, the exported directories (mode
--- 777, owned by nfsnobody), /etc/exports, `exportfs -avr`.
---@return apex.Customization[]
function M.nfs()
  local reason = "NFS exports for Glance, Cinder and Nova"
  local out = {
    { id = "nfs", op = "install", arg = "nfs-utils", reason = reason },
    { id = "nfs", op = "enable", arg = M.NFS_SERVICE, reason = reason },
  }
  for _, d in ipairs(M.NFS_DIRS) do
    out[#out + 1] = { id = "nfs", op = "mkdir", arg = d, mode = "0777", reason = reason }
  end
  out[#out + 1] = { id = "nfs", op = "run-command", needs = { "chown" }, reason = reason,
    arg = string.format("chown %s:%s %s", M.NFS_OWNER, M.NFS_OWNER, table.concat(M.NFS_DIRS, " ")) }
  out[#out + 1] = { id = "nfs", op = "write", arg = "/etc/exports", content = M.exports(), mode = "0644", reason = reason }
  out[#out + 1] = { id = "nfs", op = "run-command", needs = { "exportfs" }, arg = "exportfs -avr", reason = reason }
  return out
end

--- Every deploy's customizations, in Apex's order.
---@param ctx apex.HookCtx
---@return apex.Customization[]
function M.overcloud_customize(ctx)
  local out = M.proxies(ctx)
  util.extend(out, M.dhcp_unit())
  util.extend(out, M.nfs())
  return out
end

--- For SDN plugins: an SDN controller replaces the OVS agent, so its unit is
--- removed (enabled link and unit file; Apex's rhbz 1436021 workaround).
---@param sdn string  the controller, for the reason
---@return apex.Customization[]
function M.ovs_agent_removal(sdn)
  local reason = "sdn_controller " .. sdn .. " replaces the OVS agent"
  return {
    { id = "ovs-agent", op = "remove", arg = "/etc/systemd/system/multi-user.target.wants/" .. M.OVS_AGENT, reason = reason },
    { id = "ovs-agent", op = "remove", arg = "/usr/lib/systemd/system/" .. M.OVS_AGENT, reason = reason },
  }
end

return M
