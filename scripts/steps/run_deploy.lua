--- Step 9: the deploy command, run on the undercloud in the work dir. Not
--- run again while the command, the uploaded files and every image digest
--- are those of the last successful deploy (a stack update is long), unless
--- `--redeploy`.
local util = require("apex.util")
local core = require("apex.core")
local runner = require("apex.runner")
local site_mod = require("apex.site")
local state = require("apex.state")

---@type apex.Step
local M = { number = 9, name = "run_deploy", summary = "run the deploy command on the undercloud" }

--- What the overcloud is deployed from, besides the command: the uploaded
--- files, the undercloud patches, and the digest of every image the image
--- env file names (mirrored, rebuilt `:apex`, Ceph), so new upstream images
--- or a new patch deploy again.
---@param ctx apex.Ctx
local function deployed_from(ctx)
  local function outputs(key)
    local r = state.get(ctx.state, key)
    return r and r.status == "done" and r.outputs or {}
  end
  local function inputs(key)
    local r = state.get(ctx.state, key)
    return r and r.inputs
  end
  local rebuilt = {}
  for _, img in ipairs(ctx.patched_list or {}) do
    rebuilt[img] = outputs("rebuild/" .. img).digest
  end
  return {
    uploaded = inputs("upload"),
    undercloud_patches = inputs("undercloud_patches"),
    mirrored = outputs("mirror_images").digests,
    rebuilt = rebuilt,
    ceph = outputs("ceph_image").digest,
  }
end

--- Runs the deploy command in the undercloud work dir; not again while the
--- command, files and images are those of the last successful deploy (a
--- stack update is long), unless `--redeploy`.
---@param ctx apex.Ctx
---@param command string
local function run_deploy(ctx, command)
  local u = ctx.infra.undercloud
  runner.add(ctx, {
    step = M.number, key = "run_deploy",
    text = "run deploy_command on the undercloud (" .. ctx.uc_ip .. ") in " .. u.work_dir, force = ctx.opts.redeploy,
    skip_hint = "the overcloud was deployed from the same command, files and images; --redeploy runs it again",
    inputs = function() return { command = command, work_dir = u.work_dir, from = deployed_from(ctx) } end,
    run = function()
      local r = core.run_ssh({ host = site_mod.ssh_host(ctx.infra), command = "cd " .. util.shell_quote(u.work_dir) .. " && " .. command, check = false })
      if not r.ok then
        util.fail("the deploy command exited with %d on the undercloud: %s", r.status,
          ((r.stderr ~= "" and r.stderr or r.stdout):gsub("%s+$", "")))
      end
      return { status = r.status }
    end,
  })
end

---@param ctx apex.Ctx
function M.plan(ctx)
  local args = util.deep_copy(ctx.deploy_args)
  args[1] = ctx.infra.undercloud.openstack
  local words = {}
  for i, a in ipairs(args) do words[i] = util.shell_quote(a) end
  run_deploy(ctx, table.concat(words, " "))
end

return M
