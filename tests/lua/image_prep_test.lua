-- The overcloud image customizations each owner returns (the common base,
-- the dataplane, the SDN plugins, nosdn, Ceph's loop file), checked against
-- what Apex's prep_image (apex/overcloud/deploy.py, builders/) applies for the
-- same deploy options; their translation into image operations; and how a
-- later owner replaces or drops a group by id.
local t = require("apex.test")
local settings = require("apex.settings")
local plugins = require("apex.plugins")
local customize = require("apex.customize")
local base = require("apex.overcloud_base")
local dataplane = require("apex.dataplane")

local function ctx(opts, extra)
  local c = { settings = settings.validate_deploy({ global_params = { ha_enabled = true }, deploy_options = opts }, "t.yaml"),
    network = {}, files = {}, tmp_dir = "/nonexistent" }
  for k, v in pairs(extra or {}) do c[k] = v end
  return c
end

--- An item's argument: `arg`, or `file:dest` of a file operation given with
--- fields (as the flow joins them).
local function arg_of(c)
  return c.arg or (c.file and c.file .. ":" .. c.dest)
end

--- "op arg" of each item, for compact comparisons.
local function ops(list)
  local out = {}
  for i, c in ipairs(list) do out[i] = c.op .. " " .. arg_of(c) end
  return out
end

local function find(list, op, arg)
  for _, c in ipairs(list) do
    if c.op == op and arg_of(c) == arg then return c end
  end
  return nil
end

t.describe("common base (every deploy)", function()
  t.it("NFS, the DHCP unit workaround, proxies", function()
    local list = base.overcloud_customize(ctx({}, { network = { http_proxy = "http://p:3128" } }))
    t.expect(ops(list)).to_equal({
      "run-command echo http_proxy=http://p:3128 >> /etc/environment",
      "run-command crudini --del /usr/lib/systemd/system/dhcp-interface@.service Unit ConditionPathExists",
      "install nfs-utils",
      "enable nfs-server.service",
      "mkdir /glance", "mkdir /cinder", "mkdir /nova",
      "run-command chown nfsnobody:nfsnobody /glance /cinder /nova",
      "write /etc/exports",
      "run-command exportfs -avr",
    })
    t.expect(find(list, "mkdir", "/nova").mode).to_be("0777")
    t.expect(find(list, "write", "/etc/exports").content).to_be(
      "/glance *(rw,sync,no_root_squash,no_acl)\n/cinder *(rw,sync,no_root_squash,no_acl)\n/nova *(rw,sync,no_root_squash,no_acl)\n")
    t.expect(list[2].needs).to_equal({ "crudini" })
    for _, c in ipairs(list) do t.expect(c.reason ~= nil and c.id ~= nil).to_be(true) end
  end)
  t.it("no proxies without them", function()
    t.expect(#base.proxies(ctx({}))).to_be(0)
  end)
end)

t.describe("dataplane", function()
  t.it("ovs has nothing, ovs_dpdk the module loaders, fdio the loaders and the NSDriver patch", function()
    t.expect(#dataplane.overcloud_customize(ctx({}))).to_be(0)
    t.expect(#dataplane.artifacts(ctx({}))).to_be(0)
    local dpdk = dataplane.overcloud_customize(ctx({ dataplane = "ovs_dpdk" }))
    t.expect(ops(dpdk)).to_equal({ "write /etc/sysconfig/modules/vfio_pci.modules", "write /etc/sysconfig/modules/uio_pci_generic.modules" })
    t.expect(dpdk[1].content).to_be("#!/bin/bash\nexec /sbin/modprobe vfio_pci\n")
    t.expect(dpdk[2].mode).to_be("0755")
    local fdio = ctx({ dataplane = "fdio" })
    t.expect(ops(dataplane.overcloud_customize(fdio))[3]).to_be(
      "patch neutron-patch-NSDriver.patch:/usr/lib/python2.7/site-packages")
    local a = dataplane.artifacts(fdio)
    t.expect(#a == 1 and a[1].name == "neutron-patch-NSDriver.patch" and a[1].required).to_be(true)
  end)
end)

t.describe("SDN plugins", function()
  t.it("OpenDaylight: OVS agent out, its repo, puppet module, Java; Quagga with vpn", function()
    local odl = plugins.load("opendaylight", "test")
    local list = odl.overcloud_customize(ctx({ sdn_controller = "opendaylight", odl_version = "master" }))
    t.expect(ops(list)).to_equal({
      "remove /etc/systemd/system/multi-user.target.wants/neutron-openvswitch-agent.service",
      "remove /usr/lib/systemd/system/neutron-openvswitch-agent.service",
      "write /etc/yum.repos.d/opendaylight-neon.repo",
      "remove /etc/puppet/modules/opendaylight",
      "unpack puppet-opendaylight-master.tar:/etc/puppet/modules/",
      "install java-1.8.0-openjdk",
    })
    t.expect(list[3].content).to_be("[opendaylight-neon]\nname=opendaylight-neon\n"
      .. "baseurl=https://nexus.opendaylight.org/content/repositories/opendaylight-neon-epel-7-x86_64-devel/\ngpgcheck=0\n")
    t.expect(#odl.artifacts(ctx({ sdn_controller = "opendaylight" }))).to_be(1)

    local vpn = ctx({ sdn_controller = "opendaylight", vpn = true })
    list = odl.overcloud_customize(vpn)
    local q = find(list, "unpack", "quagga-4.tar.gz:/root/")
    t.expect(q ~= nil and q.id == "quagga").to_be(true)
    local start = find(list, "write", "/opt/quagga/etc/init.d/zrpcd_start.sh")
    t.expect(start.content).to_be("sudo /opt/quagga/etc/init.d/zrpcd start\n")
    t.expect(start.mode).to_be("0755")
    local text = table.concat(ops(list), "\n")
    t.expect(text).to_contain("grep -vE 'debuginfo|devel|contrib'")
    t.expect(text).to_contain("echo /opt/quagga/etc/init.d/zrpcd_start.sh >> /etc/rc.d/rc.local")
    t.expect(text).to_contain("chmod +x /etc/rc.local /etc/rc.d/rc.local")
    local arts = odl.artifacts(vpn)
    t.expect(arts[2].name == "quagga-4.tar.gz" and arts[2].required).to_be(true)
  end)
  t.it("OVN and ONOS remove the OVS agent; nosdn does not", function()
    for _, name in ipairs({ "ovn", "onos" }) do
      local p = plugins.load(name, "test")
      t.expect(ops(p.overcloud_customize(ctx({ sdn_controller = name })))).to_equal({
        "remove /etc/systemd/system/multi-user.target.wants/neutron-openvswitch-agent.service",
        "remove /usr/lib/systemd/system/neutron-openvswitch-agent.service",
      })
    end
    local nosdn = plugins.load("nosdn", "test")
    t.expect(#nosdn.overcloud_customize(ctx({}))).to_be(0)
    t.expect(#nosdn.overcloud_customize(ctx({ dataplane = "ovs_dpdk" }))).to_be(0)
  end)
  t.it("nosdn with fdio trades vpp-lib for Apex's VPP packages", function()
    local nosdn = plugins.load("nosdn", "test")
    local c = ctx({ dataplane = "fdio" })
    t.expect(ops(nosdn.overcloud_customize(c))).to_equal({
      "uninstall vpp-lib", "unpack nosdn_vpp_rpms.tar:/root/", "install /root/nosdn_vpp_rpms/*.rpm" })
    local a = nosdn.artifacts(c)
    t.expect(#a == 1 and a[1].name == "nosdn_vpp_rpms.tar" and a[1].required).to_be(true)
  end)
end)

t.describe("Ceph loop file", function()
  t.it("10G virtual, 50G baremetal, the site's size when given", function()
    local ceph = plugins.load("ceph", "test")
    t.expect(ceph.loop_devices(ctx({}, { env = { virtual = true } }))[1].size).to_be("10G")
    local bm = ceph.loop_devices(ctx({}, { env = { virtual = false } }))[1]
    t.expect(bm.size).to_be("50G")
    t.expect(bm.reason).to_contain("baremetal")
    local site = ceph.loop_devices(ctx({}, { env = { virtual = false }, infra = { source = "s.yaml", ceph = { loop_size = "20G" } } }))[1]
    t.expect(site.size).to_be("20G")
    t.expect(site.reason).to_contain("s.yaml: ceph.loop_size")
    local site_mod = require("apex.site")
    t.expect(function() site_mod.validate({ ceph = { loop_size = "17T" } }, "s.yaml", "192.0.2.1", "master") end)
      .to_fail("s.yaml: ceph.loop_size: got 17T (valid: a size such as 50G")
    t.expect(function() site_mod.validate({ ceph = { loop_size = "0G" } }, "s.yaml", "192.0.2.1", "master") end)
      .to_fail("ceph.loop_size")
    t.expect(site_mod.validate({ ceph = { loop_size = "16T" } }, "s.yaml", "192.0.2.1", "master").ceph.loop_size).to_be("16T")
  end)
end)

t.describe("translation and ownership", function()
  t.it("write, mkdir, enable, uninstall and needs become image operations", function()
    local list = {
      { op = "write", arg = "/etc/x", content = "x\n", mode = "0755", reason = "r" },
      { op = "mkdir", arg = "/glance", mode = "0777", reason = "r" },
      { op = "enable", arg = "nfs-server.service", reason = "r" },
      { op = "uninstall", arg = "vpp-lib", reason = "r" },
      { op = "run-command", arg = "crudini --del f U K", needs = { "crudini" }, reason = "r" },
      { op = "install", arg = "/root/rpms/*.rpm", reason = "r" },
      { op = "enable", arg = "../x", reason = "r" },
      { op = "write", arg = "/etc/y", content = "y", mode = "999", reason = "r" },
    }
    local out, skipped = customize.image_ops({ files = {}, tmp_dir = "/nonexistent" }, list)
    t.expect(out[1]).to_equal({ op = "write", path = "/etc/x", content = "x\n", mode = 493 })
    t.expect(out[2]).to_equal({ op = "mkdir", path = "/glance", mode = 511 })
    t.expect(out[3]).to_equal({ op = "symlink", path = "/etc/systemd/system/multi-user.target.wants/nfs-server.service",
      target = "/usr/lib/systemd/system/nfs-server.service" })
    t.expect(out[4].command).to_contain("/usr/bin/yum -y remove vpp-lib;")
    t.expect(out[5].command).to_contain("command -v crudini >/dev/null 2>&1 || { echo 'the image lacks crudini, which run-command")
    t.expect(out[5].command).to_match("; crudini %-%-del f U K$")
    t.expect(out[6].command).to_contain("/usr/bin/yum -y install /root/rpms/*.rpm;")
    t.expect(#out).to_be(6)
    t.expect(#skipped).to_be(2)
    t.expect(skipped[2].why).to_contain("not an octal permission mode")
  end)
  t.it("a later owner replaces or drops a group by id", function()
    local list = {}
    customize.merge(list, "base", base.overcloud_customize(ctx({}, { network = { https_proxy = "http://p:3128" } })))
    local n = #list
    local changes = customize.merge(list, "my_sdn", {
      { op = "drop", arg = "dhcp-interface-unit", reason = "my image has no such unit" },
      { id = "nfs", op = "install", arg = "nfs-utils", reason = "NFS without exportfs" },
      { op = "drop", arg = "nope", reason = "r" },
    })
    t.expect(#list).to_be(n - 1 - 8 + 1)
    t.expect(list[#list].owner).to_be("my_sdn")
    t.expect(list[1].owner).to_be("base")
    t.expect(changes[1]).to_contain("my_sdn drops dhcp-interface-unit of base (1 operations)")
    t.expect(changes[2]).to_contain("my_sdn replaces nfs of base (8 operations)")
    t.expect(changes[3]).to_contain("no such customization")
    for _, c in ipairs(list) do t.expect(c.id ~= "dhcp-interface-unit").to_be(true) end
  end)
  t.it("the owners: base, dataplane, then the plugins; shapes are checked", function()
    local owners = plugins.customizers({ plugins.load("opendaylight", "test") })
    t.expect(owners[1].name .. "," .. owners[2].name .. "," .. owners[3].name).to_be("base,dataplane,opendaylight")
    local fake = { name = "fake", origin = "test", overcloud_customize = function()
      return { { op = "write", arg = "/x", content = "x", mode = 755, reason = "r" } }
    end }
    t.expect(function() plugins.call(fake, "overcloud_customize", {}) end).to_fail("[1].mode: expected a string")
    fake.overcloud_customize = function() return { { op = "write", arg = "/x", mode = "755x", reason = "r" } } end
    t.expect(function() plugins.call(fake, "overcloud_customize", {}) end).to_fail('octal permission mode such as "0755"')
    fake.overcloud_customize = function() return { { op = "run-command", arg = "x", needs = "crudini", reason = "r" } } end
    t.expect(function() plugins.call(fake, "overcloud_customize", {}) end).to_fail("[1].needs: expected a list of strings")
  end)
end)
