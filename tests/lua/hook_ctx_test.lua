-- apex.hook_ctx: the hooks of plugins get a read-only copy of what they
-- read, not the flow's context. A hook writing to it cannot change the
-- deploy; it can iterate the view like any table; every shipped plugin
-- returns with the view what it returns with the flow's own context.
local core = require("apex.core")
local t = require("apex.test")
local util = require("apex.util")
local plugins = require("apex.plugins")
local hook_ctx = require("apex.hook_ctx")
local deploy = require("flows.deploy")

local HOOKS = { "images", "patches", "env_files", "overcloud_customize", "artifacts", "loop_devices", "env_params" }

--- A scenario file in a fresh directory; returns its path and the directory.
local function scenario(text)
  local dir = core.fs.tmpdir({ prefix = "hook-ctx-" }).path
  core.fs.write({ path = dir .. "/scenario.lua", content = "return " .. text })
  return dir .. "/scenario.lua", dir
end

--- The plan of a scenario file in `tmp` (the same tmp dir keeps the overcloud
--- key, so two plans of one deploy are byte-identical).
local function plan(path, tmp, extra)
  local opts = { scenario = path, plan = true, tmp_dir = tmp, lua_paths = {} }
  for k, v in pairs(extra or {}) do opts[k] = v end
  return deploy.run(opts)
end

--- Replaces hooks of loaded plugin modules for the time of `fn` (the flow
--- loads plugins with require, so it calls the replacements).
local function with_hooks(replacements, fn)
  local saved = {}
  for name, hooks in pairs(replacements) do
    local p = require("plugins." .. name)
    saved[name] = {}
    for hook, make in pairs(hooks) do
      saved[name][hook] = p[hook] or false
      p[hook] = make(p[hook])
    end
  end
  local ok, err = pcall(fn)
  for name, hooks in pairs(saved) do
    local p = require("plugins." .. name)
    for hook, f in pairs(hooks) do p[hook] = f or nil end
  end
  if not ok then error(err, 0) end
end

local ODL_CEPH = [[{ global_params = { ha_enabled = true },
  deploy_options = { sdn_controller = "opendaylight", ceph = true, dataplane = "ovs", sfc = true } }]]

