--- Step 4: `containers/<image>/` for each patched image. Nothing to
--- evaluate here: each directory is written with its files in step 5 (an
--- image dir holds its Dockerfile, named after ctx.patched_list), and plan.lua
--- writes them all under the tmp dir. The step stays, by name and number, so
--- the flow reads as Apex's design and a scenario can replace it.
---@type apex.Step
local M = { number = 4, name = "container_dirs", summary = "containers/<image>/ for each patched image" }

---@param _ apex.Ctx
function M.plan(_) end

return M
