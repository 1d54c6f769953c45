-- apex.network and apex.ip: Apex network settings parsed and completed as
-- Apex's NetworkSettings does (apex/settings/network_settings.py); every
-- expected value names the Apex function it comes from.
local t = require("apex.test")
local core = require("apex.core")

local here = debug.getinfo(1, "S").source:gsub("^@", ""):match("^(.*)/[^/]*$") or "."
local DATA = here .. "/../data/network/"

local function fixture(name)
  return core.yaml.load({ path = DATA .. name .. ".yaml" })
end

local function load(name)
  return require("apex.network").validate(fixture(name), name .. ".yaml")
end

local function eq(actual, expected, what)
  assert(t.deep_equal(actual, expected), string.format("%s: expected %s, got %s", what, t.show(expected),
    t.show(actual)))
end

-- The error message of validating `raw` (which must fail).
local function err_of(raw, source)
  local ok, e = pcall(require("apex.network").validate, raw, source or "bad.yaml")
  assert(not ok, "expected validation to fail")
  return tostring(e)
end

t.describe("apex.ip", function()
  local ip = require("apex.ip")
  t.it("parses and prints addresses as Python's ipaddress does", function()
    local cases = {
      ["192.0.2.1"] = "192.0.2.1",
      ["2001:db8:0:0:0:0:0:2"] = "2001:db8::2",
      ["2001:DB8::0"] = "2001:db8::",
      ["fd00:0:0:30:0:0:0:0"] = "fd00:0:0:30::",
      ["1:0:0:1:0:0:0:1"] = "1:0:0:1::1", -- the longest zero run is compressed
      ["::"] = "::",
    }
    for input, want in pairs(cases) do
      local a = ip.parse(input)
      assert(a and ip.format(a) == want, input .. " -> " .. (a and ip.format(a) or "nil"))
    end
    for _, bad in ipairs({ "192.0.2", "192.0.2.256", "192.0.02.1", "1::2::3", "2001:db8::g", "1:2:3:4:5:6:7:8:9" }) do
      assert(ip.parse(bad) == nil, bad .. " parsed")
    end
  end)
  t.it("indexes networks like network[i] and checks overlap", function()
    local n = assert(ip.parse_cidr("10.0.0.0/24"))
    eq(ip.format(ip.index(n, 21)), "10.0.0.21", "n[21]")
    eq(ip.format(ip.index(n, -22)), "10.0.0.234", "n[-22]")
    eq(ip.format(ip.index(n, -1)), "10.0.0.255", "n[-1]")
    assert(ip.index(n, 256) == nil and ip.index(n, -257) == nil, "outside the network")
    local v6 = assert(ip.parse_cidr("2001:db8::/64"))
    eq(ip.format(ip.index(v6, -3)), "2001:db8::ffff:ffff:ffff:fffd", "v6[-3]")
    assert(select(2, ip.parse_cidr("10.0.0.1/24")):find("host bits set", 1, true), "strict like ip_network")
    assert(ip.overlaps(n, assert(ip.parse_cidr("10.0.0.128/25"))), "10.0.0.0/24 holds 10.0.0.128/25")
    assert(not ip.overlaps(n, assert(ip.parse_cidr("10.0.1.0/24"))), "neighbours do not overlap")
    assert(not ip.overlaps(n, v6), "versions never overlap")
  end)
end)

