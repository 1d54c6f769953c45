-- apex.stack_watch: progress lines from `openstack stack resource list -n 5 -f json` answers.
local t = require("apex.test")
local w = require("apex.stack_watch")

local function res(name, status) return { resource_name = name, resource_status = status, stack_name = "overcloud" } end

t.describe("apex.stack_watch", function()
  t.it("counts complete of total (INIT_COMPLETE is not done), longest in progress first", function()
    local f = w.new(1000, 60)
    local p = w.update(f, { res("Networks", "CREATE_COMPLETE"), res("Controller", "CREATE_IN_PROGRESS"),
      res("Compute", "INIT_COMPLETE") }, 1010)
    assert(p.complete == 1 and p.total == 3, p.line)
    p = w.update(f, { res("Networks", "CREATE_COMPLETE"), res("Controller", "CREATE_IN_PROGRESS"),
      res("Compute", "CREATE_IN_PROGRESS") }, 1030)
    assert(p.in_progress[1].name == "Controller" and p.in_progress[1].seconds == 20, p.line)
    assert(p.line == "overcloud stack: 1/3 resources complete, 30s elapsed; in progress longest: Controller (20s), "
      .. "Compute (0s)", p.line)
    assert(not p.stuck, "changed just now")
  end)

  t.it("names the resources in progress as possibly stuck after the quiet time, not before", function()
    local f = w.new(0, 60)
    local list = { res("Networks", "CREATE_COMPLETE"), res("ComputeDeployment_Step5", "CREATE_IN_PROGRESS") }
    w.update(f, list, 10)
    local p = w.update(f, list, 69)
    assert(not p.stuck, p.line)
    p = w.update(f, list, 70)
    assert(p.stuck and p.line:find("no change for 1m00s: possibly stuck: ComputeDeployment_Step5 (1m00s)", 1, true),
      p.line)
    p = w.update(f, { res("Networks", "CREATE_COMPLETE"), res("ComputeDeployment_Step5", "CREATE_COMPLETE") }, 71)
    assert(not p.stuck and p.complete == 2, p.line)
  end)

  t.it("says failed resources and durations in hours", function()
    local p = w.update(w.new(0, 60), { res("Controller", "CREATE_FAILED") }, 7260)
    assert(p.line:find("0/1 resources complete, 2h01m elapsed; failed: Controller", 1, true), p.line)
    assert(w.duration(125) == "2m05s", w.duration(125))
  end)
end)
