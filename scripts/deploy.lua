--- The deploy flow (placeholder until the flow lands).
local core = require("apex.core")

local M = {}

---@param opts table
function M.run(opts)
  core.log({ msg = "deploy flow placeholder: " .. tostring(opts.scenario) })
end

return M
