--- The undercloud VM and the virtual overcloud nodes apex creates on the
--- jump host (step 2 with site `undercloud.create: true`, and `--virtual`):
--- what Apex's undercloud.py, virtual/configure_vm.py and
--- configure_undercloud.yml do, as data the plan shows (domain XML,
--- undercloud.conf, ifcfg files, instackenv.json) and the step's actions run.
---
--- Everything apex creates for a deploy is recorded in `<tmp>/vms.json` as it
--- is made (before it is started), so `apex destroy` removes exactly that.
local core = require("apex.core")
local util = require("apex.util")

local M = {}

M.RECORD = "vms.json"
M.SSH_DIR = "undercloud_ssh"
M.STACK_HOME = "/home/stack"
--- Apex's VM facts: the undercloud (undercloud.py: 10 GB, 4 vCPUs, direct
--- boot from overcloud-full's kernel, root on sda), the nodes (utils.py:
--- 8 GB, 4 vCPUs, 41 GB disks, IPMI on 6230 and up, admin/password).
M.NODE_DISK_GB = 41
M.CONTROLLER_MIN_RAM = { opendaylight = 12, default = 10 }

--- Where `apex destroy` reads what to remove.
---@param tmp_dir string
---@return table
function M.load_record(tmp_dir)
  local p = util.path(tmp_dir, M.RECORD)
  if core.fs.exists({ path = p }).kind ~= "file" then
    return { domains = {}, networks = {}, disks = {} }
  end
  local r = core.json.load({ path = p })
  r.domains, r.networks, r.disks = r.domains or {}, r.networks or {}, r.disks or {}
  return r
end

--- Adds what was just created to the record (written at once).
---@param tmp_dir string
---@param change fun(rec: table)
function M.record(tmp_dir, change)
  local r = M.load_record(tmp_dir)
  change(r)
  core.fs.write({ path = util.path(tmp_dir, M.RECORD), content = core.json.dump(r, { pretty = true }) .. "\n" })
end

