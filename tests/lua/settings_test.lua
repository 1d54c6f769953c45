-- apex.settings: defaults, validation messages, the keys Apex accepts, patch names.
local t = require("apex.test")

-- tests/data/deploy beside this file's directory, wherever the run starts.
local here = debug.getinfo(1, "S").source:gsub("^@", ""):match("^(.*)/[^/]*$") or "."
local DATA = here .. "/../data/deploy/"
local ID = "I2e0a40d7902f592e4b7bd727f57048111e0bea36"

t.describe("apex.settings", function()
  t.it("defaults, validation messages", function()
    local settings = require("apex.settings")

    local s = settings.validate_deploy({ global_params = { ha_enabled = true }, deploy_options = {} }, "x.yaml")
    local o = s.deploy_options
    assert(o.containers == true and o.os_version == "master" and o.odl_version == "oxygen")
    assert(o.dataplane == "ovs" and o.ceph == true and o.ceph_device == "/dev/loop3" and o.vim == "openstack")
    assert(o.sdn_controller == false and o.sriov == false and o.sfc == false and o.tacker == false)
    assert(#s.global_params.patches.overcloud == 0 and #s.global_params.patches.undercloud == 0)
    assert(s.global_params.gerrit_url == "https://review.opendev.org")

    local function err_of(raw)
      local ok, e = pcall(settings.validate_deploy, raw, "f.yaml")
      assert(not ok, "expected an error")
      return e
    end
    local e = err_of({ global_params = { ha_enabled = true }, deploy_options = { odl_version = "boron" } })
    assert(e:find("^f%.yaml: deploy_options%.odl_version") and e:find("carbon, nitrogen, oxygen, fluorine, neon, master", 1, true), e)
    e = err_of({ global_params = {}, deploy_options = {} })
    assert(e:find("ha_enabled: missing", 1, true), e)
    e = err_of({ global_params = { ha_enabled = true, patches = { overcloud = { { project = "p" } } } }, deploy_options = {} })
    assert(e:find("patches.overcloud[1]: missing change-id", 1, true), e)
    e = err_of({ global_params = { ha_enabled = true }, deploy_options = { performance = { Storage = {} } } })
    assert(e:find("performance.Storage: unknown role", 1, true), e)

    -- a relative diff is resolved against the settings file's directory
    s = settings.validate_deploy({ global_params = { ha_enabled = false, patches = { overcloud = {
      { ["change-id"] = "I0123456789abcdef0123456789abcdef01234567", project = "openstack/nova", diff = "a.diff" } } } },
      deploy_options = {} }, "/etc/apex/d.yaml")
    assert(s.global_params.patches.overcloud[1].diff == "/etc/apex/a.diff")

    -- Network settings are apex.network's (tests/lua/network_test.lua).
    local network = require("apex.network")
    local n = network.validate({ networks = { admin = { cidr = "10.0.0.0/24", installer_vm = { ip = "10.0.0.1" } } } },
      "n.yaml")
    assert(n.undercloud_ip == "10.0.0.1" and n.ntp[1] == "pool.ntp.org" and n.dns_nameservers[1] == "8.8.8.8")
    local ok, ne = pcall(network.validate, { networks = {} }, "n.yaml")
    assert(not ok and ne:find("networks.admin", 1, true), ne)
    local d = network.validate(require("apex.network_defaults"), "shipped")
    assert(d.undercloud_ip == "192.0.2.1")
  end)
end)

t.describe("apex.settings: what Apex accepts", function()
  local settings = require("apex.settings")

  t.it("keeps every key Apex accepts: introspect, ipxe, performance sets, legacy sdn_l3", function()
    local s = settings.load_deploy(DATA .. "apex_keys.yaml")
    local gp, o = s.global_params, s.deploy_options
    t.expect(gp.introspect).to_be(false)
    t.expect(gp.ipxe).to_be(false)
    t.expect(o.os_version).to_be("rocky")
    t.expect(o.odl_vpp_routing_node).to_be("overcloud-novacompute-0")
    t.expect(o.calipso).to_be(true)
    t.expect(o.sriov).to_be("em2")
    t.expect(o.sdn_l3).to_be(true)
    t.expect(o.performance.Compute.kernel.hugepages).to_be(2048)
    t.expect(o.performance.Compute.vpp["main-core"]).to_be(1)
    t.expect(#s.warnings).to_be(1)
    t.expect(s.warnings[1]).to_contain("apex_keys.yaml: deploy_options.sdn_l3: a legacy key")
    local oc = gp.patches.overcloud
    t.expect(gp.patches.undercloud[1]).to_equal({ ["change-id"] = ID, project = "openstack/tripleo-common" })
    t.expect(oc[1].branch).to_be("stable/rocky")
    t.expect(oc[2]["change-id"]).to_be("612345")
  end)

  t.it("introspect and ipxe default to true, as Apex reads them; no warnings", function()
    local s = settings.validate_deploy({ global_params = { ha_enabled = false }, deploy_options = {} }, "x.yaml")
    t.expect(s.global_params.introspect).to_be(true)
    t.expect(s.global_params.ipxe).to_be(true)
    t.expect(s.deploy_options.sdn_l3).to_be_nil()
    t.expect(#s.warnings).to_be(0)
  end)

  t.it("change-ids, projects and branches: Gerrit's forms only, errors name file and key", function()
    t.expect(function() settings.load_deploy(DATA .. "bad_change_id.yaml") end)
      .to_fail('bad_change_id.yaml: global_params.patches.overcloud[1].change-id: got "../../x" (valid: a Gerrit Change-Id')
    t.expect(function() settings.load_deploy(DATA .. "bad_project.yaml") end)
      .to_fail('bad_project.yaml: global_params.patches.undercloud[1].project: got "openstack/../../etc" (valid: a plain Gerrit name')
    t.expect(function() settings.load_deploy(DATA .. "bad_branch.yaml") end)
      .to_fail('bad_branch.yaml: global_params.patches.overcloud[1].branch: got "stable/rocky master"')

    for _, id in ipairs({ ID, "I2E0A40D7902F592E4B7BD727F57048111E0BEA36", "1", "612345" }) do
      t.expect(settings.change_id(id)).to_be(id)
    end
    t.expect(settings.change_id(612345)).to_be("612345")
    for _, id in ipairs({ "I1", "I111", ID .. "0", "i" .. ID:sub(2), "I2e0a40d7902f592e4b7bd727f57048111e0bea3g",
      "0", "012", "-1", "../../x", "I2e0a40d7902f592e4b7bd727f57048111e0bea36\n", "", "12 34" }) do
      t.expect(settings.change_id(id)).to_be_nil()
    end
    t.expect(settings.change_id(-3)).to_be_nil()
    t.expect(settings.change_id(1.5)).to_be_nil()
    for _, name in ipairs({ "openstack/nova", "openstack/puppet-tripleo", "x/networking-opencontrail",
      "stable/rocky", "master", "openstack/python-tripleoclient", "feature/ovs_2.9+dpdk" }) do
      t.expect(settings.gerrit_name(name)).to_be(true)
    end
    for _, name in ipairs({ "", "/openstack/nova", "openstack/nova/", "openstack//nova", "openstack/../nova", "..",
      "openstack/.hidden", "open stack/nova", "openstack/nova\n", "openstack\tnova", "nova~master",
      "nova?x=1", "nova#x", "nova%2F..", "-rf", "openstack\\nova" }) do
      t.expect(settings.gerrit_name(name)).to_be(false)
    end
    t.expect(settings.gerrit_name(12)).to_be(false)

    local function bad(p)
      local ok, e = pcall(settings.validate_deploy,
        { global_params = { ha_enabled = true, patches = { overcloud = { p } } }, deploy_options = {} }, "f.yaml")
      assert(not ok, "expected an error")
      return tostring(e)
    end
    t.expect(bad({ ["change-id"] = ID, project = 7 })).to_contain("f.yaml: global_params.patches.overcloud[1].project: got 7")
    t.expect(bad({ ["change-id"] = true, project = "openstack/nova" })).to_contain("overcloud[1].change-id: got true")
    t.expect(bad({ ["change-id"] = ID, project = "openstack/nova", branch = "" })).to_contain("overcloud[1].branch")
    t.expect(bad({ ["change-id"] = ID, project = "openstack/nova", diff = "" })).to_contain("overcloud[1].diff")
    t.expect(bad({ ["change-id"] = ID, project = "openstack/nova", url = "x" }))
      .to_contain("overcloud[1].url: unknown key (valid: change-id, project, branch, diff)")
  end)

  t.it("keys Apex rejects stay errors", function()
    local function bad(gp, o)
      local ok, e = pcall(settings.validate_deploy, { global_params = gp, deploy_options = o }, "f.yaml")
      assert(not ok, "expected an error")
      return tostring(e)
    end
    local on = { ha_enabled = true }
    t.expect(bad(on, { sdn_l2 = true })).to_contain("f.yaml: deploy_options.sdn_l2: unknown deploy option")
    t.expect(bad(on, { sdn_l3 = "yes" })).to_contain("deploy_options.sdn_l3: invalid value")
    t.expect(bad(on, { dataplane = "dpdk" })).to_contain("deploy_options.dataplane")
    t.expect(bad(on, { sriov = true })).to_contain("deploy_options.sriov")
    -- Values that reach a shell or a device: only what they can be.
    t.expect(bad(on, { sriov = "eth9; x" })).to_contain("deploy_options.sriov: invalid value")
    t.expect(bad(on, { ceph_device = "/dev/sdb; reboot" })).to_contain("deploy_options.ceph_device: invalid value")
    t.expect(bad(on, { ceph_device = "/dev/../etc/passwd" })).to_contain("a block device path")
    t.expect(bad(on, { performance = { Compute = { kernel = { hugepagesz = "2M; reboot" } } } }))
      .to_contain("deploy_options.performance.Compute.kernel.hugepagesz: got \"2M; reboot\" (valid: a kernel parameter")
    t.expect(bad(on, { performance = "fast" })).to_contain("deploy_options.performance")
    t.expect(bad(on, { performance = { Controller = { kernel = "x" } } }))
      .to_contain("deploy_options.performance.Controller.kernel: expected a mapping of settings")
    t.expect(bad(on, { performance = { Controller = { cpu = {} } } }))
      .to_contain("deploy_options.performance.Controller.cpu: unknown option (valid: kernel, nova, vpp, ovs)")
    t.expect(bad({ ha_enabled = true, introspect = "no" }, {})).to_contain("f.yaml: global_params.introspect: got \"no\" (valid: true, false)")
    t.expect(bad({ ha_enabled = true, ipxe = 1 }, {})).to_contain("f.yaml: global_params.ipxe: got 1")
    t.expect(bad({ ha_enabled = true, ha = 3 }, {}))
      .to_contain("global_params.ha: unknown key (valid: ha_enabled, patches, introspect, ipxe, gerrit_url, source_registry)")
    t.expect(bad({ ha_enabled = true, patches = { overcloud = {}, both = {} } }, {}))
      .to_contain("global_params.patches.both: unknown key (valid: undercloud, overcloud)")
  end)
end)

t.describe("core.data.array", function()
  t.it("an empty marked list is written as [], an empty table as {}", function()
    local core = require("apex.core")
    assert(core.json.dump({ list = core.data.array(), map = {} }) == '{"list":[],"map":{}}')
    assert(core.yaml.dump({ steps = core.data.array() }):find("steps: []", 1, true))
    local t = { 1, 2 }
    assert(core.data.array(t) == t and core.json.dump(t) == "[1,2]", "marks the table it is given")
    local back = core.json.load({ text = core.json.dump({ l = core.data.array() }) })
    assert(core.json.dump(back) == '{"l":[]}', "a list read back stays a list")
  end)
end)
