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

t.describe("plugin options and kinds", function()
  local plugins = require("apex.plugins")
  local settings = require("apex.settings")

  t.it("a plugin declares its options; apex validates and defaults them", function()
    local opts = plugins.options({})
    t.expect(opts.odl_version.owner).to_be("opendaylight")
    t.expect(opts.odl_version.default).to_be("oxygen")
    local s = settings.validate_deploy({ global_params = { ha_enabled = false }, deploy_options = {} }, "d.yaml")
    t.expect(s.deploy_options.odl_version).to_be("oxygen")
    t.expect(s.deploy_options.odl_vpp_netvirt).to_be(false)
    t.expect(function()
      settings.validate_deploy({ global_params = { ha_enabled = false }, deploy_options = { odl_version = "x" } }, "d.yaml")
    end).to_fail("d.yaml: deploy_options.odl_version: invalid value \"x\" (valid: carbon, nitrogen, oxygen, fluorine, neon, master)")
    t.expect(function()
      settings.validate_deploy({ global_params = { ha_enabled = false }, deploy_options = { odl_vpp_netvirt = "yes" } }, "d.yaml")
    end).to_fail("deploy_options.odl_vpp_netvirt: invalid value \"yes\" (valid: true, false)")
    -- A plugin cannot redeclare a core option.
    t.expect(function() plugins.options({ odl_version = {} }) end)
      .to_fail("options.odl_version: already declared by apex.settings")
  end)

  t.it("a wrong declaration names the plugin, the option and the field", function()
    local function bad(options) return function() plugins.check_options("p", "p.lua", options) end end
    t.expect(bad({ x = { type = "float", description = "d" } })).to_fail("plugin p (p.lua): options.x.type: got \"float\"")
    t.expect(bad({ x = { type = "string" } })).to_fail("options.x.description: expected a string")
    t.expect(bad({ x = { type = "string", description = "d", default = "c", valid = { "a", "b" } } }))
      .to_fail("options.x.default: \"c\" is not a valid value")
    t.expect(bad({ x = { type = "integer", description = "d", valid = { 1.5 } } })).to_fail("options.x.valid[1]")
    t.expect(bad({ x = { type = "boolean", description = "d", dflt = true } })).to_fail("unknown field")
    plugins.check_options("p", "p.lua", { x = { type = "integer", description = "d", default = 2, valid = { 1, 2 } } })
  end)

  t.it("kind: sdn_controller names only SDN plugins; the one false selects is no choice", function()
    t.expect(plugins.sdn_choices()).to_equal({ "onos", "opendaylight", "ovn" })
    t.expect(function()
      plugins.enabled(settings.validate_deploy({ global_params = { ha_enabled = false },
        deploy_options = { sdn_controller = "ceph" } }, "d.yaml"))
    end).to_fail("d.yaml: deploy_options.sdn_controller: plugin ceph is a storage plugin, not an SDN controller")
  end)
end)

t.describe("structured customization arguments", function()
  local plugins = require("apex.plugins")
  t.it("file and dest of upload/unpack/patch become the flow's arg; misuse names the field", function()
    local fake = { name = "fake", origin = "test", overcloud_customize = function()
      return { { op = "unpack", file = "a.tar", dest = "/root/", reason = "r" }, { op = "install", arg = "x", reason = "r" } }
    end }
    local out = plugins.call(fake, "overcloud_customize", {})
    t.expect(out[1].arg).to_be("a.tar:/root/")
    t.expect(out[1].file).to_be_nil()
    t.expect(out[2].arg).to_be("x")
    fake.overcloud_customize = function() return { { op = "install", file = "a.rpm", dest = "/x", reason = "r" } } end
    t.expect(function() plugins.call(fake, "overcloud_customize", {}) end)
      .to_fail("[1].file: expected file and dest only with op upload, unpack, patch")
    fake.overcloud_customize = function() return { { op = "upload", file = "a:b", dest = "/x", reason = "r" } } end
    t.expect(function() plugins.call(fake, "overcloud_customize", {}) end).to_fail("[1].file: expected a non-empty string without ':'")
  end)
end)
