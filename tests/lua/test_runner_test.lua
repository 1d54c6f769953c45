-- Tests of apex.test itself (the runner's own expectations).
local t = require("apex.test")
local expect = t.expect

t.describe("apex.test.expect", function()
  t.it("compares tables deeply", function()
    expect({ a = { 1, 2 }, b = "x" }).to_equal({ b = "x", a = { 1, 2 } })
    expect(function() expect({ 1 }).to_equal({ 2 }) end).to_fail("expected {2}, got {1}")
  end)
  t.it("finds substrings and list items", function()
    expect("docker-ha.yaml").to_contain("-ha")
    expect({ "a", "b" }).to_contain("b")
    expect(function() expect({ "a" }).to_contain("z") end).to_fail("to contain")
  end)
  t.it("checks raised errors", function()
    expect(function() error("boom: bad key", 0) end).to_fail("bad key")
    expect(function() expect(function() end).to_fail() end).to_fail("it returned")
  end)
end)
