--- Small table and string helpers shared by the stdlib, plugins and flows.
local core = require("apex.core")

local M = {}

--- Returns the keys of a table, sorted.
---@param t table
---@return string[]
function M.sorted_keys(t)
  local keys = core.data.array()
  for k in pairs(t) do
    keys[#keys + 1] = k
  end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

---@class apex.UserError
---@field kind "user"
---@field message string

--- The metatable of user errors. A user error reads like its message:
--- `tostring`, `..`, `#` and string methods (`err:find(...)`) work on it.
local UserError = { __name = "apex.UserError" }
UserError.__tostring = function(e) return rawget(e, "message") end
UserError.__concat = function(a, b) return tostring(a) .. tostring(b) end
UserError.__len = function(e) return #rawget(e, "message") end
UserError.__index = function(e, k)
  local f = string[k]
  if f then
    return function(self, ...) return f(rawget(self, "message"), ...) end
  end
end

--- A user error value: bad input or a refused operation, reported as its
--- message alone. The host recognises the value (`kind == "user"`) where an
--- error leaves Lua and prints no traceback; any other error is a bug and
--- keeps its traceback.
---@param message string
---@return apex.UserError
function M.user_error(message)
  return setmetatable({ kind = "user", message = tostring(message) }, UserError)
end

--- Whether a caught error is a user error (M.fail).
---@param e any
---@return boolean
function M.is_user_error(e)
  return getmetatable(e) == UserError
end

--- Raises a user error (M.user_error): flows and plugins use it for bad
--- settings and refused operations; script bugs keep their traceback.
---@param fmt string
---@param ... any
function M.fail(fmt, ...)
  error(M.user_error(select("#", ...) > 0 and string.format(fmt, ...) or fmt), 0)
end

--- Edit distance (insertions, deletions, substitutions) between two strings.
---@param a string
---@param b string
---@return integer
function M.edit_distance(a, b)
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

--- The candidate closest to `name` (smallest edit distance; ties: the first
--- in sorted order), for "unknown key" errors.
---@param name any
---@param candidates string[]
---@return string?
function M.nearest(name, candidates)
  local sorted = {}
  for _, c in ipairs(candidates) do sorted[#sorted + 1] = c end
  table.sort(sorted)
  local best, best_d
  for _, c in ipairs(sorted) do
    local d = M.edit_distance(tostring(name), c)
    if not best_d or d < best_d then best, best_d = c, d end
  end
  return best
end

--- Fails for an unknown key: names the file, the key path, the nearest
--- valid key and all valid ones.
---@param src string      the file
---@param path string     the key path, e.g. "networks.admin.dhcp_rang"
---@param key any         the unknown key itself
---@param valid string[]
---@param what? string    e.g. "deploy option" (default "key")
function M.fail_unknown(src, path, key, valid, what)
  M.fail("%s: %s: unknown %s (valid: %s); nearest: %s", src, path, what or "key", table.concat(valid, ", "),
    M.nearest(key, valid) or "none")
end

--- The message of a caught error without the traceback the host appended, so
--- it can be wrapped in a clean user error.
---@param err any
---@return string
function M.message(err)
  local msg = tostring(err):gsub("^runtime error: ", "")
  return (msg:gsub("\n?stack traceback:.*$", ""))
end

--- Appends every item of `src` to `dst` and returns `dst`.
---@generic T
---@param dst T[]
---@param src T[]?
---@return T[]
function M.extend(dst, src)
  for _, v in ipairs(src or {}) do
    dst[#dst + 1] = v
  end
  return dst
end

--- Whether a list holds a value.
---@param list any[]
---@param value any
---@return boolean
function M.contains(list, value)
  for _, v in ipairs(list) do
    if v == value then
      return true
    end
  end
  return false
end

--- A deep copy of plain data (tables, strings, numbers, booleans).
---@generic T
---@param v T
---@return T
function M.deep_copy(v)
  if type(v) ~= "table" then
    return v
  end
  local out = {}
  for k, x in pairs(v) do
    out[k] = M.deep_copy(x)
  end
  return out
end

--- Whether a table is a sequence (a list); an empty table counts as a list.
---@param t table
---@return boolean
function M.is_list(t)
  local n = 0
  for _ in pairs(t) do
    n = n + 1
  end
  return n == #t
end

--- Whether a value is a mapping (a table that is not a non-empty list; an
--- empty table counts, as YAML's `{}` does).
---@param v any
---@return boolean
function M.is_map(v)
  return type(v) == "table" and (next(v) == nil or not M.is_list(v))
end

--- How much of a string an error message shows: a hostile value (a
--- megabyte on one line) must not flood the console and the log.
M.SHOW_MAX = 200

--- A value as an error message shows it: strings quoted on one line (a
--- newline as \n, other control bytes escaped) and cut at SHOW_MAX bytes,
--- tables by kind.
---@param v any
---@return string
function M.show(v)
  if type(v) == "string" then
    local cut = #v > M.SHOW_MAX and v:sub(1, M.SHOW_MAX) or v
    local q = (string.format("%q", cut):gsub("\\\n", "\\n"))
    if cut ~= v then
      q = q .. string.format(" (cut; %d bytes in all)", #v)
    end
    return q
  end
  if type(v) == "table" then return M.is_list(v) and "a list" or "a mapping" end
  return tostring(v)
end

--- Whether `v` is a network interface name as the kernel and os-net-config
--- take it: at most 15 bytes (IFNAMSIZ - 1) of letters, digits, '.', '_',
--- '-', not starting with a punctuation mark (eth0, enp0s3, nic1).
---@param v any
---@return boolean
function M.is_ifname(v)
  return type(v) == "string" and #v <= 15 and v:match("^[%w][%w._-]*$") ~= nil
end
M.IFNAME_DOC = "at most 15 letters, digits, '.', '_', '-'"

--- Joins path parts with "/", without doubling separators.
---@param ... string
---@return string
function M.path(...)
  local parts = { ... }
  local out = parts[1]
  for i = 2, #parts do
    out = out:gsub("/+$", "") .. "/" .. parts[i]:gsub("^/+", "")
  end
  return out
end

--- Quotes a word for a POSIX shell when it needs quoting.
---@param s string
---@return string
function M.shell_quote(s)
  if s:match("^[%w%./:=@_,+-]+$") then
    return s
  end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

--- Seconds since the Unix epoch of a UTC timestamp such as Gerrit's
--- "2019-01-01 10:00:00.000000000" or a registry's "2019-03-01T10:00:00.12Z".
---@param s string
---@return integer?
function M.utc_seconds(s)
  local y, mo, d, h, mi, sec = tostring(s):match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[T ](%d%d):(%d%d):(%d%d)")
  if not y then
    return nil
  end
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  -- days from civil (proleptic Gregorian), so the local time zone never matters
  if mo <= 2 then
    y = y - 1
  end
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local mp = (mo + 9) % 12
  local doy = (153 * mp + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  local days = era * 146097 + doe - 719468
  return days * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(sec)
end

return M

