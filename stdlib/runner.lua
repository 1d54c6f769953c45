--- Runs the actions of a real deploy (what the steps registered while the
--- whole flow was evaluated) in order, with the state file.
---
--- An action finished with the same inputs hash is skipped when its outputs
--- are still valid: always for local work (image customization, rebuilds),
--- and with `--resume` also for the remote checks (`recheck = true`: fetch,
--- mirror, deploy command), which otherwise run again because they are
--- cheap when nothing changed (304, blobs present) and notice upstream
--- changes. Each action's wall time goes into the state file.
local core = require("apex.core")
local state = require("apex.state")
local util = require("apex.util")

local M = {}

M.KEEP_RUNS = 20

---@class apex.Action
---@field step integer
---@field key string                 unique name in the state file
---@field inputs fun(): any          what the action depends on (hashed when it is about to run)
---@field run fun(prev: apex.StepRecord?): table?   does the work, returns outputs kept in the state
---@field recheck? boolean           run again on a full (not --resume) run even when done
---@field valid? fun(outputs: table): boolean   the outputs still exist (e.g. a file)
---@field reuse? fun(outputs: table)  when skipped: put the recorded outputs back into ctx

--- Registers an action (real mode only).
---@param ctx apex.Ctx
---@param a apex.Action
function M.add(ctx, a)
  ctx.todo = ctx.todo or {}
  ctx.todo[#ctx.todo + 1] = a
end

local function now()
  return core.now().unix
end

--- Runs every registered action; raises on the first failure (after
--- recording it, so `--resume` continues there).
---@param ctx apex.Ctx
---@return {key: string, step: integer, skipped: boolean, seconds: number}[]
function M.execute(ctx)
  local st = state.load(ctx.tmp_dir)
  ctx.state = st
  local run = { started = now(), resume = ctx.opts.resume and true or false, steps = {}, evaluate = ctx.eval_seconds }
  st.data.runs[#st.data.runs + 1] = run
  while #st.data.runs > M.KEEP_RUNS do table.remove(st.data.runs, 1) end
  local report = {}
  for _, a in ipairs(ctx.todo or {}) do
    local t0 = now()
    local inputs = state.hash(a.inputs())
    local prev = state.get(st, a.key)
    local skip = state.done(st, a.key, inputs) and (ctx.opts.resume or not a.recheck)
        and (a.valid == nil or a.valid(prev.outputs or {}))
    if skip then
      if a.reuse then a.reuse(prev.outputs or {}) end
      prev.skipped = true
      prev.last_seconds = now() - t0
      core.log({ level = "info", msg = string.format("step %d %s: done before with the same inputs; skipped", a.step, a.key) })
    else
      core.log({ level = "info", msg = string.format("step %d %s", a.step, a.key) })
      state.put(st, a.key, { step = a.step, status = "running", inputs = inputs, outputs = prev and prev.outputs })
      local ok, out = pcall(a.run, prev)
      local seconds = now() - t0
      if not ok then
        local msg = util.message(out)
        state.put(st, a.key, { step = a.step, status = "failed", inputs = inputs, error = msg, seconds = seconds,
          outputs = prev and prev.outputs })
        run.steps[a.key] = { seconds = seconds, status = "failed" }
        run.failed = a.key
        state.save(st)
        util.fail("step %d (%s) failed: %s\n(fix the cause, then `apex deploy ... --resume` continues here)", a.step,
          a.key, msg)
      end
      state.put(st, a.key, { step = a.step, status = "done", inputs = inputs, outputs = out or {}, seconds = seconds,
        skipped = false, last_seconds = seconds })
    end
    local rec = state.get(st, a.key)
    run.steps[a.key] = { seconds = rec.last_seconds, skipped = skip }
    report[#report + 1] = { key = a.key, step = a.step, skipped = skip, seconds = rec.last_seconds }
  end
  run.seconds = now() - run.started
  run.finished = true
  state.save(st)
  return report
end

return M