t.describe("apex.network.validate", function()
  t.it("keeps the fields the flow reads; the shipped defaults validate", function()
    local net = require("apex.network").validate(require("apex.network_defaults"), "shipped")
    eq(net.undercloud_ip, "192.0.2.1", "undercloud_ip")
    eq(net.ntp, { "0.pool.ntp.org", "1.pool.ntp.org" }, "ntp")
    eq(net.dns_nameservers, { "8.8.8.8", "8.8.4.4" }, "dns")
    eq(net.enabled, { "admin", "tenant", "external", "storage", "api" }, "enabled")
    -- no nic_mapping anywhere: one NIC per enabled network, as Apex's
    -- build_vms wires the virtual nodes (test_get_network_settings: eth<i>)
    eq(net.nics.controller, { admin = "eth0", tenant = "eth1", external = "eth2", storage = "eth3", api = "eth4" },
      "virtual NICs")
    -- Apex's introspection_range .11-.19 lies inside dhcp_range .2-.50 here;
    -- apex moves it after the highest given range (undercloud install refuses overlaps)
    eq(net.networks.admin.introspection_range, { "192.0.2.100", "192.0.2.108" }, "introspection moved")
    assert(net.source == "shipped" and net.raw.networks.admin ~= nil, "source and raw kept")
  end)

  t.it("single network: admin only, Apex's derived ranges", function()
    local net = load("single")
    eq(net.enabled, { "admin" }, "enabled") -- _validate_input: enabled_network_list
    local a = net.networks.admin
    eq(a.dhcp_range, { "10.20.0.2", "10.20.0.10" }, "dhcp") -- _config_ip_range(start_offset=2, count=9)
    eq(a.introspection_range, { "10.20.0.11", "10.20.0.19" }, "introspection") -- start_offset=11, count=9
    eq(a.overcloud_ip_range, { "10.20.0.21", "10.20.0.234" }, "overcloud") -- start_offset=21, end_offset=21
    eq(a.gateway, "10.20.0.254", "gateway as given")
    eq(net.domain, "ci.example.net", "domain") -- _validate_input: domain_name = dns-domain
    eq(net.ntp, { "ntp1.example.net" }, "ntp") -- ntp_servers = ntp
    eq(net.dns_nameservers, { "10.20.0.53" }, "dns") -- dns_servers = dns_nameservers
    eq(a.nic_mapping.controller.vlan, "native", "admin vlan") -- _config_required_settings: ctlplane native
    eq(net.networks.tenant.enabled, false, "tenant disabled")
    eq(net.networks.external.enabled, false, "flat external item read as public, disabled")
    eq(net.ip_version, 4, "ip version") -- get_ip_addr_family
  end)

  t.it("all networks on VLANs", function()
    local net = load("vlans")
    eq(net.enabled, { "admin", "tenant", "external", "storage", "api" }, "enabled")
    eq(net.networks.external.vlan, 120, "external vlan") -- NetworkEnvironment._get_vlan (controller first)
    eq(net.networks.tenant.vlan, 110, "tenant vlan")
    eq(net.networks.tenant.mtu, 9000, "tenant mtu")
    eq(net.networks.external.floating_ip_range, { "203.0.113.60", "203.0.113.120" }, "floating as given")
    eq(net.networks.external.installer_vm.vlan, 120, "installer vlan")
    eq(net.networks.storage.overcloud_ip_range, { "172.31.30.21", "172.31.30.234" }, "storage range")
    eq(net.nics.compute.api, "nic1", "nics") -- _validate_overcloud_nic_order: nics[role][network]
    eq(net.undercloud_ip, "172.30.0.2", "undercloud")
    eq(net.domain, "vlan.lab.example", "domain")
  end)

  t.it("IPv6 external, storage and api", function()
    local net = load("ipv6")
    eq(net.ip_version, 6, "ip version") -- get_ip_addr_family: max over enabled networks
    assert(net.ipv6, "ipv6 flag")
    local ext = net.networks.external
    eq(ext.version, 6, "external v6")
    eq(ext.cidr, "2001:db8:100::/64", "canonical cidr") -- str(ipaddress.ip_network(cidr))
    eq(ext.gateway, "2001:db8:100::1", "gateway") -- _config_gateway: ip_utils.get_ip(1, cidr)
    -- _config_ip_range(floating_ip_range, end_offset=2, count=20): get_ip_range's
    -- index math yields cidr[-17]..cidr[-3]
    eq(ext.floating_ip_range, { "2001:db8:100:0:ffff:ffff:ffff:ffef", "2001:db8:100:0:ffff:ffff:ffff:fffd" },
      "floating")
    eq(ext.overcloud_ip_range, { "2001:db8:100::15", "2001:db8:100:0:ffff:ffff:ffff:ffea" }, "overcloud")
    eq(net.networks.api.overcloud_ip_range, { "fd00:0:0:40::10", "fd00:0:0:40::ff" }, "api range as given")
    eq(net.networks.tenant.version, 4, "tenant v4")
    eq(net.domain, "localdomain.com", "default domain") -- constants.DOMAIN_NAME
    eq(net.dns_nameservers, { "8.8.8.8", "8.8.4.4" }, "default dns") -- constants.DNS_SERVERS
    eq(net.ntp, { "pool.ntp.org" }, "default ntp") -- constants.NTP_SERVER
  end)

  t.it("no storage network, VLAN tenant segmentation", function()
    local net = load("nostorage")
    eq(net.enabled, { "admin", "tenant", "external" }, "enabled")
    assert(net.networks.storage == nil, "storage absent")
    eq(net.networks.api.enabled, false, "api disabled")
    eq(net.networks.tenant.segmentation_type, "vlan", "segmentation")
    eq(net.networks.tenant.overlay_id_range, "physnet1:200:299,physnet2", "overlay ids")
    eq(net.http_proxy, "http://proxy.lab.example:3128", "proxy")
    eq(net.networks.external.gateway, "198.51.100.1", "gateway") -- _config_gateway: cidr[1]
    eq(net.networks.external.floating_ip_range, { "198.51.100.239", "198.51.100.253" }, "floating") -- cidr[-17..-3]
    -- Apex derives .11-.19 and .21-(cidr[-22]) inside the given dhcp_range
    -- .10-.200; apex moves them after it
    eq(net.networks.admin.introspection_range, { "10.0.8.201", "10.0.8.209" }, "introspection")
    eq(net.networks.admin.overcloud_ip_range, { "10.0.8.210", "10.0.11.234" }, "overcloud keeps cidr[-22]")
  end)

  t.it("bonded NICs", function()
    local net = load("bonds")
    local m = net.networks.tenant.nic_mapping
    eq(m.controller.members, { "ens1f0", "ens1f1" }, "bond members")
    eq(m.controller.bonding_options, "mode=802.3ad lacp_rate=fast", "bond options")
    eq(m.compute.bonding_options, "mode=active-backup miimon=100", "default bond options")
    eq(net.networks.storage.vlan, 300, "storage tagged on the bond")
    eq(net.networks.api.enabled, false, "api off")
    eq(net.networks.external.nic_mapping.compute.phys_type, "ovs_bridge", "external phys_type")
  end)

  t.it("a typical lab: the apex: section, generated installer IP", function()
    local net = load("lab")
    local a = net.networks.admin
    -- NetworkSettings.__init__ merges apex: without overwriting
    eq(a.introspection_range, { "192.0.2.100", "192.0.2.120" }, "from apex:")
    eq(a.dhcp_range, { "192.0.2.2", "192.0.2.50" }, "the file's dhcp_range wins over apex:")
    eq(net.undercloud_ip, "192.0.2.1", "installer ip") -- _config_required_settings: _gen_ip(network, 1)
    eq(net.https_proxy, "https://proxy.example.org:8443", "proxy")
    eq(net.networks.external.mtu, 1450, "mtu")
    eq(net.networks.external.external_overlay, { name = "Public_internet", type = "flat", gateway = "172.16.10.1" },
      "overlay")
    eq(net.networks.external.cidr, "172.16.10.0/24", "public item, not private_cloud")
    eq(net.networks.storage.enabled, false, "storage off")
    eq(net.networks.tenant.overlay_id_range, "2,65535", "vxlan default overlay range")
  end)

  t.it("bad input fails naming the file, the key and what is valid", function()
    local function base()
      return fixture("vlans")
    end
    local raw = base()
    raw.networks.storage.cidr = "172.31.10.128/25" -- inside tenant's 172.31.10.0/24
    local e = err_of(raw, "vlans.yaml")
    assert(e:find("^vlans%.yaml: networks%.storage%.cidr: 172%.31%.10%.128/25 overlaps networks%.tenant%.cidr"), e)

    raw = base()
    raw.networks.api.overcloud_ip_range = { "172.31.40.50", "172.31.41.10" }
    e = err_of(raw)
    assert(e:find("bad.yaml: networks.api.overcloud_ip_range[2]: 172.31.41.10 is outside the network's CIDR "
      .. "172.31.40.0/24", 1, true), e)

    raw = base()
    raw.networks.external[1].public.floating_ip_range = { "203.0.113.200", "203.0.113.220" } -- /25 ends at .127
    e = err_of(raw)
    assert(e:find("networks.external[1].public.floating_ip_range[1]: 203.0.113.200 is outside", 1, true), e)

    raw = base()
    raw.networks.tenant.nic_mapping.compute.vlan = 4095
    e = err_of(raw)
    assert(e:find("bad.yaml: networks.tenant.nic_mapping.compute.vlan: got 4095 (valid: native, or a VLAN ID "
      .. "1..4094)", 1, true), e)

    raw = base()
    raw.networks.storage.nic_mapping.compute = nil
    e = err_of(raw)
    assert(e:find("bad.yaml: networks.storage.nic_mapping.compute: missing (required: both roles", 1, true), e)

    raw = base()
    raw.networks.admin.installer_vm.ip = "172.30.0.300"
    e = err_of(raw)
    assert(e:find("bad.yaml: networks.admin.installer_vm.ip: got \"172.30.0.300\": not an IPv4 address", 1, true), e)

    raw = base()
    raw.networks.tenant.cidr = "172.31.10.1/24"
    e = err_of(raw)
    assert(e:find("networks.tenant.cidr: got \"172.31.10.1/24\": host bits set", 1, true), e)

    raw = base()
    raw.networks.admin.gateway = "10.9.9.9"
    e = err_of(raw)
    assert(e:find("networks.admin.gateway: 10.9.9.9 is outside the network's CIDR 172.30.0.0/24", 1, true), e)
  end)

  t.it("checks what Apex and the NIC templates need", function()
    local raw = fixture("single")
    raw.networks.admin.enabled = false -- _validate_input: admin must be enabled
    local e = err_of(raw)
    assert(e:find("networks.admin.enabled: false (valid: true", 1, true), e)

    raw = fixture("bonds")
    raw.networks.storage.nic_mapping.controller.vlan = "native" -- the bond carries tenant untagged already
    e = err_of(raw)
    assert(e:find("networks.storage.nic_mapping.controller.members: ens1f0+ens1f1 already carries the tenant "
      .. "network untagged", 1, true), e) -- _validate_overcloud_nic_order: duplicate NIC
    raw = fixture("bonds")
    raw.networks.tenant.nic_mapping.compute.members = {} -- _validate_overcloud_nic_order: members required
    e = err_of(raw)
    assert(e:find("networks.tenant.nic_mapping.compute.members: missing", 1, true), e)
    raw = fixture("bonds")
    raw.networks.tenant.nic_mapping.compute.phys_type = "interface"
    e = err_of(raw)
    assert(e:find("members: 2 NICs for phys_type interface", 1, true), e)
    -- NIC names and NTP servers end up in os-net-config and THT: only what they can be.
    raw = fixture("bonds")
    raw.networks.tenant.nic_mapping.compute.members = { "ens1f0", "ens1f1; reboot" }
    e = err_of(raw)
    assert(e:find('networks.tenant.nic_mapping.compute.members[2]: got "ens1f1; reboot" (valid: a NIC name', 1, true), e)
    raw = fixture("bonds")
    raw.networks.tenant.nic_mapping.compute.members = { "a-name-longer-than-15" }
    e = err_of(raw)
    assert(e:find("members[1]: got \"a-name-longer-than-15\" (valid: a NIC name", 1, true), e)
    raw = fixture("single")
    raw.ntp = { "pool.ntp.org", "-oProxyCommand=x" }
    e = err_of(raw)
    assert(e:find('ntp[2]: got "-oProxyCommand=x" (valid: an NTP server', 1, true), e)

    raw = fixture("ipv6")
    raw.networks.admin.cidr = "fd00:1::/64"
    e = err_of(raw)
    assert(e:find("networks.admin.cidr: fd00:1::/64 is IPv6", 1, true), e)

    raw = fixture("single")
    raw.networks.admin.nic_mapping.compute.vlan = 10
    e = err_of(raw)
    assert(e:find("networks.admin.nic_mapping.compute.vlan: got 10 (valid: native", 1, true), e)

    raw = fixture("vlans")
    raw.networks.external = { { private_cloud = { enabled = false } } }
    e = err_of(raw)
    assert(e:find("networks.external: no item named public", 1, true), e)

    raw = fixture("single")
    raw.networks.storage_mgmt = {}
    e = err_of(raw)
    assert(e:find("networks.storage_mgmt: unknown network (valid: admin, tenant, external, storage, api)", 1,
      true), e)

    raw = fixture("nostorage")
    raw.networks.tenant.overlay_id_range = "physnet1:300:200"
    e = err_of(raw)
    assert(e:find("networks.tenant.overlay_id_range: physnet1:300:200", 1, true), e)

    raw = fixture("lab")
    raw.networks.admin.dhcp_range = { "192.0.2.60", "192.0.2.70" } -- inside overcloud_ip_range .51-.99
    e = err_of(raw)
    assert(e:find("networks.admin.overcloud_ip_range: 192.0.2.51-192.0.2.99 overlaps dhcp_range", 1, true), e)

    -- Apex accepts an installer IP inside a pool (its own VLAN example has
    -- one): a warning, not an error.
    raw = fixture("lab")
    raw.networks.admin.installer_vm.ip = "192.0.2.60"
    local net = require("apex.network").validate(raw, "lab.yaml")
    local inside = {}
    for _, w in ipairs(net.warnings) do
      if w:find("networks.admin.installer_vm.ip: 192.0.2.60 is inside overcloud_ip_range", 1, true) then
        inside[#inside + 1] = w
      end
    end
    assert(#inside == 1, table.concat(net.warnings, "\n"))
  end)
end)
