-- apex.patches: project paths, ops, promotion rule, stripping, common patches, offline fetching.
local t = require("apex.test")

local function util_keys(tbl) return require("apex.util").sorted_keys(tbl) end

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

-- tests/data/deploy beside this file's directory, wherever the run starts.
local here = debug.getinfo(1, "S").source:gsub("^@", ""):match("^(.*)/[^/]*$") or "."
local DATA = here .. "/../data/deploy/"

-- A typical nova change as Gerrit's /patch gives it (decoded): the commit
-- header, the fix, its unit test, a release note, and a docs change.
local NOVA_CHANGE = [[
From 0123456789abcdef0123456789abcdef01234567 Mon Sep 17 00:00:00 2001
From: A Developer <dev@example.org>
Date: Mon, 4 Mar 2019 10:00:00 +0000
Subject: [PATCH] Fix the retry count of the scheduler

The scheduler retried once more than configured.

Change-Id: I0123456789abcdef0123456789abcdef01234567
Closes-Bug: #1800000
---
 doc/source/admin/scheduling.rst                    |  2 +-
 nova/scheduler/manager.py                          |  2 +-
 nova/tests/unit/scheduler/test_manager.py          | 10 ++++++++++
 releasenotes/notes/fix-retries-0123456789abcdef.yaml |  4 ++++
 4 files changed, 16 insertions(+), 2 deletions(-)

diff --git a/doc/source/admin/scheduling.rst b/doc/source/admin/scheduling.rst
index 1111111..2222222 100644
--- a/doc/source/admin/scheduling.rst
+++ b/doc/source/admin/scheduling.rst
@@ -10,1 +10,1 @@
-retries once more
+retries as configured
diff --git a/nova/scheduler/manager.py b/nova/scheduler/manager.py
index 3333333..4444444 100644
--- a/nova/scheduler/manager.py
+++ b/nova/scheduler/manager.py
@@ -100,7 +100,7 @@ class SchedulerManager(manager.Manager):
     def _retries(self):
-        return CONF.scheduler.max_attempts + 1
+        return CONF.scheduler.max_attempts
 
diff --git a/nova/tests/unit/scheduler/test_manager.py b/nova/tests/unit/scheduler/test_manager.py
index 5555555..6666666 100644
--- a/nova/tests/unit/scheduler/test_manager.py
+++ b/nova/tests/unit/scheduler/test_manager.py
@@ -50,0 +51,10 @@ class SchedulerManagerTestCase(test.NoDBTestCase):
+    def test_retries(self):
+        self.flags(max_attempts=3, group='scheduler')
+        self.assertEqual(3, self.manager._retries())
diff --git a/releasenotes/notes/fix-retries-0123456789abcdef.yaml b/releasenotes/notes/fix-retries-0123456789abcdef.yaml
new file mode 100644
index 0000000..7777777
--- /dev/null
+++ b/releasenotes/notes/fix-retries-0123456789abcdef.yaml
@@ -0,0 +1,4 @@
+---
+fixes:
+  - |
+    The scheduler retries as configured.
-- 
2.20.1
]]

