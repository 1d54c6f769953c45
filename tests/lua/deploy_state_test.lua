-- apex.site, apex.state, apex.runner and the customization translation of apex.customize.
local t = require("apex.test")
local core = require("apex.core")

t.describe("apex.site", function()
  t.it("defaults come from the network settings and the os version", function()
    local site = require("apex.site")
    local s = site.load(nil, "192.0.2.1", "master")
    assert(s.undercloud.address == "192.0.2.1" and s.undercloud.port == 22 and s.undercloud.user == "stack")
    assert(s.registries["local"] == "192.0.2.1:8787" and s.registries.source == "docker.io")
    assert(not s.registries.given_source)
    assert(s.artifacts.url == "https://images.rdoproject.org/master/rdo_trunk/current-tripleo/", s.artifacts.url)
    assert(s.undercloud.tht_dir == "/usr/share/openstack-tripleo-heat-templates")
    assert(s.engine == "undercloud" and site.engine_label(s):find("/var/run/docker.sock through SSH", 1, true))
  end)

  t.it("given keys win; a URL gets its trailing slash", function()
    local site = require("apex.site")
    local s = site.validate({
      undercloud = { address = "10.0.0.1", port = 2222, work_dir = "/w", persist = 0 },
      registries = { source = "127.0.0.1:5000", ["local"] = "127.0.0.1:5001" },
      artifacts = { url = "http://127.0.0.1:8080/x" },
      engine = "unix:///e.sock",
    }, "site.yaml", "192.0.2.1", "master")
    assert(s.undercloud.address == "10.0.0.1" and s.undercloud.port == 2222 and s.undercloud.work_dir == "/w")
    assert(s.registries.given_source and s.registries["local"] == "127.0.0.1:5001")
    assert(s.artifacts.url == "http://127.0.0.1:8080/x/")
    assert(site.engine(s).endpoint == "unix:///e.sock" and site.engine_label(s) == "the Docker engine at unix:///e.sock")
    s.engine = "local"
    assert(site.engine(s).endpoint == nil)
    assert(site.ssh_host(s).port == 2222 and site.ssh_host(s).persist == 0)
  end)

  t.it("unknown keys and wrong types name the file and key", function()
    local site = require("apex.site")
    for _, case in ipairs({
      { { undercloud = { adress = "x" } }, "site.yaml: unknown key undercloud.adress" },
      { { undercloud = { port = 70000 } }, "site.yaml: undercloud.port" },
      { { undercloud = { work_dir = "rel" } }, "undercloud.work_dir: got rel (valid: an absolute path (no control characters))" },
      { { undercloud = { persist = 1.5 } }, "undercloud.persist: got 1.5 (valid: a whole number of seconds (0 to 86400))" },
      { { registries = { rate_limit_wait = 99999999999 } }, "registries.rate_limit_wait: got 99999999999 (valid: a whole number of seconds (0 to 86400))" },
      { { undercloud = { work_dir = "/a\nb" } }, [[undercloud.work_dir: got "/a\nb" (valid: an absolute path (no control characters))]] },
      { { vm = { memory = 1 << 40 } }, "vm.memory: got 1099511627776 (valid: a whole number from 1 to 2147483647)" },
      { { engine = 3 }, "site.yaml: engine" },
      { { engine = "ssh://stack@uc" }, 'engine: got ssh://stack@uc (valid: "undercloud"' },
      { { registries = "x" }, "site.yaml: registries: expected a mapping" },
      { { artifacts = { url = "ftp://x" } }, "artifacts.url" },
      { { extra = true }, "unknown key extra" },
    }) do
      local ok, e = pcall(site.validate, case[1], "site.yaml", "192.0.2.1", "master")
      assert(not ok and tostring(e):find(case[2], 1, true), tostring(e))
    end
  end)
end)

