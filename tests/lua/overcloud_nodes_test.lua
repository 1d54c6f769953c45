-- apex.overcloud_nodes: the nodes of the server list and Apex's per-node
-- tasks (lib/ansible/playbooks/post_deploy_overcloud.yml) by role and option.
local t = require("apex.test")
local n = require("apex.overcloud_nodes")

local function names(tasks)
  local out = {}
  for i, x in ipairs(tasks) do out[i] = x.name end
  return out
end

local function eq(actual, expected, what)
  assert(t.deep_equal(actual, expected), string.format("%s: expected %s, got %s", what, t.show(expected),
    t.show(actual)))
end

t.describe("apex.overcloud_nodes", function()
  t.it("reads names, roles and ctlplane addresses of the server list, sorted", function()
    local nodes = n.from_server_list({
      { Name = "overcloud-novacompute-0", Networks = "ctlplane=192.0.2.9" },
      { Name = "overcloud-controller-0", Networks = { ctlplane = { "192.0.2.8" } } },
    }, "servers.json")
    eq(nodes, {
      { name = "overcloud-controller-0", address = "192.0.2.8", role = "controller" },
      { name = "overcloud-novacompute-0", address = "192.0.2.9", role = "compute" },
    }, "nodes")
    local ok, e = pcall(n.from_server_list, { { Name = "x; rm -rf /", Networks = "ctlplane=1.2.3.4" } }, "s.json")
    assert(not ok and tostring(e):find("s.json: server 1: Name", 1, true), tostring(e))
    ok, e = pcall(n.from_server_list, { { Name = "overcloud-controller-0", Networks = "external=1.2.3.4" } }, "s.json")
    assert(not ok and tostring(e):find("no ctlplane address", 1, true), tostring(e))
  end)

  t.it("ODL controller and compute, as Apex's playbook", function()
    local o = { sdn_controller = "opendaylight", dataplane = "ovs", os_version = "master" }
    eq(names(n.tasks({ name = "overcloud-controller-0", role = "controller" }, o)), {
      "ODL container restart policy always", "open port 8101 (karaf shell) for ODL", "save iptables",
      "nova metadata host as an IP", "restart the metadata agent" }, "controller")
    eq(names(n.tasks({ name = "overcloud-novacompute-0", role = "compute" }, o)),
      { "restart nova_compute (NFS workaround)", "save iptables" }, "compute")
  end)

  t.it("options: ovs_dpdk without SDN, vpn on controller-0, tacker, pike, ovn", function()
    local dpdk = { sdn_controller = false, dataplane = "ovs_dpdk", os_version = "master" }
    eq(names(n.tasks({ name = "overcloud-novacompute-1", role = "compute" }, dpdk)), { "bring up br-phy for OVS DPDK",
      "restart the OVS agent for DPDK", "restart nova_compute (NFS workaround)", "save iptables" }, "dpdk compute")
    local vpn = n.tasks({ name = "overcloud-controller-0", role = "controller" },
      { sdn_controller = "opendaylight", vpn = true, tacker = true, os_version = "pike" })
    assert(vpn[1].name == "zrpcd is running" and vpn[1].warn_only, t.show(vpn[1]))
    assert(vpn[2].command:find("/etc/tacker/vim/fernet_keys", 1, true), vpn[2].command)
    assert(vpn[3].name == "restart neutron-server (Pike workaround)", vpn[3].name)
    local ovn = names(n.tasks({ name = "overcloud-controller-1", role = "controller" }, { sdn_controller = "ovn" }))
    eq(ovn, { "save iptables" }, "ovn controller: no metadata fix")
  end)
end)
