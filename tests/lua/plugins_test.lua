-- apex.plugins and the shipped plugins: loading, shape checks, ODL rules, Ceph loop device.
local t = require("apex.test")

t.describe("apex.plugins and the shipped plugins", function()
  t.it("loading, shape checks, ODL rules, Ceph loop device", function()
    local plugins = require("apex.plugins")
    local settings = require("apex.settings")

    local shipped = 0
    for _, name in ipairs(plugins.available()) do
      shipped = shipped + 1
      local p = plugins.load(name, "test")
      assert(type(p.description) == "string" and p.description ~= "", name)
    end
    assert(shipped >= 5, "shipped plugins: " .. shipped)
    local ok, e = pcall(plugins.load, "nope", {}, "d.yaml: deploy_options.sdn_controller")
    assert(not ok and e:find('unknown plugin "nope"', 1, true) and e:find("opendaylight", 1, true), e)

    local fake = { name = "fake", origin = "test", env_files = function() return { { path = "x.yaml" } } end }
    ok, e = pcall(plugins.call, fake, "env_files", {})
    assert(not ok and e:find("hook env_files returned a wrong shape: [1].reason", 1, true), e)
    fake.patches = function() return { { image = "i", reason = "r", ops = "RUN x" } } end
    ok, e = pcall(plugins.call, fake, "patches", {})
    assert(not ok and e:find("[1].ops: expected a list of strings", 1, true), e)
    fake.images = function() return { driver = "odl", mirror = { "opendaylight", 3 } } end
    ok, e = pcall(plugins.call, fake, "images", {})
    assert(not ok and e:find("mirror[2]: expected a string", 1, true), e)

    local odl = plugins.load("opendaylight", "test")
    assert(odl.release("master") == "neon" and odl.release("oxygen") == "oxygen")
    local function ctx(opts)
      return { settings = settings.validate_deploy({ global_params = { ha_enabled = true }, deploy_options = opts }, "t") }
    end
    local envs = odl.env_files(ctx({ sdn_controller = "opendaylight", sfc = true, vpn = true, gluon = true, l2gw = true, sriov = "eth2" }))
    local want = { "services/neutron-opendaylight.yaml", "services/neutron-sfc-opendaylight.yaml",
      "services/neutron-bgpvpn-opendaylight.yaml", "gluon.yaml", "neutron-l2gw-opendaylight.yaml",
      "services/neutron-opendaylight-sriov.yaml" }
    for i, w in ipairs(want) do assert(envs[i].path == w, tostring(envs[i] and envs[i].path) .. " ~= " .. w) end
    envs = odl.env_files(ctx({ sdn_controller = "opendaylight", vpp = true, dataplane = "fdio", odl_vpp_netvirt = true }))
    assert(envs[2].path == "neutron-opendaylight-netvirt-vpp.yaml")
    local patch = odl.patches(ctx({ sdn_controller = "opendaylight", odl_version = "master" }))[1]
    assert(patch.image == "opendaylight")
    local text = table.concat(patch.ops, "\n")
    assert(text:find("RUN yum -y remove opendaylight", 1, true) and text:find("opendaylight-neon-epel", 1, true))

    local ceph = plugins.load("ceph", "test")
    local loops = ceph.loop_devices(ctx({}))
    assert(#loops == 1 and loops[1].device == "/dev/loop3" and loops[1].backing_file == "/srv/data.img" and loops[1].before[1] == "ceph-osd.target")
    assert(#ceph.loop_devices(ctx({ ceph_device = "/dev/sdb" })) == 0)

    local nosdn = plugins.load("nosdn", "test")
    envs = nosdn.env_files(ctx({ dataplane = "ovs_dpdk" }))
    assert(envs[1].path == "neutron-ovs-dpdk.yaml")
  end)
end)
