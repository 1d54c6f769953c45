-- apex.patches: project paths, ops, promotion rule.
local t = require("apex.test")

t.describe("apex.patches", function()
  t.it("project paths, ops, promotion rule", function()
    local patches = require("apex.patches")
    local util = require("apex.util")

    local path, kind = patches.project_path("openstack/nova")
    assert(path == "/usr/lib/python2.7/site-packages" and kind == "python")
    path, kind = patches.project_path("openstack/puppet-tripleo")
    assert(path == "/etc/puppet/modules/tripleo" and kind == "puppet")
    path, kind = patches.project_path("openstack/tripleo-heat-templates")
    assert(path == "/usr/share/openstack-tripleo-heat-templates" and kind == "tht")
    assert(patches.branch({}, "master") == "master" and patches.branch({}, "queens") == "stable/queens")
    assert(patches.branch({ branch = "stable/rocky" }, "master") == "stable/rocky")

    local ops = patches.container_ops({ ["change-id"] = "I1" }, "/p")
    assert(ops[1] == "USER root" and ops[#ops] == "USER $REAL_USER")
    assert(util.contains(ops, "RUN yum -y install patch") and util.contains(ops, "RUN cd /p && patch -p1 < /tmp/apex-patches/I1.patch"))

    local merged = { status = "MERGED", submitted = util.utc_seconds("2019-01-01 10:00:00.000") }
    assert(patches.promoted(merged, util.utc_seconds("2019-02-01T00:00:00Z")))
    assert(not patches.promoted(merged, util.utc_seconds("2018-12-01T00:00:00Z")))
    assert(not patches.promoted(merged, nil))
    assert(not patches.promoted({ status = "NEW" }, util.utc_seconds("2019-02-01T00:00:00Z")))
    assert(util.utc_seconds("1970-01-02T00:00:01Z") == 86401)
  end)
end)