local function add_unique(list, v)
  if not util.contains(list, v) then list[#list + 1] = v end
end
M.add_unique = add_unique

--- undercloud.conf as Apex's generate_config makes it (DEFAULT and
--- ctlplane-subnet), with the admin interface and the container registry.
---@param network apex.NetworkSettings
---@param opts {ipxe: boolean, local_interface: string, registry: string, containers_file: string}
---@return string
function M.undercloud_conf(network, opts)
  local admin = network.networks.admin
  local lines = { "# undercloud.conf written by apex (as Apex's configure_undercloud)", "[DEFAULT]" }
  local function kv(k, v) lines[#lines + 1] = k .. " = " .. tostring(v) end
  kv("enable_ui", "false")
  kv("undercloud_update_packages", "false")
  kv("undercloud_debug", "false")
  kv("inspection_extras", "false")
  kv("ipxe_enabled", opts.ipxe and "true" or "false")
  kv("undercloud_hostname", "undercloud." .. network.domain)
  kv("local_ip", admin.installer_vm.ip .. "/" .. admin.prefix)
  kv("local_interface", opts.local_interface)
  kv("generate_service_certificate", "false")
  kv("undercloud_ntp_servers", network.ntp[1])
  kv("container_images_file", opts.containers_file)
  kv("docker_insecure_registries", opts.registry)
  kv("undercloud_enable_selinux", "false")
  lines[#lines + 1] = ""
  lines[#lines + 1] = "[ctlplane-subnet]"
  kv("cidr", admin.cidr)
  kv("gateway", admin.installer_vm.ip)
  kv("dhcp_start", admin.dhcp_range[1])
  kv("dhcp_end", admin.dhcp_range[2])
  kv("inspection_iprange", table.concat(admin.introspection_range, ","))
  return table.concat(lines, "\n") .. "\n"
end

--- The undercloud's NICs as Apex lays them out: eth0 on the default
--- (NATed, DHCP) network, eth1 on admin, eth2 on external; ifcfg files in
--- the image's network-scripts, static addresses from installer_vm.
---@param network apex.NetworkSettings
---@return {device: string, network: string, text: string}[]
function M.nics(network)
  local out = { { device = "eth0", network = "default",
    text = "DEVICE=eth0\nBOOTPROTO=dhcp\nONBOOT=yes\nTYPE=Ethernet\nNM_CONTROLLED=no\n" } }
  local function static(dev, net)
    return string.format("DEVICE=%s\nBOOTPROTO=static\nONBOOT=yes\nTYPE=Ethernet\nIPADDR=%s\nPREFIX=%d\nMTU=%d\nNM_CONTROLLED=no\n",
      dev, net.installer_vm.ip, net.prefix, net.mtu or 1500)
  end
  local admin = network.networks.admin
  out[#out + 1] = { device = "eth1", network = "admin", text = static("eth1", admin) }
  local ext = network.networks.external
  if ext and ext.enabled and ext.installer_vm and ext.installer_vm.ip and ext.prefix then
    out[#out + 1] = { device = "eth2", network = "external", text = static("eth2", ext) }
  end
  return out
end

--- The image customization that gives the undercloud its access and NICs,
--- as Apex's inject_auth (root and stack keys, stack's sudo) plus the host
--- key apex checks and the ifcfg files.
---@param o {authorized_key: string, host_key: string, host_key_pub: string, nics: table[], hostname: string}
---@return apex.ImageOp[]
function M.inject_ops(o)
  -- sshd_config of the image lists a host key file per type (ssh_host_<type>_key).
  local kind = ({ ["ssh-ed25519"] = "ed25519", ["ssh-rsa"] = "rsa" })[o.host_key_pub:match("^(%S+)")]
  if not kind then util.fail("undercloud_vm.inject_ops: host_key_pub: expected an ssh-ed25519 or ssh-rsa key") end
  local host_key = "/etc/ssh/ssh_host_" .. kind .. "_key"
  local ops = {
    { op = "mkdir", path = "/root/.ssh", mode = 448 },
    { op = "write", path = "/root/.ssh/authorized_keys", content = o.authorized_key .. "\n", mode = 384 },
    { op = "run", command = "id -u stack >/dev/null 2>&1 || useradd -m stack || adduser -D stack" },
    { op = "mkdir", path = M.STACK_HOME .. "/.ssh", mode = 448 },
    { op = "write", path = M.STACK_HOME .. "/.ssh/authorized_keys", content = o.authorized_key .. "\n", mode = 384 },
    { op = "run", command = "chown -R stack:stack " .. M.STACK_HOME .. "/.ssh" },
    { op = "mkdir", path = "/etc/sudoers.d", mode = 488 },
    { op = "write", path = "/etc/sudoers.d/stack", content = "stack ALL = (ALL) NOPASSWD: ALL\n", mode = 288 },
    { op = "mkdir", path = "/etc/ssh", mode = 493 },
    { op = "write", path = host_key, content = o.host_key, mode = 384 },
    { op = "write", path = host_key .. ".pub", content = o.host_key_pub .. "\n", mode = 420 },
    { op = "write", path = "/etc/hostname", content = o.hostname .. "\n", mode = 420 },
    { op = "mkdir", path = "/etc/cloud", mode = 493 },
    { op = "write", path = "/etc/cloud/cloud-init.disabled", content = "", mode = 420 },
    { op = "mkdir", path = "/etc/sysconfig/network-scripts", mode = 493 },
  }
  for _, n in ipairs(o.nics) do
    ops[#ops + 1] = { op = "write", path = "/etc/sysconfig/network-scripts/ifcfg-" .. n.device, content = n.text, mode = 420 }
  end
  return ops
end

--- The virtual nodes of a deploy as Apex's generate_inventory makes them:
--- controllers first (3 with HA, else 1), then computes; RAM in GB raised for
--- controllers as Apex does; MACs and BMC ports fixed per node.
---@param o {ha: boolean, computes: integer, cpus: integer, ram: integer, sdn?: string, prefix: string, seed: string, bmc: table}
---@return table[]
function M.nodes(o)
  local ctrl = o.ha and 3 or 1
  local ram_ctrl = o.ram
  local min = o.sdn == "opendaylight" and M.CONTROLLER_MIN_RAM.opendaylight or M.CONTROLLER_MIN_RAM.default
  if ram_ctrl < min then ram_ctrl = min end
  local out = {}
  for i = 0, ctrl + o.computes - 1 do
    local name = o.prefix .. i
    local control = i < ctrl
    out[#out + 1] = {
      name = name,
      profile = control and "control" or "compute",
      memory = (control and ram_ctrl or o.ram) * 1024,
      cpus = o.cpus,
      mac = core.vm.mac({ seed = o.seed .. "/" .. name }).mac,
      bmc_port = o.bmc.port + i,
    }
  end
  return out
end

--- An Apex inventory (the format `-i` reads) of the virtual nodes, for
--- apex.inventory to validate and step 7 to write as instackenv.json.
---@param nodes table[]
---@param bmc {seen_as: string, user: string, password: string}
---@return table
function M.inventory(nodes, bmc)
  local raw = { nodes = {} }
  for _, n in ipairs(nodes) do
    raw.nodes[n.name] = {
      ipmi_ip = bmc.seen_as, ipmi_user = bmc.user, ipmi_pass = bmc.password, pm_type = "pxe_ipmitool",
      pm_port = n.bmc_port, mac_address = n.mac, cpus = n.cpus, memory = n.memory, disk = M.NODE_DISK_GB,
      arch = "x86_64", capabilities = "profile:" .. n.profile,
    }
  end
  return raw
end

return M