t.describe("apex.state and apex.runner", function()
  t.it("hash is stable across key order", function()
    local state = require("apex.state")
    assert(state.hash({ a = 1, b = { "x" } }) == state.hash({ b = { "x" }, a = 1 }))
    assert(state.hash({ a = 1 }) ~= state.hash({ a = 2 }))
  end)

  t.it("finished actions with the same inputs are skipped; a failure is recorded and resumed", function()
    local runner = require("apex.runner")
    local state = require("apex.state")
    local dir = core.fs.tmpdir({ prefix = "apex-state-test" }).path
    local calls = {}
    local fail = true
    local function ctx(resume)
      local c = { tmp_dir = dir, opts = { resume = resume }, eval_seconds = 0 }
      runner.add(c, { step = 1, key = "a", text = "a", recheck = true, inputs = function() return 1 end,
        run = function() calls[#calls + 1] = "a"; return { n = 1 } end })
      runner.add(c, { step = 2, key = "b", text = "b", inputs = function() return 2 end,
        run = function() calls[#calls + 1] = "b"; if fail then error("boom", 0) end end })
      return c
    end
    local ok, e = pcall(runner.execute, ctx(false))
    assert(not ok and tostring(e):find("step 2 (b) failed: boom", 1, true), tostring(e))
    local st = state.load(dir)
    assert(st.data.steps.a.status == "done" and st.data.steps.b.status == "failed" and st.data.steps.b.error == "boom")
    fail = false
    calls = {}
    runner.execute(ctx(true))
    assert(#calls == 1 and calls[1] == "b", table.concat(calls, ","))
    calls = {}
    runner.execute(ctx(false))
    assert(#calls == 1 and calls[1] == "a", "a full run rechecks only recheck actions: " .. table.concat(calls, ","))
    st = state.load(dir)
    assert(#st.data.runs == 3 and st.data.runs[3].steps.b.skipped == true)
    core.fs.remove({ path = dir })
  end)

  t.it("a corrupt state file is an error naming it", function()
    local state = require("apex.state")
    local dir = core.fs.tmpdir({ prefix = "apex-state-test" }).path
    core.fs.write({ path = dir .. "/state.json", content = "[1,2]" })
    local ok, e = pcall(state.load, dir)
    assert(not ok and tostring(e):find(dir .. "/state.json: not a deploy state file", 1, true), tostring(e))
    core.fs.remove({ path = dir })
  end)

  t.it("rebuild records are written and read back in one place, with the registry they pushed to", function()
    local state = require("apex.state")
    local dir = core.fs.tmpdir({ prefix = "apex-state-test" }).path
    local st = state.load(dir)
    state.put_rebuild(st, "nova-api", "h1", { digest = "sha256:aa", user = "nova",
      source = "10.0.0.1:8787/tripleomaster/centos-binary-nova-api:current-tripleo" }, 8)
    state.put(st, "mirror_images", { step = 8, status = "done", inputs = "x", outputs = {} })
    st.data.steps["rebuild/broken"] = { step = 8, status = "failed", inputs = "y" }
    state.save(st)
    local again = state.load(dir)
    local rec, same = state.rebuild(again, "nova-api", "h1")
    assert(same and rec.digest == "sha256:aa" and rec.user == "nova" and rec.registry == "10.0.0.1:8787")
    assert(select(2, state.rebuild(again, "nova-api", "h2")) == false)
    local all = state.rebuilds(again)
    assert(#all == 1 and all[1].image == "nova-api", #all)
    core.fs.remove({ path = dir })
  end)
end)

t.describe("apex.customize", function()
  t.it("file customizations become image ops; the rest is skipped with the reason", function()
    local actions = require("apex.customize")
    local ctx = { tmp_dir = "/tmp/x", files = { ["overcloud_patches/I1.patch"] = "diff" },
      artifacts = { ["mod.tar"] = { path = "/cache/mod.tar" } } }
    local ops, skipped = actions.image_ops(ctx, {
      { op = "upload", arg = "I1.patch:/usr/share/puppet/", reason = "r1" },
      { op = "upload", arg = "missing.tar:/etc/", reason = "r2" },
      { op = "write", arg = "x", reason = "r3" },
      { op = "remove", arg = "/etc/puppet/modules/old", reason = "r4" },
      { op = "unpack", arg = "mod.tar:/etc/puppet/modules/", reason = "r5" },
      { op = "remove", arg = "relative", reason = "r6" },
      { op = "unpack", arg = "mod.tar:relative/", reason = "r7" },
    })
    assert(#ops == 3 and ops[1].op == "upload" and ops[1].from == "/tmp/x/overcloud_patches/I1.patch"
      and ops[1].to == "/usr/share/puppet/I1.patch")
    assert(ops[2].op == "remove" and ops[2].path == "/etc/puppet/modules/old")
    assert(ops[3].op == "unpack" and ops[3].from == "/cache/mod.tar" and ops[3].to == "/etc/puppet/modules/")
    assert(#skipped == 4, #skipped)
    assert(skipped[1].why:find("missing.tar is neither written by this deploy nor fetched", 1, true), skipped[1].why)
    assert(skipped[2].reason == "r3" and skipped[3].why:find("not absolute", 1, true))
    assert(skipped[4].why:find("FILE:/absolute/destination", 1, true))

    -- A remove whose replacement is missing is left out with it.
    local ops2, skipped2 = actions.image_ops(ctx, {
      { op = "remove", arg = "/etc/puppet/modules/x", reason = "swap x" },
      { op = "unpack", arg = "gone.tar:/etc/puppet/modules/", reason = "swap x" },
      { op = "remove", arg = "/etc/motd", reason = "other" },
    })
    assert(#ops2 == 1 and ops2[1].path == "/etc/motd")
    assert(skipped2[1].op == "remove" and skipped2[1].why:find("goes with unpack gone.tar", 1, true), skipped2[1].why)
  end)

  t.it("install and run-command become run ops in their place; install uses the image's yum, else dnf", function()
    local actions = require("apex.customize")
    local ops, skipped = actions.image_ops({ tmp_dir = "/tmp/x", files = {} }, {
      { op = "run-command", arg = "echo a > /etc/a", reason = "r1" },
      { op = "remove", arg = "/etc/b", reason = "r2" },
      { op = "install", arg = "java-1.8.0-openjdk, tcpdump", reason = "r3" },
      { op = "install", arg = " , ", reason = "r4" },
    })
    assert(#ops == 3 and #skipped == 1 and skipped[1].reason == "r4", #ops)
    assert(ops[1].op == "run" and ops[1].command == "echo a > /etc/a")
    assert(ops[2].op == "remove")
    local cmd = ops[3].command
    assert(ops[3].op == "run" and cmd:find("if [ -x /usr/bin/yum ]; then /usr/bin/yum -y install java-1.8.0-openjdk tcpdump;", 1, true), cmd)
    assert(cmd:find("elif [ -x /usr/bin/dnf ]; then /usr/bin/dnf -y install java-1.8.0-openjdk tcpdump;", 1, true), cmd)
    assert(cmd:find("neither /usr/bin/yum nor /usr/bin/dnf", 1, true) and cmd:find("exit 127", 1, true), cmd)
  end)

  t.it("the loop device goes into the image as sparse file, unit and enable link", function()
    local actions = require("apex.customize")
    local ops = actions.loop_ops({ device = "/dev/loop3", backing_file = "/srv/data.img", size = "10G" })
    local u = core.loop.unit({ device = "/dev/loop3", file = "/srv/data.img" })
    assert(ops[1].op == "truncate" and ops[1].path == "/srv/data.img" and ops[1].size == "10G")
    assert(ops[2].op == "write" and ops[2].path == u.path and ops[2].content == u.text)
    assert(ops[3].op == "symlink" and ops[3].path == u.enable_link and ops[3].target == u.enable_target)
  end)
end)
