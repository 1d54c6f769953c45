--- IPv4/IPv6 address and CIDR math in plain Lua, enough to check network
--- settings and derive Apex's default ranges: parse, format (the canonical
--- text Python's ipaddress prints, so generated files match Apex's), index
--- into a network like Python's `network[i]`, containment and overlap.
---
--- An address is `{version = 4|6, bytes = integer[]}` (4 or 16 bytes, big
--- endian); a network adds `prefix` and has its host bits cleared.
local M = {}

---@class apex.ip.Address
---@field version 4|6
---@field bytes integer[]   4 (IPv4) or 16 (IPv6) bytes, most significant first

---@class apex.ip.Network: apex.ip.Address
---@field prefix integer    prefix length

local function parse_v4(s)
  local parts = {}
  for p in (s .. "."):gmatch("([^.]*)%.") do
    parts[#parts + 1] = p
  end
  if #parts ~= 4 then
    return nil
  end
  local bytes = {}
  for i, p in ipairs(parts) do
    -- no leading zeros: "010" is octal to some tools and decimal to others
    if not p:match("^%d+$") or #p > 3 or (#p > 1 and p:sub(1, 1) == "0") then
      return nil
    end
    local n = tonumber(p)
    if n > 255 then
      return nil
    end
    bytes[i] = n
  end
  return bytes
end

local function hex_groups(s)
  local out = {}
  if s == "" then
    return out
  end
  for g in (s .. ":"):gmatch("([^:]*):") do
    if not g:match("^%x%x?%x?%x?$") then
      return nil
    end
    out[#out + 1] = tonumber(g, 16)
  end
  return out
end

local function parse_v6(s)
  if s:find("%%") then
    return nil -- zone ids have no place in settings
  end
  -- an embedded IPv4 tail (::ffff:192.0.2.1) becomes two groups
  local head, v4 = s:match("^(.*:)(%d+%.%d+%.%d+%.%d+)$")
  local tail_groups = {}
  if head then
    local b = parse_v4(v4)
    if not b then
      return nil
    end
    tail_groups = { b[1] * 256 + b[2], b[3] * 256 + b[4] }
    s = head .. "0" -- placeholder group, dropped below
  end
  local groups
  local dc = s:find("::", 1, true)
  if dc then
    if s:find("::", dc + 1, true) then
      return nil
    end
    local left, right = hex_groups(s:sub(1, dc - 1)), hex_groups(s:sub(dc + 2))
    if not left or not right then
      return nil
    end
    if head then
      right[#right] = nil
    end
    local fill = 8 - #left - #right - #tail_groups
    if fill < 1 then
      return nil
    end
    groups = left
    for _ = 1, fill do
      groups[#groups + 1] = 0
    end
    for _, g in ipairs(right) do
      groups[#groups + 1] = g
    end
  else
    groups = hex_groups(s)
    if not groups then
      return nil
    end
    if head then
      groups[#groups] = nil
    end
  end
  for _, g in ipairs(tail_groups) do
    groups[#groups + 1] = g
  end
  if #groups ~= 8 then
    return nil
  end
  local bytes = {}
  for i, g in ipairs(groups) do
    bytes[2 * i - 1] = g // 256
    bytes[2 * i] = g % 256
  end
  return bytes
end

--- Parses an IPv4 or IPv6 address.
---@param s any
---@return apex.ip.Address? addr
---@return string? err   why it is not an address
function M.parse(s)
  if type(s) ~= "string" then
    return nil, "not a string"
  end
  local bytes
  if s:find(":", 1, true) then
    bytes = parse_v6(s)
    if bytes then
      return { version = 6, bytes = bytes }
    end
    return nil, "not an IPv6 address"
  end
  bytes = parse_v4(s)
  if bytes then
    return { version = 4, bytes = bytes }
  end
  return nil, "not an IPv4 address"
end

--- Parses a network in CIDR notation. Like Python's ip_network (strict),
--- host bits set is an error: "192.0.2.1/24" names an address, not a network.
---@param s any
---@return apex.ip.Network? net
---@return string? err
function M.parse_cidr(s)
  if type(s) ~= "string" then
    return nil, "not a string"
  end
  local a, p = s:match("^([^/]+)/(%d+)$")
  if not a then
    return nil, "not in CIDR notation (address/prefix)"
  end
  local addr, err = M.parse(a)
  if not addr then
    return nil, err
  end
  local prefix = tonumber(p)
  local max = #addr.bytes * 8
  if prefix > max then
    return nil, string.format("prefix /%d is longer than %d bits", prefix, max)
  end
  for i, b in ipairs(addr.bytes) do
    local keep = math.max(0, math.min(8, prefix - (i - 1) * 8))
    local mask = (0xff << (8 - keep)) & 0xff
    if b & mask ~= b then
      return nil, "host bits set (the network address is " .. M.format(M.network_of(addr, prefix)) .. "/" .. prefix .. ")"
    end
  end
  return { version = addr.version, bytes = addr.bytes, prefix = prefix }
end

--- The network of `prefix` bits that holds an address.
---@param addr apex.ip.Address
---@param prefix integer
---@return apex.ip.Network
function M.network_of(addr, prefix)
  local bytes = {}
  for i, b in ipairs(addr.bytes) do
    local keep = math.max(0, math.min(8, prefix - (i - 1) * 8))
    bytes[i] = b & ((0xff << (8 - keep)) & 0xff)
  end
  return { version = addr.version, bytes = bytes, prefix = prefix }
end

--- Canonical text: dotted quad, or RFC 5952 IPv6 (lower case, the longest
--- run of two or more zero groups as "::"), as Python's str() prints it.
---@param addr apex.ip.Address
---@return string
function M.format(addr)
  local b = addr.bytes
  if addr.version == 4 then
    return string.format("%d.%d.%d.%d", b[1], b[2], b[3], b[4])
  end
  local g = {}
  for i = 1, 8 do
    g[i] = b[2 * i - 1] * 256 + b[2 * i]
  end
  local best, best_len, cur, cur_len = 0, 0, 0, 0
  for i = 1, 8 do
    if g[i] == 0 then
      if cur_len == 0 then
        cur = i
      end
      cur_len = cur_len + 1
      if cur_len > best_len then
        best, best_len = cur, cur_len
      end
    else
      cur_len = 0
    end
  end
  local parts = {}
  for i = 1, 8 do
    parts[i] = string.format("%x", g[i])
  end
  if best_len < 2 then
    return table.concat(parts, ":")
  end
  local left = table.concat(parts, ":", 1, best - 1)
  local right = table.concat(parts, ":", best + best_len, 8)
  return left .. "::" .. right
end

--- A network's text: canonical address and prefix ("2001:db8::/64").
---@param net apex.ip.Network
---@return string
function M.format_cidr(net)
  return M.format(net) .. "/" .. net.prefix
end

--- -1, 0 or 1 as a sorts before, equal to or after b (same version).
---@param a apex.ip.Address
---@param b apex.ip.Address
---@return integer
function M.compare(a, b)
  for i = 1, #a.bytes do
    if a.bytes[i] ~= b.bytes[i] then
      return a.bytes[i] < b.bytes[i] and -1 or 1
    end
  end
  return 0
end

--- The address `n` steps after (or before, n < 0) `addr`; nil past either end
--- of the address space.
---@param addr apex.ip.Address
---@param n integer
---@return apex.ip.Address?
function M.add(addr, n)
  local bytes = {}
  local carry = n
  for i = #addr.bytes, 1, -1 do
    local v = addr.bytes[i] + carry
    bytes[i] = v % 256
    carry = v // 256 -- floor division keeps borrows right for negative n
  end
  if carry ~= 0 then
    return nil
  end
  return { version = addr.version, bytes = bytes }
end

--- The last address of a network (the IPv4 broadcast address).
---@param net apex.ip.Network
---@return apex.ip.Address
function M.last(net)
  local bytes = {}
  for i, b in ipairs(net.bytes) do
    local keep = math.max(0, math.min(8, net.prefix - (i - 1) * 8))
    bytes[i] = b | (0xff >> keep)
  end
  return { version = net.version, bytes = bytes }
end

--- Python's `network[i]`: i >= 0 counts from the network address, i < 0 from
--- the last address (-1 is the last). nil when i is outside the network.
---@param net apex.ip.Network
---@param i integer
---@return apex.ip.Address?
function M.index(net, i)
  local a = i >= 0 and M.add(net, i) or M.add(M.last(net), i + 1)
  if a and M.contains(net, a) then
    return a
  end
  return nil
end

--- Whether a network holds an address (false across versions).
---@param net apex.ip.Network
---@param addr apex.ip.Address
---@return boolean
function M.contains(net, addr)
  if net.version ~= addr.version then
    return false
  end
  return M.compare(M.network_of(addr, net.prefix), net) == 0
end

--- Whether two networks share an address.
---@param a apex.ip.Network
---@param b apex.ip.Network
---@return boolean
function M.overlaps(a, b)
  return a.version == b.version and (M.contains(a, b) or M.contains(b, a))
end

return M
