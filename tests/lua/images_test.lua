-- apex.images: the shipped set per driver, refs, the image env file.
local t = require("apex.test")

t.describe("apex.images", function()
  t.it("the shipped set per driver, refs, the image env file", function()
    local images = require("apex.images")

    local function names(set)
      local out = {}
      for _, i in ipairs(set) do out[i.name] = true end
      return out
    end
    local default, odl, ovn = names(images.image_set(nil)), names(images.image_set("odl")), names(images.image_set("ovn"))
    assert(default["neutron-server"] and not default["neutron-server-opendaylight"] and not default["opendaylight"])
    assert(odl["neutron-server-opendaylight"] and odl["opendaylight"] and not odl["neutron-server"])
    assert(ovn["neutron-server-ovn"] and ovn["ovn-controller"] and not ovn["opendaylight"])
    for n in pairs(default) do
      assert(n:match("^[a-z][a-z0-9-]*$") and n ~= "daemon", "bad shipped name " .. n)
    end
    assert(names(images.image_set(nil, { keystone = true })).keystone)
    assert(not names(images.image_set(nil, { keystone = true }))["nova-api"])

    local p = images.project_images("nova", { "nova-api", "novajoin-server", "nova-compute", "neutron-server" })
    assert(#p == 2 and p[1] == "nova-api" and p[2] == "nova-compute")

    local site = { upstream = "docker.io/tripleomaster", local_registry = "1.2.3.4:8787", namespace = "tripleomaster" }
    local r = images.ref(site, "keystone")
    assert(r.from == "docker.io/tripleomaster/centos-binary-keystone:current-tripleo")
    assert(r.to == "1.2.3.4:8787/tripleomaster/centos-binary-keystone:current-tripleo")
    local env = images.env_file(site, images.image_set("ovn"), { keystone = true }, true).parameter_defaults
    assert(env.DockerKeystoneImage == "1.2.3.4:8787/tripleomaster/centos-binary-keystone:apex")
    assert(env.DockerNeutronConfigImage:find("neutron%-server%-ovn"), env.DockerNeutronConfigImage)
    assert(env.DockerCephDaemonImage == "1.2.3.4:8787/ceph/daemon:" .. images.CEPH.tag)
    assert(images.host_of("http://127.0.0.1:5000/x") == "127.0.0.1:5000")
    assert(images.repository(site, "nova-api") == "tripleomaster/centos-binary-nova-api")
    local h = images.history_tag("sha256:0123456789abcdef0123")
    assert(h == "apex-0123456789ab", h)
    assert(images.is_rebuild_tag(h) and images.is_rebuild_tag("apex"))
    assert(not images.is_rebuild_tag("apex-latest") and not images.is_rebuild_tag("current-tripleo"))
    assert(images.is_rebuild_tag("mine-0123456789ab", "mine") and not images.is_rebuild_tag(h, "mine"))
  end)
end)

t.describe("apex.images: the release's list", function()
  t.it("queens, rocky and stein from their own tripleo-common; master the spring-2019 list", function()
    local images = require("apex.images")
    local function names(os_version, driver)
      local out = {}
      for _, i in ipairs(images.image_set(driver, nil, os_version)) do out[i.name] = i end
      return out
    end
    local queens, stein, master = names("queens"), names("stein"), names("master")
    assert(queens["congress-api"] and queens.zaqar and not queens["zaqar-wsgi"], "queens: congress-api and zaqar")
    for _, n in ipairs({ "placement-api", "tripleoclient", "designate-api" }) do
      assert(not queens[n], "queens had no " .. n)
    end
    assert(stein["zaqar-wsgi"] and stein["placement-api"] and not stein["congress-api"], "stein's names")
    t.expect(queens["nova-api"].services).to_contain("OS::TripleO::Services::NovaApi")
    assert(master["zaqar-wsgi"] and master["tripleoclient"], "master: the old list")
    -- Master's services come from Stein's images sharing a THT parameter.
    t.expect(master["nova-api"].services).to_contain("OS::TripleO::Services::NovaApi")
    t.expect(master["zaqar-wsgi"].services).to_equal(stein["zaqar-wsgi"].services)
    local odl = names("rocky", "odl")
    assert(odl["neutron-server-opendaylight"] and odl.opendaylight and not odl["neutron-server"], "rocky odl set")
    t.expect(images.list_source("queens")).to_be("tripleo-common 8.7.1 (queens)")
  end)
end)
