--- Ceph: the storage env file, and when no real device is given (ceph_device
--- is a loop device path, /dev/loop3 by default) a persistent loop device
--- backing the OSDs: a sparse file, the device attached, a unit that
--- re-attaches it at boot.
local M = { description = "Ceph storage (storage env; a persistent loop device when no disk is given)", kind = "storage" }

M.BACKING_FILE = "/srv/data.img"
-- Apex's LOOP_DEVICE_SIZE: 10G, raised to 50G by apex/deploy.py when the deploy is not virtual.
M.SIZE = "10G"
M.SIZE_BAREMETAL = "50G"

--- The loop file's size: the site's `ceph.loop_size` when given (validated
--- there), else Apex's: 10G on a virtual deploy, 50G on baremetal (an inventory given).
---@param ctx apex.HookCtx
---@return string size, string why
function M.loop_size(ctx)
  local given = ctx.infra and ctx.infra.ceph and ctx.infra.ceph.loop_size
  if given then
    return given, "site " .. tostring(ctx.infra.source) .. ": ceph.loop_size"
  end
  if require("apex.opnfv_env").env_context(ctx).virtual then
    return M.SIZE, "virtual deploy"
  end
  return M.SIZE_BAREMETAL, "baremetal deploy"
end

---@param ctx apex.HookCtx
---@return apex.EnvFile[]
function M.env_files(ctx)
  return { { path = "storage-environment.yaml", reason = "ceph: true (device " .. ctx.settings.deploy_options.ceph_device .. ")" } }
end

---@param ctx apex.HookCtx
---@return apex.LoopDeviceRequest[]
function M.loop_devices(ctx)
  local device = ctx.settings.deploy_options.ceph_device
  if not device:match("^/dev/loop%d+$") then
    return {}
  end
  local size, why = M.loop_size(ctx)
  return { {
    device = device,
    backing_file = M.BACKING_FILE,
    size = size,
    before = { "ceph-osd.target" },
    purpose = "Ceph OSD backing store",
    reason = string.format("ceph_device %s is a loop device: no disk given for the OSDs (%s, %s)", device, size, why),
  } }
end

M.STORAGE_ENV = "storage-environment.yaml"
M.POOL_SIZE = 2      -- deploy.py prep_storage_env: pgs * pools * osds stay under mons * 200
M.POOL_PG_NUM = 32
M.JOURNAL_SIZE = 512

--- storage-environment.yaml as Apex's prep_storage_env leaves THT's: the
--- ceph-ansible services, Ceph as the Cinder, Glance, Nova and Gnocchi
--- backend, small pools, the OSDs on ceph_device (collocated journals), the
--- daemon image from the local registry, memory limits on a virtual deploy.
--- The cluster FSID and the mon/admin/client keys are left to TripleO, which
--- generates them once per plan with the other passwords and keeps them
--- across updates (Apex wrote fresh random ones at every run).
--- Its resource_registry is the undercloud's own, as Apex keeps it (Apex
--- copies THT's file and edits only the parameters): the release's, from
--- apex.tht_releases, relative to environments/ as THT writes it (Queens and
--- Rocky map the Ceph services to docker/services/ceph-ansible/, Stein and
--- master to deployment/ceph-ansible/). Shipped whole, over THT's file.
---@param ctx apex.HookCtx
---@return apex.EnvParams
function M.env_params(ctx)
  local core = require("apex.core")
  local tht = require("apex.tht")
  local env = require("apex.opnfv_env").env_context(ctx)
  local pd = {
    CephAnsiblePlaybook = "/usr/share/ceph-ansible/site-docker.yml.sample",
    CinderEnableIscsiBackend = false,
    CinderEnableRbdBackend = true,
    CinderBackupBackend = "ceph",
    NovaEnableRbdBackend = true,
    GlanceBackend = "rbd",
    GnocchiBackend = "rbd",
    CephPoolDefaultSize = M.POOL_SIZE,
    CephPoolDefaultPgNum = M.POOL_PG_NUM,
    CephAnsibleDisksConfig = {
      devices = { ctx.settings.deploy_options.ceph_device },
      journal_size = M.JOURNAL_SIZE,
      osd_scenario = "collocated",
    },
  }
  if env.virtual then
    pd.CephAnsibleExtraConfig = {
      centos_package_dependencies = core.data.array(),
      ceph_osd_docker_memory_limit = "1g",
      ceph_mds_docker_memory_limit = "1g",
    }
  end
  if env.ceph_image then
    -- the parameter's name before and since Stein
    pd.DockerCephDaemonImage = env.ceph_image
    pd.ContainerCephDaemonImage = env.ceph_image
  end
  local doc = {
    resource_registry = tht.release(ctx.settings.deploy_options.os_version).storage_registry,
    parameter_defaults = pd,
  }
  return { files = { [M.STORAGE_ENV] = core.yaml.dump(doc) } }
end

return M
