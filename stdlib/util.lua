--- Small table and string helpers shared by the stdlib, plugins and flows.
local M = {}

--- Returns the keys of a table, sorted.
---@param t table
---@return string[]
function M.sorted_keys(t)
  local keys = {}
  for k in pairs(t) do
    keys[#keys + 1] = k
  end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

return M
