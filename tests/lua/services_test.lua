-- apex.services: the services a deploy enables from the release's facts, and
-- the images they keep.
local t = require("apex.test")

t.describe("apex.services", function()
  local services = require("apex.services")
  local tht = require("apex.tht")
  local P = services.PREFIX

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
