-- apex.preflight: the file names TripleO's rendering gives, the SSH round's
-- answer, and the misses named with the env file that wants them.
local t = require("apex.test")

t.describe("apex.preflight", function()
  local pf = require("apex.preflight")

  t.it("renders names as process-templates.py does", function()
    local names = pf.rendered({
      "puppet/role.role.j2.yaml",
      "network/config/single-nic-vlans/role.role.j2.yaml",
      "network/ports/port.network.j2.yaml",
      "network/network.network.j2.yaml",
      "environments/network-isolation.j2.yaml",
      "environments/docker.yaml",
    }, { { name = "Controller" }, { name = "ComputeOvsDpdk", deprecated_nic_config_name = "compute-dpdk.yaml" } },
      { { name = "External" }, { name = "InternalApi", name_lower = "internal_api" }, { name = "Off", enabled = false } })
    for _, want in ipairs({ "puppet/controller-role.yaml", "puppet/computeovsdpdk-role.yaml",
      "network/config/single-nic-vlans/controller.yaml", "network/config/single-nic-vlans/compute-dpdk.yaml",
      "network/ports/external.yaml", "network/ports/internal_api.yaml", "network/external.yaml",
      "network/internal_api.yaml", "environments/network-isolation.yaml", "environments/docker.yaml" }) do
      assert(names[want], "not rendered: " .. want)
    end
    assert(not names["network/ports/off.yaml"], "a disabled network is not rendered")
    assert(not names["puppet/role.role.j2.yaml"] and not names["environments/network-isolation.j2.yaml"])
  end)

  t.it("names a missing file with the env file and the feature that wants it", function()
    local tht = "/usr/share/openstack-tripleo-heat-templates"
    local o = {
      tht_dir = tht, work_dir = "/home/stack/apex", registry = "10.0.0.1:8787",
      env_files = {
        { path = "network-environment.yaml", reason = "network settings", ["local"] = true },
        { path = tht .. "/environments/docker.yaml", reason = "containerized overcloud" },
        { path = tht .. "/environments/storage-environment.yaml", reason = "ceph: true" },
      },
      files = {
        ["network-environment.yaml"] = "resource_registry:\n  OS::TripleO::Network::External: " .. tht
            .. "/network/external.yaml\n  OS::TripleO::Compute::Net::SoftwareConfig: nics/compute.yaml\n",
        ["storage-environment.yaml"] = "resource_registry:\n  OS::TripleO::Services::CephMon: "
            .. "../deployment/ceph-ansible/ceph-mon.yaml\nparameter_defaults:\n  DockerCephDaemonImage: "
            .. "10.0.0.1:8787/ceph/daemon:v3\n  Other: docker.io/x:1\n",
      },
      shipped = { [tht .. "/environments/storage-environment.yaml"] = "storage-environment.yaml" },
    }
    local p = pf.prepare(o)
    t.expect(p.read).to_contain("environments/docker.yaml")
    t.expect(p.read).to_contain("network_data.yaml")
    t.expect(p.test).to_equal({ "/home/stack/apex/network-environment.yaml", "/home/stack/apex/nics/compute.yaml" })
    t.expect(p.images).to_equal({ ["10.0.0.1:8787/ceph/daemon:v3"] = tht
      .. "/environments/storage-environment.yaml: DockerCephDaemonImage" })
    local answer = pf.parse(table.concat({
      pf.MARK .. "listing", "./network/network.network.j2.yaml", "./environments/docker.yaml",
      "./environments/storage-environment.yaml", "./docker/services/ceph-ansible/ceph-mon.yaml",
      pf.MARK .. "file roles_data.yaml", "- name: Controller",
      pf.MARK .. "file j2_excludes.yaml", pf.MARK .. "missing",
      pf.MARK .. "file network_data.yaml", "- name: External",
      pf.MARK .. "file environments/docker.yaml", "resource_registry:",
      "  OS::TripleO::Services::Docker: ../docker/services/docker.yaml", "  OS::TripleO::X: OS::Heat::None",
      pf.MARK .. "exists /home/stack/apex/network-environment.yaml",
      pf.MARK .. "exists /home/stack/apex/nics/compute.yaml",
    }, "\n"))
    t.expect(answer.files["j2_excludes.yaml"]).to_be(false)
    local misses, checked = pf.evaluate(o, p, answer)
    t.expect(checked).to_be(7)
    t.expect(misses).to_equal({
      tht .. "/docker/services/docker.yaml: not found (resource_registry of " .. tht
          .. "/environments/docker.yaml (containerized overcloud): OS::TripleO::Services::Docker)",
      tht .. "/deployment/ceph-ansible/ceph-mon.yaml: not found (resource_registry of " .. tht
          .. "/environments/storage-environment.yaml (ceph: true): OS::TripleO::Services::CephMon)",
    })
  end)

  t.it("names a service the undercloud's THT enables whose image was not mirrored", function()
    local tht = "/srv/tht"
    local img = function(name, services) return { name = name, params = {}, drivers = { "all" }, services = services } end
    local o = {
      tht_dir = tht, work_dir = "/home/stack/apex", registry = "10.0.0.1:8787",
      env_files = {
        { path = "opnfv-environment.yaml", reason = "operator's environment", ["local"] = true },
        { path = tht .. "/environments/services/x.yaml", reason = "deploy_options.x" },
      },
      files = { ["opnfv-environment.yaml"] = "resource_registry:\n  OS::TripleO::Services::Zaqar: OS::Heat::None\n" },
      shipped = {},
      services = {
        candidates = { img("keystone", { "OS::TripleO::Services::Keystone" }), img("zaqar", { "OS::TripleO::Services::Zaqar" }),
          img("congress-api", { "OS::TripleO::Services::Congress" }), img("heat-api", { "OS::TripleO::Services::HeatApi" }),
          img("nova-compute", { "OS::TripleO::Services::NovaCompute" }) },
        mirrored = { keystone = "service OS::TripleO::Services::Keystone" },
        counts = { Controller = 1, Compute = 0 },
      },
    }
    local p = pf.prepare(o)
    t.expect(p.read).to_contain(pf.REGISTRY)
    local answer = pf.parse(table.concat({
      pf.MARK .. "listing", "./environments/services/x.yaml", "./docker/services/congress.yaml",
      pf.MARK .. "file roles_data.yaml", "- name: Controller", "  CountDefault: 1", "  ServicesDefault:",
      "    - OS::TripleO::Services::Keystone", "    - OS::TripleO::Services::Zaqar", "    - OS::TripleO::Services::Congress",
      "    - OS::TripleO::Services::HeatApi",
      "- name: Compute", "  CountDefault: 1", "  ServicesDefault:", "    - OS::TripleO::Services::NovaCompute",
      pf.MARK .. "file " .. pf.REGISTRY, "resource_registry:", "  OS::TripleO::Services::Congress: OS::Heat::None",
      "  OS::TripleO::Services::HeatApi: puppet/services/heat-api.yaml", "{% for role in roles %}",
      "  OS::TripleO::{{role.name}}: puppet/role.yaml", "{% endfor %}",
      pf.MARK .. "file environments/services/x.yaml", "resource_registry:",
      "  OS::TripleO::Services::Congress: ../../docker/services/congress.yaml",
      pf.MARK .. "exists /home/stack/apex/opnfv-environment.yaml",
    }, "\n"))
    local misses = pf.evaluate(o, p, answer)
    t.expect(misses).to_equal({ "service OS::TripleO::Services::Congress (role Controller, enabled in /srv/tht) uses "
      .. "image centos-binary-congress-api, which apex did not mirror: the deploy would pull it from outside (set "
      .. "registries.mirror_all in the site settings to mirror every image)" })
    -- A service only another driver's image serves, enabled on the undercloud: named too.
    o.services.others = { img("ovn-controller", { "OS::TripleO::Services::OVNController" }) }
    o.services.others[1].drivers = { "ovn" }
    o.services.driver = "odl"
    local text = answer.files["roles_data.yaml"]
    answer.files["roles_data.yaml"] = text:gsub("    %- OS::TripleO::Services::HeatApi",
      "%0\n    - OS::TripleO::Services::OVNController")
    t.expect(pf.evaluate(o, p, answer)[2]).to_be("service OS::TripleO::Services::OVNController (role Controller, "
      .. "enabled in /srv/tht) uses image centos-binary-ovn-controller, which is in the image list of neutron driver "
      .. "ovn only, not of this deploy's (odl): apex does not mirror it and the deploy would pull it from outside (an "
      .. "env file must map the service to OS::Heat::None)")
    answer.files["roles_data.yaml"] = text
    o.services.others, o.services.driver = nil, nil
    -- Zaqar off in apex's env file, HeatApi not containerized, Compute not deployed.
    -- Without the service check (mirror_all), nothing is missed.
    o.services = nil
    t.expect(pf.evaluate(o, pf.prepare(o), answer)).to_equal({})
  end)
end)
