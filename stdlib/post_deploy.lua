--- Post-deploy facts, as Apex's post_deploy_undercloud.yml and the values
--- apex/deploy.py computes for it: the external network and subnet
--- (`external_network_cmds` in apex/overcloud/deploy.py), the gluon networks,
--- the congress datasources (`create_congress_cmds`), and the lines that
--- complete overcloudrc (OS_PROJECT_ID, OS_TENANT_NAME, OS_REGION_NAME, the
--- SDN controller's VIP, ports and ODL password). Pure functions: the step
--- (scripts/steps/post_deploy.lua) runs them on the undercloud.
---
--- Where apex differs, on purpose:
--- - Apex's gluon subnet names `--network GluonNetwork` while the network it
---   creates is `gluon-network`; the subnet here goes on the network created.
--- - Apex takes the region of the second endpoint (`[1]` of `endpoint list`);
---   here it is the first endpoint that names a region.
--- - Apex finds the SDN VIP by grepping `neutron port-list` for
---   control_virtual_ip; here `openstack port list --name control_virtual_ip`.
--- - Creating what exists fails (or duplicates, for a subnet): each create is
---   preceded by a look at what exists, so a rerun creates nothing twice.
local util = require("apex.util")

local M = {}

M.EXTERNAL_NETWORK = "external"
M.EXTERNAL_SUBNET = "external-subnet"
--- The SDN controller's web and REST ports Apex writes into overcloudrc.
M.SDN_PORT = 8081
M.SDN_VIP_PORT = "control_virtual_ip"
--- Apex's congress drivers, in its order; doctor takes no config.
M.CONGRESS_DRIVERS = { "nova", "neutronv2", "cinder", "glancev2", "keystone", "doctor" }
M.CONGRESS_NOVA_API = "2.34"
M.GLUON_NETWORK = "gluon-network"
M.GLUON_SUBNET = "gluon-subnet"

---@class apex.ExternalNetwork
---@field network string   the `openstack network create ...` command (Apex's first)
---@field subnet string    the `openstack subnet create ...` command (Apex's second)
---@field physnet string
---@field type string      "flat" or "vlan"
---@field vlan? integer
---@field from "external"|"admin"  which network it is made from

--- The external network and subnet commands, as Apex's
--- external_network_cmds(ns, ds): the external network when enabled (its
--- floating range), else the admin network (its introspection range); flat
--- when the compute NIC mapping is native, else VLAN with its tag; physnet
--- `datacentre`, or `external` for fdio without OpenDaylight; IPv6 adds
--- `--ip-version 6` (only for the external network, as Apex).
---@param network apex.NetworkSettings
---@param options table  deploy_options (dataplane, sdn_controller)
---@return apex.ExternalNetwork
function M.external_network(network, options)
  local physnet = "datacentre"
  if options.dataplane == "fdio" and options.sdn_controller ~= "opendaylight" then physnet = "external" end
  local net, range, from
  if util.contains(network.enabled, "external") then
    net, from = network.networks.external, "external"
    range = net.floating_ip_range
  else
    net, from = network.networks.admin, "admin"
    range = net.introspection_range
  end
  if not range or not net.gateway then
    util.fail("network settings %s: %s: the external network needs a gateway and %s", network.source or "?", net.key,
      from == "external" and "floating_ip_range" or "introspection_range")
  end
  local vlan = net.nic_mapping.compute.vlan
  local kind = vlan == "native" and "flat" or ("vlan --provider-segment " .. tostring(vlan))
  local out = {
    physnet = physnet, type = vlan == "native" and "flat" or "vlan", vlan = vlan ~= "native" and vlan or nil, from = from,
    network = string.format("openstack network create %s --project service --external --provider-network-type %s "
      .. "--provider-physical-network %s", M.EXTERNAL_NETWORK, kind, physnet),
    subnet = string.format("openstack subnet create %s --project service --network %s --no-dhcp --gateway %s "
      .. "--allocation-pool start=%s,end=%s --subnet-range %s", M.EXTERNAL_SUBNET, M.EXTERNAL_NETWORK, net.gateway,
      range[1], range[2], net.cidr),
  }
  if from == "external" and net.version == 6 then out.subnet = out.subnet .. " --ip-version 6" end
  return out
end

--- Apex's list form: {network command, subnet command}.
---@param network apex.NetworkSettings
---@param options table
---@return string[]
function M.external_network_cmds(network, options)
  local e = M.external_network(network, options)
  return { e.network, e.subnet }
end

--- The gluon network and subnet (Apex's post_deploy_undercloud.yml).
---@return string[]
function M.gluon_cmds()
  return {
    string.format("openstack network create %s --share --provider-network-type vxlan", M.GLUON_NETWORK),
    string.format("openstack subnet create %s --no-gateway --no-dhcp --network %s --subnet-range 0.0.0.0/1",
      M.GLUON_SUBNET, M.GLUON_NETWORK),
  }
end

--- The `export NAME=value` lines of an rc file (quotes around a value dropped).
---@param text string
---@return table<string, string>
function M.parse_rc(text)
  local out = {}
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    local k, v = line:match("^%s*export%s+([%w_]+)=(.*)$")
    if k then
      v = v:gsub("%s+$", "")
      local inner = v:match('^"(.*)"$') or v:match("^'(.*)'$")
      out[k] = inner or v
    end
  end
  return out
end

--- The arguments of `openstack congress datasource create` per driver, as
--- Apex's create_congress_cmds(overcloudrc): each driver with the overcloud
--- credentials (not doctor), nova with its API version.
---@param rc table<string, string>  parse_rc of overcloudrc
---@param source string  for the message
---@return {name: string, args: string}[]
function M.congress_datasources(rc, source)
  local need = { "OS_USERNAME", "OS_PROJECT_NAME", "OS_PASSWORD", "OS_AUTH_URL" }
  for _, k in ipairs(need) do
    if not rc[k] then
      util.fail("%s: %s missing (congress datasources need %s)", source, k, table.concat(need, ", "))
    end
  end
  local cfg = string.format("--config username=%s --config tenant_name=%s --config password=%s --config auth_url=%s",
    rc.OS_USERNAME, rc.OS_PROJECT_NAME, rc.OS_PASSWORD, rc.OS_AUTH_URL)
  local out = {}
  for _, d in ipairs(M.CONGRESS_DRIVERS) do
    local args = string.format('%s "%s"', d, d)
    if d ~= "doctor" then args = args .. " " .. cfg end
    if d == "nova" then args = args .. string.format(' --config api_version="%s"', M.CONGRESS_NOVA_API) end
    out[#out + 1] = { name = d, args = args }
  end
  return out
end

--- The credentials of congress_datasources as references to overcloudrc's
--- variables, expanded by the shell that sourced it on the undercloud: the
--- password stays out of the command line apex logs.
M.CONGRESS_RC_REFS = {
  OS_USERNAME = '"$OS_USERNAME"', OS_PROJECT_NAME = '"$OS_PROJECT_NAME"', OS_PASSWORD = '"$OS_PASSWORD"',
  OS_AUTH_URL = '"$OS_AUTH_URL"',
}

--- Sets `export NAME=value` in an rc file as Ansible's lineinfile does: the
--- last line naming NAME is replaced, else the line is appended.
---@param text string
---@param values {[1]: string, [2]: string}[]  name, value pairs, in order
---@return string
function M.set_exports(text, values)
  local lines = {}
  for line in (text:gsub("\n$", "") .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = line end
  if #lines == 1 and lines[1] == "" then lines = {} end
  for _, kv in ipairs(values) do
    local name, value = kv[1], kv[2]
    local line = string.format("export %s=%s", name, value)
    local at
    for i = #lines, 1, -1 do
      if lines[i]:match("^%s*export%s+" .. name .. "=") then at = i break end
    end
    if at then lines[at] = line else lines[#lines + 1] = line end
  end
  return table.concat(lines, "\n") .. "\n"
end

--- What overcloudrc gains, in Apex's order: the admin project's id and the
--- tenant name, the SDN controller's VIP and ports (with an SDN controller),
--- its password (OpenDaylight), the region.
---@param v {project_id: string, sdn?: string|false, sdn_vip?: string, odl_password?: string, region?: string}
---@return {[1]: string, [2]: string}[]
function M.rc_additions(v)
  local out = { { "OS_PROJECT_ID", v.project_id }, { "OS_TENANT_NAME", "admin" } }
  if v.sdn then
    out[#out + 1] = { "SDN_CONTROLLER_IP", v.sdn_vip }
    out[#out + 1] = { "SDN_CONTROLLER_WEBPORT", tostring(M.SDN_PORT) }
    out[#out + 1] = { "SDN_CONTROLLER_RESTCONFPORT", tostring(M.SDN_PORT) }
  end
  if v.sdn == "opendaylight" then out[#out + 1] = { "SDN_CONTROLLER_PASSWORD", v.odl_password } end
  if v.region then out[#out + 1] = { "OS_REGION_NAME", v.region } end
  return out
end

--- The region of `openstack endpoint list -c Region -f json`: the first
--- endpoint that names one.
---@param list table[]
---@return string?
function M.region(list)
  for _, e in ipairs(list or {}) do
    if type(e.Region) == "string" and e.Region ~= "" then return e.Region end
  end
  return nil
end

--- The admin project's id from `openstack project list -f json`.
---@param list table[]
---@return string?
function M.admin_project(list)
  for _, p in ipairs(list or {}) do
    if p.Name == "admin" then return p.ID end
  end
  return nil
end

--- The first address of `openstack port list -f json`'s "Fixed IP Addresses"
--- (a string like "ip_address='192.0.2.5', subnet_id='...'" or a list of
--- {ip_address=...}).
---@param list table[]
---@return string?
function M.port_address(list)
  for _, p in ipairs(list or {}) do
    local f = p["Fixed IP Addresses"]
    if type(f) == "string" then
      local a = f:match("ip_address='([^']+)'")
      if a then return a end
    elseif type(f) == "table" then
      for _, x in ipairs(f) do
        if type(x) == "table" and x.ip_address then return x.ip_address end
      end
    end
  end
  return nil
end

return M