t.describe("apex.patches: strip", function()
  local patches = require("apex.patches")

  t.it("a nova change loses its unit test, release note and docs; the fix and the header stay", function()
    local diff, stripped = patches.strip(NOVA_CHANGE, "openstack/nova")
    t.expect(diff).to_contain("Subject: [PATCH] Fix the retry count of the scheduler")
    t.expect(diff).to_contain("diff --git a/nova/scheduler/manager.py b/nova/scheduler/manager.py")
    t.expect(diff).to_contain("+        return CONF.scheduler.max_attempts\n")
    t.expect(diff:find("diff --git a/nova/tests", 1, true)).to_be_nil()
    t.expect(diff:find("test_retries", 1, true)).to_be_nil()
    t.expect(diff:find("+fixes:", 1, true)).to_be_nil()
    t.expect(diff:find("diff --git a/doc/", 1, true)).to_be_nil()
    t.expect(diff:find("retries as configured\n", 1, true)).to_be_nil()
    t.expect(stripped).to_equal({
      "doc/source/admin/scheduling.rst (doc/ not installed)",
      "nova/tests/unit/scheduler/test_manager.py (tests)",
      "releasenotes/notes/fix-retries-0123456789abcdef.yaml (releasenotes)",
    })
    -- the kept sections are byte for byte the original's
    local manager = NOVA_CHANGE:match("(diff %-%-git a/nova/scheduler/manager%.py.-\n)diff ")
    t.expect(diff).to_contain(manager)
    t.expect(patches.is_empty(diff)).to_be(false)
  end)

  t.it("per kind: puppet spec/ and packaging, THT tools, tripleo-common's container part", function()
    local function section(path) return "diff --git a/" .. path .. " b/" .. path .. "\n--- a/" .. path .. "\n+++ b/"
        .. path .. "\n@@ -1 +1 @@\n-a\n+b\n" end
    local puppet = section("manifests/profile/base/neutron.pp") .. section("spec/classes/neutron_spec.rb")
        .. section("metadata.json") .. section("Gemfile")
    local diff, stripped = patches.strip(puppet, "openstack/puppet-tripleo")
    t.expect(diff).to_be(section("manifests/profile/base/neutron.pp") .. section("metadata.json"))
    t.expect(stripped).to_equal({ "spec/classes/neutron_spec.rb (spec/ not installed)", "Gemfile (top-level file, not installed)" })
    diff = patches.strip(section("environments/services/neutron-opendaylight.yaml") .. section("tools/yaml-validate.py")
      .. section("ci/environments/scenario007.yaml"), "openstack/tripleo-heat-templates")
    t.expect(diff).to_be(section("environments/services/neutron-opendaylight.yaml") .. section("ci/environments/scenario007.yaml"))
    diff = patches.strip(section("container-images/overcloud_containers.yaml.j2") .. section("tripleo_common/image/kolla_builder.py"),
      "openstack/tripleo-common")
    t.expect(diff).to_be(section("container-images/overcloud_containers.yaml.j2"))
  end)

  t.it("only tests: nothing left to apply; a plain diff without diff lines stays as it is", function()
    local only = "Subject: x\n---\ndiff --git a/nova/tests/a.py b/nova/tests/a.py\n--- a/nova/tests/a.py\n+++ b/nova/tests/a.py\n@@ -1 +1 @@\n-a\n+b\n"
    local diff, stripped = patches.strip(only, "openstack/nova")
    t.expect(diff).to_be("Subject: x\n---\n")
    t.expect(#stripped).to_be(1)
    t.expect(patches.is_empty(diff)).to_be(true)
    local plain = "--- a/nova/tests/x.py\n+++ b/nova/tests/x.py\n@@ -1 +1 @@\n-old\n+new\n"
    t.expect(patches.strip(plain, "openstack/nova")).to_be(plain)
    t.expect(patches.is_empty(plain)).to_be(false)
    t.expect(patches.strip("", "openstack/nova")).to_be("")
  end)
end)

t.describe("apex.patches: common patches", function()
  local patches = require("apex.patches")
  local settings = require("apex.settings")
  local ID_UC = "I2e0a40d7902f592e4b7bd727f57048111e0bea36"
  local ID_OC = "Ie988ba6a2d444a614e97c0edf5fce24b23970310"

  t.it("the shipped list: Apex's per release, every patch valid", function()
    local common = patches.shipped_common()
    t.expect(util_keys(common.releases)).to_equal({ "master", "queens", "rocky" })
    t.expect(#common.releases.master.undercloud).to_be(4)
    t.expect(#common.releases.master.overcloud).to_be(2)
    t.expect(common.releases.queens.undercloud[1]["change-id"]).to_be("I966bf7f6f8d1cbc656abfad59e8bb927e1aa53c2")
    t.expect(common.releases.rocky.overcloud[1].branch).to_be("master")
    t.expect(common.source).to_contain("common-patches.yaml")
  end)

  t.it("merged into the deploy's lists as Apex does: own first, each change once", function()
    local s = settings.load_deploy(DATA .. "queens-patches.yaml")
    local common = patches.load_patches_file(DATA .. "common-patches.yaml")
    local m = patches.merge_common(s.global_params.patches, "queens", common, s.source)
    t.expect(m.undercloud).to_equal({ { ["change-id"] = ID_UC, project = "openstack/tripleo-common" } })
    t.expect(m.overcloud).to_equal({
      { ["change-id"] = ID_OC, project = "openstack/puppet-tripleo" },
      { ["change-id"] = "I93e3d355625508fdc42f44bdd358f3ba86fbd8d7", project = "openstack/puppet-tripleo", branch = "master" },
    })
    t.expect(m.added).to_equal({ undercloud = 0, overcloud = 1 })
    t.expect(m.found).to_be(true)
    t.expect(m.wheres.overcloud[1]).to_contain("queens-patches.yaml: global_params.patches.overcloud[1]")
    t.expect(m.wheres.overcloud[2]).to_contain("common-patches.yaml: patches.queens.overcloud[1]")
    -- the input lists are left alone
    t.expect(#s.global_params.patches.overcloud).to_be(1)
    -- a change number from a YAML integer is a string like any change-id
    t.expect(patches.merge_common({ undercloud = {}, overcloud = {} }, "rocky", common).overcloud[1]["change-id"]).to_be("600123")
  end)

  t.it("shipped by default; a release without common patches adds none", function()
    local m = patches.merge_common({ undercloud = {}, overcloud = {} }, "master")
    t.expect(#m.undercloud).to_be(4)
    t.expect(m.added.overcloud).to_be(2)
    t.expect(m.wheres.undercloud[1]).to_contain("patches.master.undercloud[1]")
    m = patches.merge_common({ undercloud = {}, overcloud = { { ["change-id"] = ID_OC, project = "openstack/nova" } } }, "stein")
    t.expect(m.found).to_be(false)
    t.expect(#m.overcloud).to_be(1)
    t.expect(#m.undercloud).to_be(0)
  end)

  t.it("a bad patches file names the file and the key", function()
    t.expect(function() patches.load_patches_file(DATA .. "common-patches-bad.yaml") end)
      .to_fail('common-patches-bad.yaml: patches.queens.overcloud[2].project: got "../puppet-tripleo"')
    t.expect(function() patches.load_patches_file(DATA .. "common-patches-release.yaml") end)
      .to_fail("common-patches-release.yaml: patches.ocata: unknown release (valid: master, stein, rocky, queens, pike)")
    t.expect(function() patches.load_patches_file(DATA .. "queens-patches.yaml") end)
      .to_fail("queens-patches.yaml: patches: missing")
    t.expect(function() patches.validate_patches_file({ patches = { master = { overcloud = { { ["change-id"] = "I1", project = "p" } } } } }, "p.yaml") end)
      .to_fail('p.yaml: patches.master.overcloud[1].change-id: got "I1"')
    t.expect(function() patches.load_patches_file(DATA .. "nope.yaml") end).to_fail("nope.yaml: no such file")
  end)
end)

t.describe("apex.patches: fetching", function()
  local patches = require("apex.patches")
  local ID = "I2e0a40d7902f592e4b7bd727f57048111e0bea36"

  t.it("Gerrit ids: every part escaped; a change number alone", function()
    t.expect(patches.gerrit_id({ ["change-id"] = ID, project = "openstack/nova" }, "stable/rocky"))
      .to_be("openstack%2Fnova~stable%2Frocky~" .. ID)
    t.expect(patches.gerrit_id({ ["change-id"] = "612345", project = "openstack/nova" }, "master")).to_be("612345")
    t.expect(patches.urlquote("a b/../?x#%~")).to_be("a%20b%2F..%2F%3Fx%23%25%7E")
  end)

  t.it("plan mode (offline_ok): an unreachable Gerrit leaves patches unfetched; a real run fails naming the patch", function()
    local list = {
      { ["change-id"] = ID, project = "openstack/nova" },
      { ["change-id"] = "612345", project = "openstack/puppet-tripleo", branch = "stable/queens" },
    }
    local o = { gerrit_url = "http://127.0.0.1:1", os_version = "master", where = "d.yaml: global_params.patches.overcloud" }
    o.offline_ok = true
    local got = patches.fetch_all(list, o)
    t.expect(#got).to_be(2)
    for i, f in ipairs(got) do
      t.expect(f.patch).to_equal(list[i])
      t.expect(f.status).to_be("unfetched")
      t.expect(f.source).to_be("fetched at deploy")
      t.expect(f.diff).to_be_nil()
      t.expect(f.reason).to_contain("Connection refused")
    end
    t.expect(got[1].url).to_be("http://127.0.0.1:1/changes/openstack%2Fnova~master~" .. ID .. "?o=CURRENT_REVISION")
    t.expect(patches.promoted(got[1], os.time())).to_be(false)

    o.offline_ok = nil
    t.expect(function() patches.fetch_all(list, o) end)
      .to_fail("d.yaml: global_params.patches.overcloud[1]: Gerrit: cannot fetch change " .. ID .. " of openstack/nova (master)")
    o.wheres = { "a.yaml: global_params.patches.overcloud[1]", "common: patches.master.overcloud[1]" }
    t.expect(function() patches.fetch(list[2], { gerrit_url = o.gerrit_url, os_version = "master", where = o.wheres[2] }) end)
      .to_fail("common: patches.master.overcloud[1]: Gerrit: cannot fetch change 612345")
  end)

  t.it("a local diff is read as it is (no stripping), offline or not", function()
    local core = require("apex.core")
    local dir = core.fs.tmpdir({ prefix = "apex-patches-test" }).path
    local text = "--- a/nova/tests/x.py\n+++ b/nova/tests/x.py\n@@ -1 +1 @@\n-a\n+b\n"
    core.fs.write({ path = dir .. "/x.diff", content = text })
    local f = patches.fetch({ ["change-id"] = ID, project = "openstack/nova", diff = dir .. "/x.diff" },
      { gerrit_url = "http://127.0.0.1:1", os_version = "master", where = "w", offline_ok = true })
    t.expect(f.diff).to_be(text)
    t.expect(f.source).to_be("file " .. dir .. "/x.diff")
    t.expect(function() patches.fetch({ ["change-id"] = ID, project = "p", diff = dir .. "/nope.diff" },
      { gerrit_url = "http://127.0.0.1:1", os_version = "master", where = "w", offline_ok = true }) end)
      .to_fail("w.diff: no such file")
    core.fs.remove({ path = dir })
  end)
end)