t.describe("apex.hook_ctx", function()
  t.it("a hook that writes to its ctx cannot change the deploy", function()
    local path, dir = scenario(ODL_CEPH)
    local tmp = dir .. "/plan"
    local clean = plan(path, tmp)
    local files = util.deep_copy(clean.files)
    local refused = {}
    -- Every hook of both plugins tries to add keys (refused, the error naming
    -- the key) and assigns existing keys once it has its result.
    local function vandal(hook, assign)
      return function(orig)
        return function(ctx)
          local function try_add(f)
            local ok, e = pcall(f)
            refused[#refused + 1] = { hook = hook, ok = ok, msg = tostring(e), user = util.is_user_error(e) }
          end
          local result = orig and orig(ctx)
          if hook == "validate" then
            try_add(function() ctx.plugins = {} end)
            try_add(function() ctx.deploy_options.injected = true end)
            if assign then ctx.deploy_options.sdn_controller, ctx.global_params.ha_enabled = "ovn", false end
            return result
          end
          try_add(function() ctx.plugins = {} end)
          try_add(function() ctx.settings.deploy_options.injected = true end)
          try_add(function() ctx.network.networks.tenant.extra = 1 end)
          try_add(function() table.insert(ctx.release.env_files, "mine.yaml") end)
          if assign then
            ctx.settings.deploy_options.sdn_controller = "ovn"
            ctx.settings.deploy_options.sfc = false
            ctx.settings.global_params.ha_enabled = false
            ctx.uc_ip = "198.51.100.9"
            ctx.network.domain = "evil.example"
            ctx.infra.undercloud.tht_dir = "/evil"
            ctx.site.local_registry = "evil:1"
            ctx.env.virtual = not ctx.env.virtual
            ctx.env.scales.compute = 99
            for i = #ctx.release.env_files, 1, -1 do ctx.release.env_files[i] = nil end
          end
          return result
        end
      end
    end
    local odl, ceph = {}, {}
    for _, h in ipairs(HOOKS) do odl[h] = vandal(h, true); ceph[h] = vandal(h, true) end
    odl.validate, ceph.validate = vandal("validate", true), vandal("validate", true)
    local again
    with_hooks({ opendaylight = odl, ceph = ceph }, function() again = plan(path, tmp) end)
    core.fs.remove({ path = dir })

    -- The flow's own values are untouched, and every file of the plan is the same.
    t.expect(again.settings.deploy_options.sdn_controller).to_be("opendaylight")
    t.expect(again.settings.deploy_options.sfc).to_be(true)
    t.expect(again.settings.deploy_options.injected).to_be_nil()
    t.expect(again.settings.global_params.ha_enabled).to_be(true)
    t.expect(again.uc_ip).to_be(clean.uc_ip)
    t.expect(again.network.domain).to_be(clean.network.domain)
    t.expect(again.infra.undercloud.tht_dir).to_be(clean.infra.undercloud.tht_dir)
    t.expect(again.site.local_registry).to_be(clean.site.local_registry)
    t.expect(again.env).to_equal(clean.env)
    t.expect(#again.tht_release.env_files).to_be(#clean.tht_release.env_files)
    t.expect(again.plugin_names).to_equal({ "opendaylight", "ceph" })
    t.expect(util.sorted_keys(again.files)).to_equal(util.sorted_keys(files))
    for name, content in pairs(files) do
      if again.files[name] ~= content then error(name .. " differs:\n" .. again.files[name], 0) end
    end
    -- Every hook ran (validate and the seven others, of both plugins), and
    -- every new key was refused with a clean error naming it.
    local hooks_seen, msgs = {}, {}
    for _, r in ipairs(refused) do
      hooks_seen[r.hook] = true
      t.expect(r.ok).to_be(false)
      t.expect(r.user).to_be(true)
      t.expect(r.msg).to_contain("the hook context is read-only")
      msgs[r.msg:match("^(%S+):")] = true
    end
    t.expect(#util.sorted_keys(hooks_seen)).to_be(#HOOKS + 1)
    t.expect(util.sorted_keys(msgs)).to_equal({ "ctx.network.networks.tenant.extra", "ctx.plugins",
      "ctx.release.env_files[" .. (#clean.tht_release.env_files + 1) .. "]", "ctx.settings.deploy_options.injected",
      "settings.deploy_options.injected", "settings.plugins" })
  end)

  t.it("a write to an existing key changes the hook's own copy only", function()
    local path, dir = scenario(ODL_CEPH)
    local seen = {}
    local function record(hook, write)
      return function(orig)
        return function(ctx)
          seen[#seen + 1] = hook .. " " .. ctx.settings.deploy_options.odl_version
          if write then ctx.settings.deploy_options.odl_version = "neon" end
          return orig(ctx)
        end
      end
    end
    local ctx
    with_hooks({ opendaylight = { images = record("images", true), patches = record("patches"),
      env_params = record("env_params") } }, function() ctx = plan(path, dir .. "/plan") end)
    core.fs.remove({ path = dir })
    -- each hook call gets its own copy of the step's view
    t.expect(seen).to_equal({ "images oxygen", "patches oxygen", "env_params oxygen" })
    t.expect(ctx.settings.deploy_options.odl_version).to_be("oxygen")
  end)

  t.it("a hook can iterate its view with next, pairs, ipairs and #", function()
    local path, dir = scenario(ODL_CEPH)
    local seen = {}
    with_hooks({ opendaylight = { env_params = function(orig)
      return function(ctx)
        local keys = {}
        for k in pairs(ctx.settings.deploy_options) do keys[#keys + 1] = k end
        table.sort(keys)
        local envs = {}
        for i, f in ipairs(ctx.release.env_files) do envs[i] = f end
        local top = {}
        local k = next(ctx)
        while k ~= nil do top[#top + 1] = k; k = next(ctx, k) end
        table.sort(top)
        seen = { keys = keys, envs = envs, n_envs = #ctx.release.env_files, top = top,
          networks = next(ctx.network.networks) ~= nil }
        return orig(ctx)
      end
    end } }, function() seen.ctx = plan(path, dir .. "/plan") end)
    core.fs.remove({ path = dir })
    t.expect(seen.keys).to_equal(util.sorted_keys(seen.ctx.settings.deploy_options))
    t.expect(seen.envs).to_equal(require("apex.tht").release(seen.ctx.settings.deploy_options.os_version).env_files)
    t.expect(seen.n_envs > 0 and seen.n_envs == #seen.envs).to_be(true)
    t.expect(seen.top).to_equal({ "env", "infra", "network", "release", "settings", "site", "uc_ip" })
    t.expect(seen.networks).to_be(true)
  end)

  t.it("ODL and every shipped plugin return the same with the view as with the flow's ctx", function()
    local net_dir = core.fs.tmpdir({ prefix = "hook-ctx-net-" }).path
    local raw = util.deep_copy(require("apex.network_defaults"))
    raw.networks.tenant.segmentation_type = "vlan"
    raw.networks.tenant.overlay_id_range = "vlan:500:525,datacentre:1:1000"
    local vlan_net = net_dir .. "/network_settings.yaml"
    core.fs.write({ path = vlan_net, content = core.yaml.dump(raw) })
    local cases = {}
    for _, name in ipairs({ "os-nosdn-fdio-ha", "os-nosdn-nofeature-ha", "os-nosdn-nofeature-noha",
      "os-nosdn-ovs_dpdk-ha", "os-odl-bgpvpn-ha", "os-odl-nofeature-ha", "os-odl-nofeature-noha",
      "os-odl-queens-ha", "os-odl-sfc-ha", "os-ovn-nofeature-ha" }) do
      cases[#cases + 1] = { scenario = name }
    end
    local perf = [[performance = { Compute = { kernel = { hugepagesz = "2M", hugepages = 64 },
      vpp = { ["main-core"] = 1, ["corelist-workers"] = 2 } }, Controller = { vpp = { ["main-core"] = 1 } } }]]
    for _, opts in ipairs({
      [[sdn_controller = "opendaylight", odl_version = "master", dataplane = "fdio", vpp = true, dvr = true, ceph = true, ]] .. perf,
      [[sdn_controller = "opendaylight", dataplane = "fdio", odl_vpp_routing_node = "compute-0", vpn = true, sriov = "eth3"]],
      [[sdn_controller = "opendaylight", ceph = true, ceph_device = "/dev/sdb", gluon = true, vpn = true, l2gw = true]],
      [[sdn_controller = "ovn", ceph = true]],
      [[sdn_controller = "onos", sfc = true, ceph = false]],
      [[sdn_controller = false, dataplane = "fdio", vpp = true]],
    }) do
      for _, ha in ipairs({ "true", "false" }) do
        local path = scenario("{ global_params = { ha_enabled = " .. ha .. " }, deploy_options = { " .. opts .. " } }")
        cases[#cases + 1] = { scenario = path }
        cases[#cases + 1] = { scenario = path, network_settings = vlan_net }
      end
    end
    local compared = 0
    for _, c in ipairs(cases) do
      for _, virtual in ipairs({ false, true }) do
        local ctx = deploy.new_ctx({ scenario = c.scenario, network_settings = c.network_settings, plan = true,
          tmp_dir = net_dir .. "/unused", lua_paths = {}, virtual = virtual })
        local what = c.scenario .. (c.network_settings and " (tenant VLANs)" or "") .. (virtual and " --virtual" or "")
        -- Before step 7 the environment is derived; from step 7 the flow sets ctx.env.
        for _, env in ipairs({ false, { virtual = not virtual, scales = { control = 3, compute = 4 },
          libvirt_type = "qemu", ceph_image = "192.0.2.1:8787/ceph/daemon:x" } }) do
          ctx.env = env or nil
          local view = hook_ctx.new(ctx)
          for _, p in ipairs(plugins.customizers(ctx.plugins)) do
            for _, hook in ipairs(HOOKS) do
              if p[hook] then
                local want = plugins.call(p, hook, ctx)
                local got = plugins.call(p, hook, view)
                if not t.deep_equal(got, want) then
                  error(string.format("%s: %s.%s: with the view %s, with the flow's ctx %s", what, p.name, hook,
                    t.show(got), t.show(want)), 0)
                end
                compared = compared + 1
              end
            end
          end
          -- validate sees the same settings, a copy it cannot change
          local copy = hook_ctx.copy(ctx.settings, "settings")
          t.expect(copy).to_equal(ctx.settings)
          for _, p in ipairs(ctx.plugins) do plugins.call(p, "validate", copy) end
        end
      end
    end
    core.fs.remove({ path = net_dir })
    for _, c in ipairs(cases) do
      if c.scenario:find("/", 1, true) then core.fs.remove({ path = c.scenario:match("^(.*)/[^/]+$") }) end
    end
    t.expect(compared > 500).to_be(true)
  end)

  t.it("copies plain data only, and thaws what a hook returns", function()
    t.expect(function() hook_ctx.copy({ a = { f = print } }, "x") end).to_fail("x.a.f is a function, not plain data")
    t.expect(function() hook_ctx.copy({ a = setmetatable({}, {}) }, "x") end).to_fail("x.a is a table with a metatable")
    local deep = {}
    local at = deep
    for _ = 1, hook_ctx.MAX_DEPTH + 2 do at.next = {}; at = at.next end
    t.expect(function() hook_ctx.copy(deep, "x") end).to_fail("nests deeper than")
    -- shared and cyclic tables stay shared in the copy
    local shared = { 1 }
    local src = { a = shared, b = shared }
    src.self = src
    local c = hook_ctx.copy(src, "x")
    t.expect(c.a == c.b and c.self == c and c.a ~= shared).to_be(true)
    t.expect(function() c.a[2] = 2 end).to_fail("[2]: the hook context is read-only") -- x.a or x.b: one table
    t.expect(function() c["two words"] = 1 end).to_fail('x["two words"]: the hook context is read-only')
    t.expect(function() setmetatable(c, nil) end).to_fail("protected metatable")
    t.expect(hook_ctx.is_view(c) and hook_ctx.is_view(c.a) and not hook_ctx.is_view(src)).to_be(true)
    -- a view's list returned by a hook is plain again, and an empty one still a list
    local view = hook_ctx.copy({ empty = core.data.array(), list = core.data.array({ "a" }), map = {} }, "ctx")
    local mine = { keep = { 1 } }
    local result = hook_ctx.thaw({ l = view.empty, m = view.map, n = view.list, mine = mine })
    t.expect(hook_ctx.is_view(result.l) or hook_ctx.is_view(result.m) or hook_ctx.is_view(result.n)).to_be(false)
    t.expect(result.mine).to_be(mine)
    result.n[2] = "b"
    t.expect(core.yaml.dump({ l = result.l, m = result.m })).to_be("l: []\nm: {}\n")
    t.expect(view.list[2]).to_be_nil()
    -- through plugins.call: the error names the plugin, the hook and the key
    local fake = { name = "fake", origin = "test", env_files = function(ctx) ctx.settings.x = 1 end }
    t.expect(function() plugins.call(fake, "env_files", hook_ctx.copy({ settings = {} }, "ctx")) end)
      .to_fail("plugin fake (test): env_files: ctx.settings.x: the hook context is read-only")
  end)
end)
