--- A small test library for Lua code run by `apex test`: describe/it/expect.
---
--- ```lua
--- local t = require("apex.test")
--- t.describe("my plugin", function()
---   t.it("patches the opendaylight image", function()
---     t.expect(1 + 1).to_equal(2)
---   end)
--- end)
--- ```
--- Tests run with the host API in plan mode: functions that would change a
--- host, registry or engine raise. `it` bodies may call async host functions.
local M = {}

---@class apex.test.Case
---@field name string full name: the describe names and the it name
---@field fn fun()
---@field where string file:line of the `it` call

--- Cases registered since the last `take`, in order.
---@type apex.test.Case[]
local cases = {}
---@type string[]
local prefix = {}

--- Groups tests under a name; groups nest.
---@param name string
---@param fn fun()
function M.describe(name, fn)
  prefix[#prefix + 1] = name
  local ok, err = pcall(fn)
  prefix[#prefix] = nil
  if not ok then
    error(err, 0)
  end
end

--- Declares one test.
---@param name string
---@param fn fun()
function M.it(name, fn)
  local info = debug.getinfo(2, "Sl")
  local parts = {}
  for i, p in ipairs(prefix) do
    parts[i] = p
  end
  parts[#parts + 1] = name
  cases[#cases + 1] = {
    name = table.concat(parts, " > "),
    fn = fn,
    where = string.format("%s:%d", info.short_src, info.currentline),
  }
end

--- Returns and clears the registered cases (used by the runner).
---@return apex.test.Case[]
function M.take()
  local out = cases
  cases = {}
  prefix = {}
  return out
end

--- Deep equality of two values (tables compared by content).
---@param a any
---@param b any
---@return boolean
function M.deep_equal(a, b)
  if a == b then
    return true
  end
  if type(a) ~= "table" or type(b) ~= "table" then
    return false
  end
  for k, v in pairs(a) do
    if not M.deep_equal(v, b[k]) then
      return false
    end
  end
  for k in pairs(b) do
    if a[k] == nil then
      return false
    end
  end
  return true
end

--- Renders a value for failure messages.
---@param v any
---@param depth? integer
---@return string
function M.show(v, depth)
  depth = depth or 0
  if type(v) == "string" then
    return string.format("%q", v)
  elseif type(v) ~= "table" then
    return tostring(v)
  elseif depth > 3 then
    return "{...}"
  end
  local keys = {}
  for k in pairs(v) do
    keys[#keys + 1] = k
  end
  table.sort(keys, function(x, y) return tostring(x) < tostring(y) end)
  local parts = {}
  for _, k in ipairs(keys) do
    local key = (math.type(k) == "integer") and "" or (tostring(k) .. " = ")
    parts[#parts + 1] = key .. M.show(v[k], depth + 1)
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end

local function fail(msg)
  error(msg, 3)
end

---@class apex.test.Expectation
---@field to_equal fun(expected: any) deep equality
---@field to_be fun(expected: any) raw identity (==)
---@field to_be_truthy fun()
---@field to_be_falsy fun()
---@field to_be_nil fun()
---@field to_contain fun(item: any) a substring of a string (plain), or an element of a list
---@field to_match fun(pattern: string) a Lua pattern matches the string
---@field to_fail fun(pattern?: string) the function raises (and the message contains pattern, plain)

--- Starts an expectation on a value.
---@param actual any
---@return apex.test.Expectation
function M.expect(actual)
  -- A caught user error (util.fail) is checked as its message.
  if require("apex.util").is_user_error(actual) then
    actual = tostring(actual)
  end
  local e = {}
  function e.to_equal(expected)
    if not M.deep_equal(actual, expected) then
      fail("expected " .. M.show(expected) .. ", got " .. M.show(actual))
    end
  end
  function e.to_be(expected)
    if actual ~= expected then
      fail("expected " .. M.show(expected) .. ", got " .. M.show(actual))
    end
  end
  function e.to_be_truthy()
    if not actual then
      fail("expected a truthy value, got " .. M.show(actual))
    end
  end
  function e.to_be_falsy()
    if actual then
      fail("expected a falsy value, got " .. M.show(actual))
    end
  end
  function e.to_be_nil()
    if actual ~= nil then
      fail("expected nil, got " .. M.show(actual))
    end
  end
  function e.to_contain(item)
    if type(actual) == "string" then
      if not actual:find(item, 1, true) then
        fail("expected " .. M.show(actual) .. " to contain " .. M.show(item))
      end
      return
    end
    if type(actual) == "table" then
      for _, v in ipairs(actual) do
        if M.deep_equal(v, item) then
          return
        end
      end
    end
    fail("expected " .. M.show(actual) .. " to contain " .. M.show(item))
  end
  function e.to_match(pattern)
    if type(actual) ~= "string" or not actual:match(pattern) then
      fail("expected " .. M.show(actual) .. " to match " .. M.show(pattern))
    end
  end
  function e.to_fail(pattern)
    if type(actual) ~= "function" then
      fail("to_fail needs a function, got " .. type(actual))
    end
    local ok, err = pcall(actual)
    if ok then
      fail("expected the function to raise, it returned")
    end
    local msg = tostring(err)
    if pattern and not msg:find(pattern, 1, true) then
      fail("expected the error to contain " .. M.show(pattern) .. ", got " .. M.show(msg))
    end
  end
  return e
end

return M
