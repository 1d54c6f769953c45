-- apex.services: the services a deploy enables from the release's facts, and
-- the images they keep.
local t = require("apex.test")

t.describe("apex.services", function()
  local services = require("apex.services")
  local tht = require("apex.tht")
  local P = services.PREFIX
  local util = require("apex.util")

  t.it("roles deployed, then the registry layers in order; a later file wins", function()
    local stein = tht.release("master")
    local roles = services.release_roles(stein)
    t.expect(roles[1].name).to_be("Controller")
    t.expect(roles[1].services).to_contain(services.CEPH_OSD)
    local function on(rel, counts, files)
      local layers = { services.default_layer(rel) }
      for _, f in ipairs(files) do layers[#layers + 1] = assert(services.env_layer(rel, f), f) end
      return services.enabled(services.release_roles(rel), counts, layers)
    end
    local e = on(stein, { Controller = 1, Compute = 1 }, { "docker-ha.yaml" })
    t.expect(e[P .. "Keystone"]).to_be("Controller")
    t.expect(e[P .. "NovaCompute"]).to_be("Compute")
    assert(not e[P .. "NeutronOvsAgent"] and not e[P .. "CephOSD"], "off in Stein's default registry")
    e = on(stein, { Controller = 1, Compute = 0 }, { "services/neutron-ovs.yaml", "storage-environment.yaml" })
    assert(e[P .. "NeutronOvsAgent"] and e[P .. "CephOSD"], "switched on by the env files")
    assert(not e[P .. "NovaCompute"], "no compute deployed")
    -- Queens: a service mapped to puppet/services runs no container.
    local queens = tht.release("queens")
    assert(not on(queens, {}, {})[P .. "Kernel"], "puppet/services: no container")
    assert(on(queens, {}, { "docker.yaml" })[P .. "Keystone"], "docker's container")
    t.expect(services.env_layer(stein, "no/such.yaml")).to_be(nil)
    -- apex's own text, with THT's duplicate-key habit tolerated.
    local l = services.text_layer("resource_registry:\n  OS::TripleO::Services::Zaqar: OS::Heat::None\n"
      .. "  OS::TripleO::Services::Tacker: ../docker/services/tacker.yaml\n", "x.yaml")
    t.expect(l).to_equal({ [P .. "Zaqar"] = false, [P .. "Tacker"] = true })
  end)

  t.it("a service only another neutron driver's images serve is a miss; a driver's variant is not", function()
    local images = require("apex.images")
    local stein = tht.release("master")
    local function misses(driver, files)
      local layers = { services.default_layer(stein) }
      for _, f in ipairs(files) do layers[#layers + 1] = assert(services.env_layer(stein, f), f) end
      local enabled = services.enabled(services.release_roles(stein), { Controller = 1, Compute = 1 }, layers)
      local candidates = images.image_set(driver, nil, "master")
      local _, kept = services.select(candidates, enabled, {}, false)
      local out = {}
      for _, m in ipairs(services.misses(enabled, candidates, images.others(driver, "master"), kept)) do
        out[#out + 1] = m.service:sub(#P + 1) .. "/" .. m.role .. "/" .. m.image
      end
      table.sort(out)
      return out
    end
    local function names(list)
      local out = {}
      for i, img in ipairs(list) do out[i] = img.name end
      return out
    end
    -- Another driver's variant of an image of the set is not another driver's service.
    local others = names(images.others(nil, "master"))
    t.expect(others).to_contain("ovn-controller")
    assert(not util.contains(others, "neutron-server-opendaylight") and not util.contains(others, "neutron-server-ovn"))
    assert(not util.contains(names(images.others("odl", "master")), "neutron-server"))
    -- Stein's THT as OPNFV Apex deploys master: OVN, whatever the SDN.
    t.expect(misses(nil, { "docker.yaml" })).to_equal({ "OVNController/Controller/ovn-controller",
      "OVNDBs/Controller/ovn-nb-db-server", "OVNMetadataAgent/Compute/neutron-metadata-agent-ovn" })
    t.expect(misses("odl", { "docker.yaml", "services/neutron-opendaylight.yaml" }))
        .to_equal({ "OVNMetadataAgent/Compute/neutron-metadata-agent-ovn" })
    -- ML2/OVS first: nothing (neutron-server, the default driver's, is the ODL image's variant).
    t.expect(misses(nil, { "docker.yaml", tht.NEUTRON_OVS })).to_equal({})
    t.expect(misses("odl", { "docker.yaml", tht.NEUTRON_OVS, "services/neutron-opendaylight.yaml" })).to_equal({})
    t.expect(misses("ovn", { "docker.yaml", "services/neutron-ovn-ha.yaml" })).to_equal({})
    -- A candidate an enabled service uses, not mirrored: named by its first enabled service.
    local img = { name = "keystone", params = { "DockerKeystoneImage" }, drivers = { "all" }, services = { P .. "Keystone" } }
    local m = services.misses({ [P .. "Keystone"] = "Controller" }, { img }, {}, {})
    t.expect(m).to_equal({ { service = P .. "Keystone", role = "Controller", image = "keystone", drivers = { "all" },
      other = false } })
    t.expect(services.miss_line(m[1], "/srv/tht")).to_contain("which apex did not mirror")
  end)

  t.it("keeps the images of enabled services, the named ones, or all", function()
    local img = function(n, s) return { name = n, params = {}, drivers = { "all" }, services = { P .. s } } end
    local list = { img("keystone", "Keystone"), img("zaqar-wsgi", "Zaqar"), img("opendaylight", "OpenDaylightApi") }
    local set, kept = services.select(list, { [P .. "Keystone"] = "Controller" }, { opendaylight = "patched" }, false)
    t.expect(#set).to_be(2)
    t.expect(kept).to_equal({ keystone = "service " .. P .. "Keystone", opendaylight = "patched" })
    set = services.select(list, {}, {}, true)
    t.expect(#set).to_be(3)
  end)
end)
