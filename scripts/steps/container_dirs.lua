--- Step 4: `containers/<image>/` for each patched image. The directories are
--- written with their files in step 5 (an image dir holds its Dockerfile).
---@type apex.Step
local M = { number = 4, name = "container_dirs", summary = "containers/<image>/ for each patched image" }

---@param ctx apex.Ctx
function M.plan(ctx)
  ctx.container_dirs = {}
  for _, img in ipairs(ctx.patched_list) do
    ctx.container_dirs[#ctx.container_dirs + 1] = "containers/" .. img
  end
end

return M
