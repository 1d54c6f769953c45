--- The overcloud nodes after the deploy, as Apex's post_deploy_overcloud.yml
--- and the first task of post_deploy_undercloud.yml: the node list from the
--- deploy's server list (`openstack server list -f json`), the per-node tasks
--- by role (from the node's name, as Apex's `'compute' in ansible_hostname`)
--- and deploy option, and the command that puts the jump host's key into
--- heat-admin's authorized_keys from the undercloud. Pure functions; the
--- step (scripts/steps/post_deploy.lua) runs them.
---
--- Where apex differs, on purpose:
--- - Apex's zrpcd check inverts itself (failed_when rc == 0, then ignores
---   errors): here zrpcd not running on controller-0 is a warning.
--- - Apex inserts the karaf port rule on every run (one more copy each
---   time); here it is inserted only when `iptables -C` does not find it.
--- - Apex appends the jump host's key on every run with host keys unchecked;
---   here the key is added only when missing, and the undercloud records each
---   node's host key on first contact (accept-new) and checks it after.
--- - Every task runs through `sudo -n` (Apex's become), never prompting.
local util = require("apex.util")

local M = {}

--- Where each node's syslog is kept in the tmp dir (Apex fetches it into its temp dir).
M.LOG_DIR = "overcloud_logs"
--- At most this much of /var/log/messages is fetched per node (its end).
M.LOG_MAX_BYTES = 64 * 1024 * 1024
M.CONTAINER_CLIENT = "docker"

---@class apex.OvercloudNode
---@field name string
---@field address string   the ctlplane address
---@field role "controller"|"compute"|"other"

--- The nodes of `openstack server list -f json`: name and ctlplane address
--- ("Networks": "ctlplane=192.0.2.8" or {ctlplane = {"192.0.2.8"}}), sorted by name.
---@param list table[]
---@param source string  for messages
---@return apex.OvercloudNode[]
function M.from_server_list(list, source)
  if type(list) ~= "table" then util.fail("%s: not a server list (JSON list)", source) end
  local out = {}
  for i, s in ipairs(list) do
    local name, nets = type(s) == "table" and s.Name, type(s) == "table" and s.Networks
    if type(name) ~= "string" or not name:match("^[%w._-]+$") then
      util.fail("%s: server %d: Name %s is not a host name", source, i, util.show(name))
    end
    local addr
    if type(nets) == "string" then
      addr = nets:match("ctlplane=([%x.:]+)")
    elseif type(nets) == "table" and type(nets.ctlplane) == "table" then
      addr = nets.ctlplane[1]
    end
    if type(addr) ~= "string" or not addr:match("^[%x.:]+$") then
      util.fail("%s: server %s: no ctlplane address in Networks (%s)", source, name, util.show(nets))
    end
    local role = name:find("controller", 1, true) and "controller" or name:find("compute", 1, true) and "compute" or "other"
    out[#out + 1] = { name = name, address = addr, role = role }
  end
  table.sort(out, function(a, b) return a.name < b.name end)
  return out
end

---@class apex.NodeTask
---@field name string
---@field command string
---@field warn_only? boolean  a failure is a warning (Apex ignores it)

--- The per-node tasks of post_deploy_overcloud.yml for a node of `role`
--- named `name`, in Apex's order (the syslog fetch is separate).
---@param node {name: string, role: string}
---@param o table  deploy_options
---@return apex.NodeTask[]
function M.tasks(node, o)
  local controller, compute = node.role == "controller", node.role == "compute"
  local sdn = o.sdn_controller
  local docker = "sudo -n " .. M.CONTAINER_CLIENT
  local out = {}
  local function add(name, command, warn_only) out[#out + 1] = { name = name, command = command, warn_only = warn_only } end
  if o.dataplane == "ovs_dpdk" and compute then
    add("bring up br-phy for OVS DPDK", "sudo -n ifup br-phy")
    if not sdn then add("restart the OVS agent for DPDK", "sudo -n systemctl restart neutron-openvswitch-agent") end
  end
  if o.vpn and node.name:find("controller-0", 1, true) then
    add("zrpcd is running", "pgrep -x zrpcd", true)
  end
  if o.tacker then
    add("tacker fernet keys directory", "sudo -n install -d -m 0775 -o root -g tacker /etc/tacker/vim/fernet_keys")
  end
  if controller and o.os_version == "pike" then
    for _, s in ipairs({ "neutron-server", "openstack-nova-api", "openstack-nova-scheduler", "openstack-nova-conductor" }) do
      add("restart " .. s .. " (Pike workaround)", "sudo -n systemctl restart " .. s)
    end
  end
  if compute then add("restart nova_compute (NFS workaround)", docker .. " restart nova_compute") end
  if sdn == "opendaylight" and controller then
    add("ODL container restart policy always", docker .. " update --restart=always opendaylight_api")
    add("open port 8101 (karaf shell) for ODL", "sudo -n iptables -C INPUT -p tcp --dport 8101 -j ACCEPT 2>/dev/null"
      .. " || sudo -n iptables -I INPUT 1 -p tcp --dport 8101 -j ACCEPT")
  end
  add("save iptables", "sudo -n service iptables save")
  if controller and sdn ~= "ovn" then
    add("nova metadata host as an IP", "sudo -n crudini --set "
      .. "/var/lib/config-data/puppet-generated/neutron/etc/neutron/metadata_agent.ini DEFAULT nova_metadata_host "
      .. '"$(sudo -n hiera -c /etc/puppet/hiera.yaml nova_metadata_vip)"')
    add("restart the metadata agent", docker .. " restart neutron_metadata_agent")
  end
  return out
end

--- The syslog fetch: the end of /var/log/messages (at most LOG_MAX_BYTES).
---@return string
function M.log_command()
  return string.format("sudo -n tail -c %d /var/log/messages", M.LOG_MAX_BYTES)
end

--- What the undercloud runs (as its user, whose key TripleO put on the
--- nodes) to add `pubkey` to heat-admin's authorized_keys on `node` unless
--- it is there; the node's host key recorded on first contact, checked after.
---@param node apex.OvercloudNode
---@param pubkey string  one OpenSSH public key line
---@param user string    the nodes' login (heat-admin)
---@param port integer
---@return string
function M.key_command(node, pubkey, user, port)
  local q = util.shell_quote
  local remote = string.format("mkdir -p ~/.ssh && chmod 700 ~/.ssh && touch ~/.ssh/authorized_keys && "
    .. "(grep -qxF %s ~/.ssh/authorized_keys || echo %s >> ~/.ssh/authorized_keys)", q(pubkey), q(pubkey))
  return string.format('ssh -T -o BatchMode=yes -o StrictHostKeyChecking=accept-new -o ConnectTimeout=30 '
    .. '-i "$HOME/.ssh/id_rsa" -o UserKnownHostsFile="$HOME/.ssh/known_hosts" -p %d %s %s',
    port, q(user .. "@" .. node.address), q(remote))
end

return M
