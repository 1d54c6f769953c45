--- Site settings (`apex deploy -s site.yaml`): where a deploy reaches its
--- infrastructure: the undercloud over SSH, the Docker engine that rebuilds
--- patched images, the source and local registries, the artifact server.
--- Every key is optional; unknown keys and wrong types are errors naming the
--- file and the key. Without a file every default applies.
local core = require("apex.core")
local settings = require("apex.settings")
local tht = require("apex.tht")
local util = require("apex.util")

local M = {}

M.DEFAULT_ARTIFACTS = "https://images.rdoproject.org/%s/rdo_trunk/current-tripleo/"
M.DEFAULT_CACHE = "/var/cache/apex"
M.DEFAULT_WORK_DIR = "/home/stack/apex"
M.DEFAULT_THT = tht.THT_DIR
M.DEFAULT_STACKRC = "/home/stack/stackrc"
M.DEFAULT_SOURCE = "docker.io"
M.LOCAL_REGISTRY_PORT = 8787
M.UNDERCLOUD_DOCKER_SOCKET = "/var/run/docker.sock"

---@class apex.SiteUndercloud: apex.SshHost
---@field work_dir string
---@field tht_dir string
---@field openstack string
---@field stackrc string   sourced before every openstack command (the undercloud's credentials)
---@field progress_every integer  seconds between looks at the overcloud stack while the deploy command runs
---@field stuck_after integer  seconds without a change before resources in progress are named possibly stuck
---@field registered_nodes boolean  the overcloud nodes are in the undercloud's ironic already (no -i, no --virtual)

---@class apex.SiteVm
---@field uri string  libvirt URI on the jump host (qemu:///system)
---@field image_dir string  where the undercloud overlay and node disks go
---@field domain_type "kvm"|"qemu"
---@field cpu_model? string
---@field network "libvirt"|"user"  libvirt: NICs on apex's admin/external networks (Apex); user: user-mode NIC, SSH on 127.0.0.1:ssh_port
---@field ssh_port integer
---@field name string  the undercloud domain
---@field cpus integer
---@field memory integer  MiB
---@field disk integer  GiB
---@field kernel? string  default <tmp>/images/overcloud-full.vmlinuz (Apex's direct boot)
---@field initrd? string
---@field cmdline string
---@field disk_bus string
---@field boot_timeout integer  seconds to SSH
---@field node_prefix string  virtual nodes are <prefix>0, <prefix>1, ...
---@field vbmc string  the VirtualBMC command
---@field vbmc_control_port integer
---@field bmc_address string  where the BMCs listen
---@field bmc_port integer  the first BMC's port
---@field bmc_user string
---@field bmc_password string

---@class apex.Site
---@field undercloud apex.SiteUndercloud
---@field vm apex.SiteVm
---@field overcloud {user: string, ssh_port: integer, parallel: integer}  the nodes after the deploy (heat-admin, 22, 4)
---@field engine string  "undercloud[:/socket]", "local", or a Docker endpoint URL
---@field registries {source: string, ["local"]: string, insecure: boolean, ceph_image?: string, require_all_images: boolean, mirror_all: boolean, rate_limit_wait?: integer}
---@field artifacts {url: string, cache_dir: string, max_size?: integer}
---@field ceph {loop_size?: string}  loop_size: the Ceph loop file's size (default: Apex's, 10G virtual, 50G baremetal)
---@field source string   the file, or "defaults"

local function is_string(v) return type(v) == "string" and v ~= "", "a non-empty string" end
local function is_bool(v) return type(v) == "boolean", "true or false" end
local function is_port(v) return math.type(v) == "integer" and v > 0 and v < 65536, "a port number (1-65535)" end
-- A value in an error: as written when it is short printable text, else
-- quoted, escaped and cut (util.show).
local function shown(v)
  if type(v) == "string" and (#v > util.SHOW_MAX or v:find("[%c\128-\255]")) then return util.show(v) end
  return tostring(v)
end

-- Nothing a site sets is unbounded: a wait at most a day, a count at most
-- 2^31-1 (what libvirt, ssh and the registries take without overflow).
M.MAX_SECONDS = 86400
M.MAX_COUNT = 2147483647
local function is_seconds(v)
  return math.type(v) == "integer" and v >= 0 and v <= M.MAX_SECONDS,
    "a whole number of seconds (0 to " .. M.MAX_SECONDS .. ")"
end
local function is_abs(v)
  return type(v) == "string" and v:sub(1, 1) == "/" and not v:find("%c"), "an absolute path (no control characters)"
end
-- Values that become command arguments (ssh, the registries, libvirt) are
-- checked here, before anything is written: a host or a registry is what a
-- host name or address can be, and nothing starts with '-' (ssh and most
-- commands would read it as an option).
local HOST_DOC = "a host name or IP address (letters, digits, '.', '-', '_', ':', or [IPv6]; not starting with '-')"

---@param v any
---@return boolean
local function host_ok(v)
  if type(v) ~= "string" or v == "" or #v > 253 then return false end
  if v:match("^%[[%x:.]+%]$") then return true end
  return v:match("^[%w_][%w.:_-]*$") ~= nil
end

---@param v any
---@return boolean
local function host_port_ok(v)
  if type(v) ~= "string" then return false end
  local h, p = v:match("^(%[[^%]]*%]):(%d+)$")
  if not h then h, p = v:match("^([^:]+):(%d+)$") end
  if not h then
    h = v
    if v:find(":", 1, true) and not v:match("^%[.*%]$") then return false end
  end
  local n = p and tonumber(p)
  return host_ok(h) and (p == nil or (n >= 1 and n <= 65535))
end

local function is_host(v) return host_ok(v), HOST_DOC end
local function is_registry(v)
  return host_port_ok(v), "a registry as host or host:port (" .. HOST_DOC .. ", port 1-65535)"
end
local function is_word(v)
  return type(v) == "string" and v:match("^[%w_][%w._@-]*$") ~= nil,
    "a name of letters, digits, '.', '_', '@', '-' (not starting with '-')"
end
local function is_arg(v)
  return type(v) == "string" and v ~= "" and v:sub(1, 1) ~= "-" and not v:find("%c"),
    "a non-empty string without control characters, not starting with '-'"
end
local function is_image(v)
  return type(v) == "string" and v:match("^[%w][%w./:_@-]*$") ~= nil and host_port_ok(v:match("^([^/]+)/") or "x"),
    "an image reference registry/name:tag (letters, digits, '.', '/', ':', '_', '@', '-')"
end

local function is_engine(v)
  local ok = type(v) == "string" and not v:find("%c") and (v == "undercloud" or v == "local"
    or v:match("^undercloud:/") ~= nil or v:match("^unix:///") ~= nil
    or host_port_ok(v:match("^tcp://([^/]+)/?$") or v:match("^https?://([^/]+)/?$") or "-"))
  return ok, '"undercloud" (its ' .. M.UNDERCLOUD_DOCKER_SOCKET .. ' through the SSH connection), "undercloud:/path/to.sock", '
    .. '"local" (DOCKER_HOST or the local socket), or unix:///path.sock, tcp://host:port, https://host:port'
end
local function is_url(v) return type(v) == "string" and v:match("^https?://") ~= nil, "an http:// or https:// URL" end
local function is_count(v)
  return math.type(v) == "integer" and v > 0 and v <= M.MAX_COUNT, "a whole number from 1 to " .. M.MAX_COUNT
end
-- A sparse file's size: digits and a unit, at most 16T.
local function is_size(v)
  local valid = "a size such as 50G (a whole number above 0 with K, M, G or T; at most 16T)"
  local n, unit = tostring(type(v) == "string" and v or ""):match("^([1-9]%d*)([KMGT])$")
  if not n or #n > 9 then return false, valid end
  local scale = { K = 1, M = 1024, G = 1024 ^ 2, T = 1024 ^ 3 }
  return tonumber(n) * scale[unit] <= 16 * 1024 ^ 3, valid
end
local function one_of(...)
  local choices = { ... }
  return function(v)
    return util.contains(choices, v), table.concat(choices, ", ")
  end
end

-- Each section: key -> check.
local SCHEMA = {
  undercloud = {
    address = is_host, port = is_port, user = is_word, key = is_abs, known_hosts = is_abs,
    accept_new = is_bool, persist = is_seconds, work_dir = is_abs, tht_dir = is_abs, openstack = is_arg,
    stackrc = is_abs, create = is_bool, registered_nodes = is_bool,
    progress_every = is_count, stuck_after = is_count,
  },
  -- The jump host's libvirt: the undercloud VM (undercloud.create) and the nodes of --virtual.
  vm = {
    uri = is_arg, image_dir = is_abs, domain_type = one_of("kvm", "qemu"), cpu_model = is_word,
    network = one_of("libvirt", "user"), ssh_port = is_port, name = is_word, cpus = is_count, memory = is_count,
    disk = is_count, kernel = is_abs, initrd = is_abs, cmdline = is_string, disk_bus = one_of("sata", "virtio", "scsi"),
    boot_timeout = is_count, node_prefix = is_word, vbmc = is_arg, vbmc_control_port = is_port,
    bmc_address = is_host, bmc_port = is_port, bmc_user = is_word, bmc_password = is_string,
  },
  -- The overcloud nodes after the deploy (post-deploy): their login, SSH port, how many at once.
  overcloud = { user = is_word, ssh_port = is_port, parallel = is_count },
  engine = is_engine,
  registries = { source = is_registry, ["local"] = is_registry, insecure = is_bool, ceph_image = is_image,
    require_all_images = is_bool, mirror_all = is_bool, rate_limit_wait = is_seconds },
  artifacts = { url = is_url, cache_dir = is_abs, max_size = is_count },
  ceph = { loop_size = is_size },
}

local function check(src, raw)
  if type(raw) ~= "table" or (next(raw) ~= nil and util.is_list(raw)) then
    util.fail("%s: expected a mapping of site settings (undercloud, vm, overcloud, engine, registries, artifacts, ceph)", src)
  end
  for k, v in pairs(raw) do
    local spec = SCHEMA[k]
    if spec == nil then
      util.fail("%s: unknown key %s (valid: %s)", src, tostring(k), table.concat(util.sorted_keys(SCHEMA), ", "))
    end
    if type(spec) == "function" then
      local ok, valid = spec(v)
      if not ok then util.fail("%s: %s: got %s (valid: %s)", src, k, shown(v), valid) end
    else
      if type(v) ~= "table" or (next(v) ~= nil and util.is_list(v)) then
        util.fail("%s: %s: expected a mapping (keys: %s)", src, k, table.concat(util.sorted_keys(spec), ", "))
      end
      for kk, vv in pairs(v) do
        local f = spec[kk]
        if f == nil then
          util.fail("%s: unknown key %s.%s (valid: %s)", src, k, tostring(kk), table.concat(util.sorted_keys(spec), ", "))
        end
        local ok, valid = f(vv)
        if not ok then util.fail("%s: %s.%s: got %s (valid: %s)", src, k, kk, shown(vv), valid) end
      end
    end
  end
end

--- Validates site settings and applies the defaults; `uc_ip` (the network
--- settings' installer_vm.ip) and `os_version` feed the defaults.
---@param raw table
---@param source string
---@param uc_ip string
---@param os_version string
---@return apex.Site
function M.validate(raw, source, uc_ip, os_version)
  check(source, raw)
  local uc, reg, art, vm = raw.undercloud or {}, raw.registries or {}, raw.artifacts or {}, raw.vm or {}
  local ov = raw.overcloud or {}
  local local_reg = reg["local"] or (uc_ip .. ":" .. M.LOCAL_REGISTRY_PORT)
  local url = art.url or string.format(M.DEFAULT_ARTIFACTS, os_version)
  if url:sub(-1) ~= "/" then url = url .. "/" end
  return {
    undercloud = {
      address = uc.address or uc_ip,
      port = uc.port or 22,
      user = uc.user or "stack",
      key = uc.key,
      known_hosts = uc.known_hosts,
      accept_new = uc.accept_new or false,
      persist = uc.persist,
      work_dir = uc.work_dir or M.DEFAULT_WORK_DIR,
      tht_dir = uc.tht_dir or M.DEFAULT_THT,
      openstack = uc.openstack or "openstack",
      stackrc = uc.stackrc or M.DEFAULT_STACKRC,
      create = uc.create or false,
      registered_nodes = uc.registered_nodes or false,
      progress_every = uc.progress_every or 30,
      stuck_after = uc.stuck_after or 1200,
      given = { address = uc.address ~= nil, port = uc.port ~= nil, key = uc.key ~= nil, known_hosts = uc.known_hosts ~= nil },
    },
    -- Apex's facts: undercloud.py (10 GB, 4 vCPUs, root on sda, overcloud-full's kernel), the
    -- nodes' BMCs (virtual/utils.py: admin/password from port 6230, the libvirt network's host IP).
    vm = {
      uri = vm.uri or "qemu:///system",
      image_dir = vm.image_dir or "/var/lib/libvirt/images",
      domain_type = vm.domain_type or "kvm",
      cpu_model = vm.cpu_model,
      network = vm.network or "libvirt",
      ssh_port = vm.ssh_port or 2222,
      name = vm.name or "undercloud",
      cpus = vm.cpus or 4,
      memory = vm.memory or 10240,
      disk = vm.disk or 40,
      kernel = vm.kernel,
      initrd = vm.initrd,
      cmdline = vm.cmdline or "console=ttyS0 root=/dev/sda",
      disk_bus = vm.disk_bus or "sata",
      boot_timeout = vm.boot_timeout or 600,
      node_prefix = vm.node_prefix or "baremetal",
      vbmc = vm.vbmc or "vbmc",
      vbmc_control_port = vm.vbmc_control_port or 50891,
      bmc_address = vm.bmc_address or "192.168.122.1",
      bmc_port = vm.bmc_port or 6230,
      bmc_user = vm.bmc_user or "admin",
      bmc_password = vm.bmc_password or "password",
    },
    overcloud = { user = ov.user or "heat-admin", ssh_port = ov.ssh_port or 22, parallel = ov.parallel or 4 },
    engine = raw.engine or "undercloud",
    registries = {
      source = reg.source or M.DEFAULT_SOURCE,
      ["local"] = local_reg,
      insecure = reg.insecure ~= false,
      ceph_image = reg.ceph_image,
      given_source = reg.source ~= nil,
      require_all_images = reg.require_all_images or false,
      -- Every image of the release's list, not only those of the deploy's services (Apex's behaviour).
      mirror_all = reg.mirror_all or false,
      rate_limit_wait = reg.rate_limit_wait,
    },
    artifacts = { url = url, cache_dir = art.cache_dir or M.DEFAULT_CACHE, max_size = art.max_size },
    ceph = { loop_size = (raw.ceph or {}).loop_size },
    source = source,
  }
end

--- Loads a site file (nil path: every default).
---@param path string?
---@param uc_ip string
---@param os_version string
---@return apex.Site
function M.load(path, uc_ip, os_version)
  if not path then
    return M.validate({}, "defaults", uc_ip, os_version)
  end
  local raw = settings.load_yaml(path)
  if raw == nil then raw = {} end
  return M.validate(raw, path, uc_ip, os_version)
end

--- The SSH host table of core.ssh.run/upload for the undercloud.
---@param site apex.Site
---@return apex.SshHost
function M.ssh_host(site)
  local u = site.undercloud
  return {
    address = u.address, port = u.port, user = u.user, key = u.key,
    known_hosts = u.known_hosts, accept_new = u.accept_new, persist = u.persist,
  }
end

--- The lock a deploy holds on its undercloud: in the SSH user's login
--- directory (a path relative to it), one place per undercloud and user
--- whatever work dir a site file gives, so deploys with different work dirs
--- still exclude each other.
M.UNDERCLOUD_LOCK = ".apex-undercloud.lock"

--- Holds the undercloud for this run, from its first upload to the end of
--- the process (the deploy and any post-deploy step included): another
--- deploy against the same undercloud, from another tmp dir, stops at its
--- own first upload with an error naming the holder. Cheap when held.
---@async
---@param site apex.Site
---@param tmp_dir string
function M.hold_undercloud(site, tmp_dir)
  local path = M.UNDERCLOUD_LOCK
  local r = core.ssh.lock({ host = M.ssh_host(site), path = path, holder = "tmp dir " .. tmp_dir })
  if not r.held then
    util.fail("the undercloud %s is in use by another deploy (%s; lock ~%s/%s): wait for it to end, then run again",
      site.undercloud.address, r.holder or "?", site.undercloud.user, path)
  end
end

--- Registry settings for the registry primitives.
---@param site apex.Site
---@return apex.RegistrySettings
function M.registry_settings(site)
  local insecure = {}
  if site.registries.insecure then insecure[#insecure + 1] = site.registries["local"] end
  return { insecure = insecure, rate_limit_wait = site.registries.rate_limit_wait }
end

--- The undercloud socket path of an `undercloud[:/path]` engine, else nil.
---@param site apex.Site
---@return string?
local function undercloud_socket(site)
  if site.engine == "undercloud" then return M.UNDERCLOUD_DOCKER_SOCKET end
  return site.engine:match("^undercloud:(/.*)$")
end

--- Where patched images are rebuilt, in words (for the plan).
---@param site apex.Site
---@return string
function M.engine_label(site)
  local sock = undercloud_socket(site)
  if sock then return "the undercloud's Docker engine (" .. sock .. " through SSH)" end
  if site.engine == "local" then return "the local Docker engine" end
  return "the Docker engine at " .. site.engine
end

--- Engine settings for the engine primitives. The undercloud's engine is
--- reached by forwarding its socket over the SSH connection (done here, on
--- first need, so a rerun that builds nothing opens no forward).
---@param site apex.Site
---@return apex.EngineSettings
function M.engine(site)
  local sock = undercloud_socket(site)
  if sock then
    return { endpoint = "unix://" .. core.ssh.forward_socket({ host = M.ssh_host(site), remote = sock }).path }
  end
  if site.engine == "local" then return {} end
  return { endpoint = site.engine }
end

return M
