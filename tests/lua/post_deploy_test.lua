-- apex.post_deploy: the post-deploy commands of Apex's post_deploy_undercloud.yml.
-- The expected external network commands are what OPNFV Apex's
-- external_network_cmds(ns, ds) (apex/overcloud/deploy.py) returns for its
-- example network settings (config/network/network_settings.yaml,
-- network_settings_vlans.yaml, network_settings_v6.yaml, and
-- network_settings.yaml with the external network disabled), whose values
-- tests/data/network/apex/*.yaml carry; worked out from that function by hand
-- and written down here.
local t = require("apex.test")
local core = require("apex.core")
local pd = require("apex.post_deploy")

local here = debug.getinfo(1, "S").source:gsub("^@", ""):match("^(.*)/[^/]*$") or "."
local DATA = here .. "/../data/network/apex/"

local function load(name)
  return require("apex.network").validate(core.yaml.load({ path = DATA .. name .. ".yaml" }), name .. ".yaml")
end

local function eq(actual, expected, what)
  assert(t.deep_equal(actual, expected), string.format("%s: expected %s, got %s", what, t.show(expected),
    t.show(actual)))
end

local ODL = { dataplane = "ovs", sdn_controller = "opendaylight" }

t.describe("apex.post_deploy external network (Apex's external_network_cmds)", function()
  t.it("flat: network_settings.yaml", function()
    eq(pd.external_network_cmds(load("flat"), ODL), {
      "openstack network create external --project service --external --provider-network-type flat "
        .. "--provider-physical-network datacentre",
      "openstack subnet create external-subnet --project service --network external --no-dhcp --gateway 192.168.37.1 "
        .. "--allocation-pool start=192.168.37.200,end=192.168.37.220 --subnet-range 192.168.37.0/24",
    }, "flat")
  end)

  t.it("VLAN: network_settings_vlans.yaml (compute vlan 501)", function()
    eq(pd.external_network_cmds(load("vlan"), ODL), {
      "openstack network create external --project service --external --provider-network-type vlan "
        .. "--provider-segment 501 --provider-physical-network datacentre",
      "openstack subnet create external-subnet --project service --network external --no-dhcp --gateway 192.168.37.1 "
        .. "--allocation-pool start=192.168.37.200,end=192.168.37.220 --subnet-range 192.168.37.0/24",
    }, "vlan")
  end)

  t.it("IPv6: network_settings_v6.yaml", function()
    -- The floating range as the file gives it; the CIDR as Python's ipaddress prints 2001:db8::0/64.
    eq(pd.external_network_cmds(load("ipv6"), ODL), {
      "openstack network create external --project service --external --provider-network-type flat "
        .. "--provider-physical-network datacentre",
      "openstack subnet create external-subnet --project service --network external --no-dhcp --gateway 2001:db8::1 "
        .. "--allocation-pool start=2001:db8:0:0:0:0:0:2,end=2001:db8:0:0:ffff:ffff:ffff:ffff --subnet-range 2001:db8::/64 "
        .. "--ip-version 6",
    }, "ipv6")
  end)

  t.it("no external network: the admin network and its introspection range", function()
    eq(pd.external_network_cmds(load("no_external"), ODL), {
      "openstack network create external --project service --external --provider-network-type flat "
        .. "--provider-physical-network datacentre",
      "openstack subnet create external-subnet --project service --network external --no-dhcp --gateway 192.0.2.1 "
        .. "--allocation-pool start=192.0.2.100,end=192.0.2.120 --subnet-range 192.0.2.0/24",
    }, "no external")
  end)

  t.it("fdio without OpenDaylight uses the external physnet", function()
    local e = pd.external_network(load("flat"), { dataplane = "fdio", sdn_controller = false })
    assert(e.network:find("--provider-physical-network external", 1, true), e.network)
    e = pd.external_network(load("flat"), { dataplane = "fdio", sdn_controller = "opendaylight" })
    assert(e.network:find("--provider-physical-network datacentre", 1, true), e.network)
  end)
end)

t.describe("apex.post_deploy overcloudrc and congress", function()
  local RC = "export OS_USERNAME=admin\nexport OS_PASSWORD='pw'\nexport OS_PROJECT_NAME=admin\n"
    .. "export OS_AUTH_URL=http://192.0.2.5:5000/v3\n"

  t.it("congress datasources as Apex's create_congress_cmds", function()
    local ds = pd.congress_datasources(pd.parse_rc(RC), "overcloudrc")
    local cfg = "--config username=admin --config tenant_name=admin --config password=pw "
      .. "--config auth_url=http://192.0.2.5:5000/v3"
    eq(ds[1], { name = "nova", args = 'nova "nova" ' .. cfg .. ' --config api_version="2.34"' }, "nova")
    eq(ds[2], { name = "neutronv2", args = 'neutronv2 "neutronv2" ' .. cfg }, "neutronv2")
    eq(ds[6], { name = "doctor", args = 'doctor "doctor"' }, "doctor")
    eq(#ds, 6, "six drivers")
    local refs = pd.congress_datasources(pd.CONGRESS_RC_REFS, "refs")
    assert(refs[2].args:find('--config password="$OS_PASSWORD"', 1, true), refs[2].args)
    local ok, e = pcall(pd.congress_datasources, pd.parse_rc("export OS_USERNAME=admin\n"), "rc")
    assert(not ok and tostring(e):find("rc: OS_PROJECT_NAME missing", 1, true), tostring(e))
  end)

  t.it("completes overcloudrc as lineinfile: replaced in place, else appended, twice the same", function()
    local add = pd.rc_additions({ project_id = "p1", sdn = "opendaylight", sdn_vip = "192.0.2.9", odl_password = "odl",
      region = "regionOne" })
    local once = pd.set_exports(RC .. "export OS_REGION_NAME=old\n", add)
    eq(pd.set_exports(once, add), once, "idempotent")
    local rc = pd.parse_rc(once)
    eq({ rc.OS_PROJECT_ID, rc.OS_TENANT_NAME, rc.SDN_CONTROLLER_IP, rc.SDN_CONTROLLER_WEBPORT,
      rc.SDN_CONTROLLER_RESTCONFPORT, rc.SDN_CONTROLLER_PASSWORD, rc.OS_REGION_NAME },
      { "p1", "admin", "192.0.2.9", "8081", "8081", "odl", "regionOne" }, "values")
    assert(once:find("^export OS_USERNAME=admin\n"), once)
    local _, n = once:gsub("OS_REGION_NAME", "")
    eq(n, 1, "region replaced, not added")
    local plain = pd.rc_additions({ project_id = "p1", sdn = false, region = "r" })
    eq(#plain, 3, "no SDN lines without a controller")
  end)

  t.it("reads project, region and port answers", function()
    eq(pd.admin_project({ { ID = "x", Name = "service" }, { ID = "a1", Name = "admin" } }), "a1", "project")
    eq(pd.region({ { Region = "" }, { Region = "regionOne" } }), "regionOne", "region")
    eq(pd.port_address({ { ["Fixed IP Addresses"] = "ip_address='192.0.2.9', subnet_id='s'" } }), "192.0.2.9", "port")
    eq(pd.port_address({ { ["Fixed IP Addresses"] = { { ip_address = "192.0.2.8" } } } }), "192.0.2.8", "port list")
  end)
end)
