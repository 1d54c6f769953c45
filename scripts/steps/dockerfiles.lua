--- Step 5: the Dockerfile of each patched image (several patches to one
--- image append to one Dockerfile) and the files beside it; all of
--- containers/ is archived as docker_patches.tar.gz when the plan is written.
local plan = require("apex.plan")

---@type apex.Step
local M = { number = 5, name = "dockerfiles", summary = "Dockerfiles and patch files; docker_patches.tar.gz" }

---@param ctx apex.Ctx
function M.plan(ctx)
  for rel, content in pairs(ctx.dockerfiles:files()) do
    plan.file(ctx, "containers/" .. rel, content)
  end
end

return M
