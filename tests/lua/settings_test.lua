-- apex.settings: defaults, validation messages.
local t = require("apex.test")

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
      { ["change-id"] = "I1", project = "openstack/nova", diff = "a.diff" } } } }, deploy_options = {} }, "/etc/apex/d.yaml")
    assert(s.global_params.patches.overcloud[1].diff == "/etc/apex/a.diff")

    local n = settings.validate_network({ networks = { admin = { installer_vm = { ip = "10.0.0.1" } } } }, "n.yaml")
    assert(n.undercloud_ip == "10.0.0.1" and n.ntp[1] == "pool.ntp.org" and n.dns_nameservers[1] == "8.8.8.8")
    local ok, ne = pcall(settings.validate_network, { networks = {} }, "n.yaml")
    assert(not ok and ne:find("networks.admin.installer_vm", 1, true), ne)
    local d = settings.validate_network(require("apex.network_defaults"), "shipped")
    assert(d.undercloud_ip == "192.0.2.1")
  end)
end)

t.describe("core.array", function()
  t.it("an empty marked list is written as [], an empty table as {}", function()
    local core = require("apex.core")
    assert(core.json_dump({ list = core.array(), map = {} }) == '{"list":[],"map":{}}')
    assert(core.yaml_dump({ steps = core.array() }):find("steps: []", 1, true))
    local t = { 1, 2 }
    assert(core.array(t) == t and core.json_dump(t) == "[1,2]", "marks the table it is given")
    local back = core.json_load({ text = core.json_dump({ l = core.array() }) })
    assert(core.json_dump(back) == '{"l":[]}', "a list read back stays a list")
  end)
end)
