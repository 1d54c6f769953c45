-- apex.inventory: Apex's inventory format, instackenv.json, scales, no password in sight.
local t = require("apex.test")

-- tests/data/inventory beside this file's directory, wherever the run starts.
local here = debug.getinfo(1, "S").source:gsub("^@", ""):match("^(.*)/[^/]*$") or "."
local DATA = here .. "/../data/inventory/"

local function err_of(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "expected an error")
  return tostring(e)
end

-- A valid node of Apex's format; `patch` changes or (with false) removes keys.
local function node(mac, profile, patch)
  local n = {
    mac_address = mac, ipmi_ip = "10.4.7.2", ipmi_user = "root", ipmi_pass = "hunter2",
    pm_type = "pxe_ipmitool", cpus = 2, memory = 8192, disk = 40, arch = "x86_64",
    capabilities = "profile:" .. profile,
  }
  for k, v in pairs(patch or {}) do
    if v == false then n[k] = nil else n[k] = v end
  end
  return n
end

local function two_nodes(patch1)
  return { nodes = { node1 = node("00:1e:67:b2:08:7b", "control", patch1), node2 = node("00:1e:67:4f:b7:b1", "compute") } }
end

t.describe("apex.inventory", function()
  local inventory = require("apex.inventory")

  t.it("reads Apex's baremetal format: names in order, numbers, MACs, root disk, aarch64 UEFI", function()
    local inv = inventory.load(DATA .. "pod_ha.yaml", { ha = true })
    local names = {}
    for i, n in ipairs(inv.nodes) do names[i] = n.name end
    t.expect(names).to_equal({ "node1", "node2", "node3", "node4", "node10" })
    t.expect(inv.control).to_be(3)
    t.expect(inv.compute).to_be(2)
    t.expect(inv.root_device).to_be("sdb")
    local n1, n10 = inv.nodes[1], inv.nodes[5]
    t.expect(n1.pm_addr).to_be("192.168.1.20")
    t.expect(n1.pm_user).to_be("admin")
    t.expect(n1.cpu).to_be(32)
    t.expect(math.type(n1.memory)).to_be("integer")
    t.expect(n1.mac).to_equal({ "54:ab:3a:24:3b:e1" })
    t.expect(n10.mac).to_equal({ "54:ab:3a:09:8b:83", "54:ab:3a:09:8b:84" })
    t.expect(n10.pm_type).to_be("ipmi")
    t.expect(n10.capabilities).to_be("profile:compute,boot_mode:uefi")
    t.expect(inv.nodes[3].capabilities).to_be("profile:control,boot_option:local")
  end)

  t.it("reads Apex's virtual inventory (cpu, pm_port) and the defaults", function()
    local inv = inventory.load(DATA .. "virt_noha.yaml", { ha = false })
    t.expect(inv.control).to_be(2)
    t.expect(inv.nodes[1].pm_port).to_be(6230)
    t.expect(inv.nodes[1].cpu).to_be(4)
    t.expect(inv.root_device).to_be("sda")
    local minimal = inventory.validate({ nodes = { n = { ipmi_ip = "bmc-1.lab", mac_address = "00:00:00:00:00:01",
      capabilities = "profile:control" } } }, "m.yaml")
    local n = minimal.nodes[1]
    t.expect(n.pm_type).to_be("pxe_ipmitool")
    t.expect(n.arch).to_be("x86_64")
    t.expect(n.has_password).to_be(false)
  end)

  t.it("accepts the TripleO names Apex writes, and Apex's collapsed list of nodes", function()
    local inv = inventory.validate({ nodes = {
      { pm_addr = "10.0.0.9", pm_user = "u", pm_password = "p", mac = { "00:00:00:00:00:0a" }, cpu = 1,
        capabilities = "profile:control" },
    } }, "list.yaml")
    t.expect(inv.nodes[1].name).to_be("[1]")
    t.expect(inv.nodes[1].pm_addr).to_be("10.0.0.9")
    t.expect(inventory.password(inv, inv.nodes[1])).to_be("p")
  end)

  t.it("instackenv.json as Apex writes it", function()
    local core = require("apex.core")
    local inv = inventory.load(DATA .. "pod_ha.yaml", { ha = true })
    local env = inventory.instackenv(inv)
    t.expect(#env.nodes).to_be(5)
    t.expect(env.nodes[1]).to_equal({
      pm_addr = "192.168.1.20", pm_user = "admin", pm_password = "s3cret-bmc", pm_type = "pxe_ipmitool",
      mac = { "54:ab:3a:24:3b:e1" }, cpu = 32, memory = 65536, disk = 876, arch = "x86_64",
      capabilities = "profile:control",
    })
    local virt = inventory.instackenv(inventory.load(DATA .. "virt_noha.yaml"))
    t.expect(virt.nodes[1].pm_port).to_be(6230)
    local json = core.json.dump(env)
    t.expect(json).to_contain('"mac":["54:ab:3a:24:3b:e1"]')
    local redacted = core.json.dump(inventory.instackenv(inv, { redact = true }))
    t.expect(redacted:find("s3cret", 1, true)).to_be_nil()
    t.expect(redacted).to_contain('"pm_password":"<redacted>"')
  end)

  t.it("scales: controllers of the inventory (one without HA), its computes; virtual defaults", function()
    local inv = inventory.load(DATA .. "pod_ha.yaml", { ha = true })
    local s = inventory.scales(inv, true)
    t.expect({ s.control, s.compute }).to_equal({ 3, 2 })
    t.expect(s.source).to_contain("pod_ha.yaml")
    s = inventory.scales(inventory.load(DATA .. "virt_noha.yaml"), false)
    t.expect({ s.control, s.compute }).to_equal({ 1, 1 })
    s = inventory.virtual(true)
    t.expect({ s.control, s.compute, s.source }).to_equal({ 3, 2, "virtual" })
    s = inventory.virtual(false)
    t.expect({ s.control, s.compute }).to_equal({ 1, 1 })
    s = inventory.virtual(false, 3)
    t.expect(s.compute).to_be(3)
    t.expect(inventory.virtual(false, 0).compute).to_be(0)
    t.expect(inventory.virtual(true, 1).compute).to_be(2)
    t.expect(function() inventory.virtual(false, -1) end).to_fail("virtual computes")
  end)

  t.it("passwords never show: tables, summary, dumps, redact of text", function()
    local core = require("apex.core")
    local inv = inventory.load(DATA .. "pod_ha.yaml", { ha = true })
    for _, text in ipairs({ core.json.dump(inv), core.yaml.dump(inv), table.concat(inventory.summary(inv), "\n") }) do
      t.expect(text:find("s3cret", 1, true)).to_be_nil()
    end
    local summary = inventory.summary(inv)
    t.expect(summary[1]).to_contain("node1: control, BMC admin@192.168.1.20 (pxe_ipmitool, password set)")
    t.expect(summary[1]).to_contain("54:ab:3a:24:3b:e1")
    t.expect(inventory.password(inv, inv.nodes[1])).to_be("s3cret-bmc")

    local raw = core.yaml.load({ path = DATA .. "pod_ha.yaml" })
    local red = inventory.redact(raw)
    t.expect(red.nodes.node1.ipmi_pass).to_be("<redacted>")
    t.expect(red.nodes.node1.ipmi_user).to_be("admin")
    t.expect(raw.nodes.node1.ipmi_pass).to_be("s3cret-bmc")

    local text = inventory.redact('{"pm_password": "a\\"b", "pm_user": "x"}\nipmi_pass: root\n'
      .. "  ipmi_pass:   'q w'\npassword=abc,user=u\nipmi_password: kept-key\n")
    t.expect(text).to_be('{"pm_password": "<redacted>", "pm_user": "x"}\nipmi_pass: <redacted>\n'
      .. "  ipmi_pass:   '<redacted>'\npassword=<redacted>,user=u\nipmi_password: kept-key\n")
    t.expect(inventory.redact("ipmi_pass:\n  next: 1")).to_be("ipmi_pass:\n  next: 1")
  end)

  t.it("bad input: each error names the file, the node and the key", function()
    local function bad(raw, opts)
      return err_of(inventory.validate, raw, "inv.yaml", opts)
    end
    local e = err_of(inventory.load, DATA .. "missing_ipmi.yaml")
    t.expect(e).to_contain("missing_ipmi.yaml: nodes.node2.ipmi_ip: missing")
    e = err_of(inventory.load, DATA .. "dup_mac.yaml")
    t.expect(e).to_contain("dup_mac.yaml: nodes.node2.mac_address: 00:1e:67:b2:08:7b is also the MAC of node node1")
    t.expect(bad(two_nodes({ mac_address = false }))).to_contain("inv.yaml: nodes.node1.mac_address: missing")
    e = bad(two_nodes({ mac_address = "00:1e:67:b2:08" }))
    t.expect(e).to_contain('inv.yaml: nodes.node1.mac_address: got "00:1e:67:b2:08" (valid: a MAC address')
    e = bad(two_nodes({ mac_address = { "00:1e:67:b2:08:7c", "zz:1e:67:b2:08:7c" } }))
    t.expect(e).to_contain("nodes.node1.mac_address[2]: got \"zz:")
    e = bad(two_nodes({ mac_address = { "00:1e:67:b2:08:7c", "00:1E:67:b2:08:7c" } }))
    t.expect(e).to_contain("nodes.node1.mac_address[2]: 00:1e:67:b2:08:7c is also the MAC of node node1")
    t.expect(bad(two_nodes({ mac_address = 1234 }))).to_contain("nodes.node1.mac_address: got 1234")
    e = bad(two_nodes({ capabilities = "profile:storage" }))
    t.expect(e).to_contain('inv.yaml: nodes.node1.capabilities: unknown profile "storage" (valid: profile:control, profile:compute)')
    e = bad(two_nodes({ capabilities = "boot_option:local" }))
    t.expect(e).to_contain("nodes.node1.capabilities: no profile")
    t.expect(bad(two_nodes({ capabilities = false }))).to_contain("nodes.node1.capabilities: missing")
    t.expect(bad(two_nodes({ ipmi_ip = "10.0.0.300" }))).to_contain("nodes.node1.ipmi_ip: got \"10.0.0.300\"")
    t.expect(bad(two_nodes({ ipmi_ip = "a b" }))).to_contain("nodes.node1.ipmi_ip")
    e = bad(two_nodes({ ipmi_password = "x" }))
    t.expect(e).to_contain("nodes.node1.ipmi_password: unknown key (valid: ipmi_ip,")
    t.expect(bad(two_nodes({ pm_addr = "10.0.0.1" }))).to_contain("nodes.node1: both ipmi_ip and pm_addr given")
    t.expect(bad(two_nodes({ cpus = "many" }))).to_contain('nodes.node1.cpus: got "many" (valid: the number of CPUs')
    t.expect(bad(two_nodes({ memory = 0 }))).to_contain("nodes.node1.memory: got 0")
    t.expect(bad(two_nodes({ arch = "i386" }))).to_contain("nodes.node1.arch: got \"i386\" (valid: x86_64, aarch64")
    t.expect(bad(two_nodes({ pm_type = "pxe ipmi" }))).to_contain("nodes.node1.pm_type")
    t.expect(bad(two_nodes({ pm_port = 70000 }))).to_contain("nodes.node1.pm_port")
    t.expect(bad(two_nodes({ disk_device = "../sda" }))).to_contain("nodes.node1.disk_device")
    t.expect(bad({ nodes = { node1 = "x" } })).to_contain("inv.yaml: nodes.node1: expected a mapping")
    t.expect(bad({})).to_contain("inv.yaml: nodes: missing")
    t.expect(bad({ nodes = {} })).to_contain("inv.yaml: nodes: got")
    t.expect(bad({ nodes = { n = node("00:00:00:00:00:01", "control") }, extra = 1 })).to_contain("inv.yaml: extra: unknown key (valid: nodes)")
    e = bad({ nodes = { a = node("00:00:00:00:00:01", "compute") } })
    t.expect(e).to_contain("inv.yaml: nodes: no node has capabilities \"profile:control\"")
  end)

  t.it("different root disks are an error (Apex applies one)", function()
    local raw = two_nodes({ disk_device = "sdb" })
    raw.nodes.node2.disk_device = "sdc"
    local e = err_of(inventory.validate, raw, "inv.yaml")
    t.expect(e).to_contain("inv.yaml: nodes.node2.disk_device: sdc, but node node1 gives sdb")
  end)

  t.it("HA: three controllers and five nodes, as Apex requires", function()
    local e = err_of(inventory.load, DATA .. "virt_noha.yaml", { ha = true })
    t.expect(e).to_contain("virt_noha.yaml: nodes: 2 node(s) with profile:control (node0, node2); an HA deploy")
    t.expect(e).to_contain("at least 3 controllers")
    local nodes = {}
    for i = 1, 4 do
      nodes["n" .. i] = node(string.format("00:00:00:00:00:%02x", i), i <= 3 and "control" or "compute")
    end
    e = err_of(inventory.validate, { nodes = nodes }, "four.yaml", { ha = true })
    t.expect(e).to_contain("four.yaml: nodes: 4 nodes; an HA deploy (global_params.ha_enabled: true) needs at least 5")
    local inv = inventory.validate({ nodes = nodes }, "four.yaml", { ha = false })
    t.expect(inventory.scales(inv, false)).to_equal({ control = 1, compute = 1, source = "inventory four.yaml" })
  end)
end)
