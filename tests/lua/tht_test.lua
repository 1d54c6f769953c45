-- apex.tht: env file order, scales, deploy command.
local t = require("apex.test")

t.describe("apex.tht", function()
  t.it("env file order, scales, deploy command", function()
    local tht = require("apex.tht")
    local E = tht.ENV_DIR .. "/"

    local files = tht.env_files({
      ha = true,
      options = { tacker = true, barometer = true, vim = "k8s" },
      sdn = { { path = "services/neutron-opendaylight.yaml", reason = "odl" } },
      storage = { { path = "storage-environment.yaml", reason = "ceph" } },
      virtual = false,
    })
    local paths = {}
    for i, f in ipairs(files) do paths[i] = f.path end
    local want = {
      "network-environment.yaml", E .. "docker.yaml", E .. "docker-ha.yaml", "opnfv-environment.yaml", "docker-images.yaml",
      E .. "services/neutron-opendaylight.yaml", E .. "services/tacker.yaml", E .. "services/barometer.yaml",
      E .. "storage-environment.yaml", "kubernetes-environment.yaml", "baremetal-environment.yaml",
    }
    assert(table.concat(paths, " ") == table.concat(want, " "), table.concat(paths, " "))

    local s = tht.scales(false, nil)
    assert(s.control == 1 and s.compute == 1 and s.source == "defaults")
    s = tht.scales(true, nil)
    assert(s.control == 3)
    s = tht.scales(false, { nodes = {
      a = { capabilities = "profile:control" }, b = { capabilities = "profile:control" },
      c = { capabilities = "profile:compute" }, d = { capabilities = "profile:compute" } } })
    assert(s.control == 1 and s.compute == 2 and s.source == "inventory")

    local cmd, args = tht.deploy_command({ env_files = files, ntp = "ntp.x", scales = s, libvirt_type = "kvm" })
    assert(cmd:find("^openstack overcloud deploy %-%-templates"))
    assert(cmd:find("--ntp-server ntp.x --control-scale 1 --compute-scale 2", 1, true), cmd)
    assert(args[#args] == "kvm")
  end)
end)

t.describe("apex.tht: the release's THT", function()
  t.it("a feature the release lacks is refused, naming it and the release; Stein's ODL file comes fixed", function()
    local tht = require("apex.tht")
    local function files(options)
      return tht.env_files({ ha = false, options = options, sdn = { { path = "services/neutron-opendaylight.yaml", reason = "odl" } },
        storage = { { path = "storage-environment.yaml", reason = "ceph" } }, virtual = true })
    end
    local with = files({ congress = true })
    local ok, err = pcall(tht.check_release, with, tht.release("master"), "master", { ["storage-environment.yaml"] = "x" })
    assert(not ok, "congress on master planned")
    t.expect(err).to_contain("deploy_options.congress needs environments/services/congress.yaml, which "
      .. "tripleo-heat-templates 10.6.2 (stein; os_version master) does not have")
    tht.check_release(with, tht.release("queens"), "queens", {})
    tht.check_release(files({}), tht.release("stein"), "stein", {})
    ok, err = pcall(tht.release, "pike")
    assert(not ok and err:find("os_version: pike", 1, true), err)

    t.expect(tht.release("queens").storage_registry["OS::TripleO::Services::CephMon"])
        .to_be("../docker/services/ceph-ansible/ceph-mon.yaml")
    t.expect(tht.release("master").storage_registry["OS::TripleO::Services::CephMon"])
        .to_be("../deployment/ceph-ansible/ceph-mon.yaml")
    local fixed = tht.fixed_files(files({}), tht.release("master"))
    t.expect(fixed["neutron-opendaylight.yaml"])
        .to_contain("../../deployment/deprecated/opendaylight/opendaylight-ovs-baremetal-puppet.yaml")
    t.expect(tht.fixed_files(files({}), tht.release("rocky"))).to_equal({})
  end)
end)

t.describe("apex.tht: neutron on a release defaulting to OVN", function()
  t.it("ML2/OVS before the SDN files for every driver but OVN, on Stein's THT only", function()
    local tht = require("apex.tht")
    t.expect(tht.release("master").ml2_default).to_be("ovn")
    t.expect(tht.release("rocky").ml2_default).to_be("openvswitch")
    t.expect(tht.release("queens").ml2_default).to_be("openvswitch")
    for _, driver in ipairs({ false, "odl" }) do
      local n = tht.neutron_files(tht.release("master"), driver or nil)
      t.expect(#n).to_be(1)
      t.expect(n[1].path).to_be(tht.NEUTRON_OVS)
      t.expect(n[1].reason).to_contain("stein's THT defaults to OVN")
      t.expect(tht.release("master").env_files).to_contain(n[1].path)
      t.expect(tht.neutron_files(tht.release("rocky"), driver or nil)).to_equal({})
    end
    t.expect(tht.neutron_files(tht.release("stein"), "ovn")).to_equal({})
    -- After the image env file, before the SDN's own files.
    local files = tht.env_files({ ha = false, options = {}, neutron = tht.neutron_files(tht.release("master"), "odl"),
      sdn = { { path = "services/neutron-opendaylight.yaml", reason = "odl" } }, storage = {}, virtual = true })
    t.expect(files[4].path).to_be("docker-images.yaml")
    t.expect(files[5].path).to_be(tht.ENV_DIR .. "/" .. tht.NEUTRON_OVS)
    t.expect(files[6].path).to_be(tht.ENV_DIR .. "/services/neutron-opendaylight.yaml")
  end)
end)
