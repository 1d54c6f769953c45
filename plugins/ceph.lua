--- Ceph: the storage env file, and when no real device is given (ceph_device
--- is a loop device path, /dev/loop3 by default) a persistent loop device
--- backing the OSDs: a sparse file, the device attached, a unit that
--- re-attaches it at boot.
local M = { description = "Ceph storage (storage env; a persistent loop device when no disk is given)", kind = "storage" }

M.BACKING_FILE = "/srv/data.img"
M.SIZE = "10G"

--- The systemd unit that attaches the loop device at boot.
---@param device string
---@param backing string
---@return string
function M.unit(device, backing)
  return table.concat({
    "[Unit]",
    "Description=Setup loop devices",
    "Before=network.target",
    "",
    "[Service]",
    "Type=oneshot",
    "ExecStart=/sbin/losetup " .. device .. " " .. backing,
    "ExecStop=/sbin/losetup -d " .. device,
    "TimeoutSec=60",
    "RemainAfterExit=yes",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  }, "\n")
end

---@param ctx apex.Ctx
---@return apex.EnvFile[]
function M.env_files(ctx)
  return { { path = "storage-environment.yaml", reason = "ceph: true (device " .. ctx.settings.deploy_options.ceph_device .. ")" } }
end

---@param ctx apex.Ctx
---@return apex.LoopDevice[]
function M.loop_devices(ctx)
  local device = ctx.settings.deploy_options.ceph_device
  if not device:match("^/dev/loop%d+$") then
    return {}
  end
  return { {
    device = device,
    backing_file = M.BACKING_FILE,
    size = M.SIZE,
    unit = M.unit(device, M.BACKING_FILE),
    reason = "ceph_device " .. device .. " is a loop device: no disk given for the OSDs",
  } }
end

return M
