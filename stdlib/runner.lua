--- The actions of a deploy: what the steps register while the whole flow is
--- evaluated. A plan shows them (their `text` and `details`); a real run
--- executes exactly them, in order, with the state file. Steps never ask
--- which mode they are in, so the plan is what the run does.
---
--- An action finished with the same inputs hash is skipped when its outputs
--- are still valid: always for local work (image customization, rebuilds)
--- and for the deploy command (unless `force`, i.e. `--redeploy`), and with
--- `--resume` also for the remote checks (`recheck = true`: fetch, mirror),
--- which otherwise run again because they are cheap when nothing changed
--- (304, blobs present) and notice upstream changes. Each action's wall time
--- goes into the state file.
local core = require("apex.core")
local state = require("apex.state")
local util = require("apex.util")

local M = {}

M.KEEP_RUNS = 20
-- The remote checks that need nothing from each other (artifacts, the
-- undercloud's SSH connection, registry copies): one group, so a rerun
-- waits for the slowest, not for their sum.
M.INDEPENDENT = "independent_remote"
-- Actions whose outputs.sent (name -> sha256) are files in the undercloud's
-- work dir; step 2 reads their sums back to notice a changed work dir.
M.UPLOADS = { "upload", "upload_deploy_files" }

--- Whether the undercloud still holds what an upload action sent (`sent`:
--- remote name -> sha256), as step 2 of this run read it back; a --resume
--- (nothing read back) trusts the state.
---@param ctx apex.Ctx
---@param sent table<string, string>?
---@return boolean
function M.still_uploaded(ctx, sent)
  if ctx.uploaded_sums == nil then return true end
  for name, sum in pairs(sent or {}) do
    if ctx.uploaded_sums[name] ~= sum then
      core.log.write({ level = "warn", msg = "the undercloud no longer has " .. name .. " as uploaded; uploading again" })
      return false
    end
  end
  return true
end

---@class apex.Action
---@field step integer
---@field key string                 unique name in the state file
---@field text string                one line: what it does (the plan and `apex status` show it)
---@field details? string[]          what it does, item by item (shown under the text)
---@field inputs fun(): any          what the action depends on (hashed when it is about to run)
---@field run fun(prev: apex.StepRecord?): table?   does the work, returns outputs kept in the state
---@field recheck? boolean           run again on a full (not --resume) run even when done
---@field force? boolean             run even when done with the same inputs
---@field skip_hint? string          said when it is skipped (how to run it anyway)
---@field valid? fun(outputs: table): boolean   the outputs still exist (e.g. a file)
---@field reuse? fun(outputs: table)  when skipped: put the recorded outputs back into ctx
---@field group? string             actions of one group run concurrently (none may need another's outputs)

--- Registers an action (in every mode: the plan lists what the run runs).
---@param ctx apex.Ctx
---@param a apex.Action
function M.add(ctx, a)
  ctx.todo = ctx.todo or core.data.array()
  if type(a.key) ~= "string" or type(a.text) ~= "string" or math.type(a.step) ~= "integer" then
    error("runner.add: an action needs step (integer), key and text (strings)", 2)
  end
  if M.find(ctx, a.key) then
    error("runner.add: a second action named " .. a.key, 2)
  end
  ctx.todo[#ctx.todo + 1] = a
end

--- The registered action named `key`, if any (a later step may add to it).
---@param ctx apex.Ctx
---@param key string
---@return apex.Action?
function M.find(ctx, key)
  for _, a in ipairs(ctx.todo or {}) do
    if a.key == key then return a end
  end
  return nil
end

--- The plan's view of the actions: step, key, text and details, in order.
---@param ctx apex.Ctx
---@return {step: integer, key: string, text: string, details: string[]}[]
function M.listing(ctx)
  local out = core.data.array()
  for _, a in ipairs(ctx.todo or {}) do
    local details = core.data.array()
    for i, d in ipairs(a.details or {}) do details[i] = d end
    out[#out + 1] = { step = a.step, key = a.key, text = a.text, details = details }
  end
  return out
end

local function now()
  return core.os.now().unix
end

--- Runs one action (or skips it when done with the same inputs); returns
--- whether it was skipped, or raises after recording the failure in the state.
local function run_one(ctx, st, run, a, order)
  local t0 = now()
  local inputs = state.hash(a.inputs())
  local prev = state.get(st, a.key)
  local skip = not a.force and state.done(st, a.key, inputs) and (ctx.opts.resume or not a.recheck)
      and (a.valid == nil or a.valid(prev.outputs or {}))
  if skip then
    if a.reuse then a.reuse(prev.outputs or {}) end
    prev.skipped = true
    prev.order = order
    prev.last_seconds = now() - t0
    core.log.write({ level = "info", msg = string.format("step %d %s: done before with the same inputs; skipped%s", a.step, a.key,
      a.skip_hint and (" (" .. a.skip_hint .. ")") or "") })
  else
    core.log.write({ level = "info", msg = string.format("step %d %s", a.step, a.key) })
    state.put(st, a.key, { step = a.step, order = order, status = "running", inputs = inputs,
      outputs = prev and prev.outputs })
    local ok, out = pcall(a.run, prev)
    local seconds = now() - t0
    if not ok then
      local msg = util.message(out)
      state.put(st, a.key, { step = a.step, order = order, status = "failed", inputs = inputs, error = msg,
        seconds = seconds, outputs = prev and prev.outputs })
      run.steps[a.key] = { seconds = seconds, status = "failed" }
      run.failed = run.failed or a.key
      util.fail("step %d (%s) failed: %s", a.step, a.key, msg)
    end
    state.put(st, a.key, { step = a.step, order = order, status = "done", inputs = inputs, outputs = out or {},
      seconds = seconds, skipped = false, last_seconds = seconds })
  end
  run.steps[a.key] = { seconds = state.get(st, a.key).last_seconds, skipped = skip }
  return skip
end

--- The actions sharing `a.group` (in registration order), run together at
--- the place of the first of them.
local function group_of(todo, a)
  if not a.group then return { a } end
  local members = {}
  for _, b in ipairs(todo) do
    if b.group == a.group then members[#members + 1] = b end
  end
  return members
end

--- Runs every registered action; raises on the first failure (after
--- recording it, so `--resume` continues there), naming every failed member
--- when it was a group. Actions of one `group`
--- (independent remote checks: none reads what another writes) run
--- concurrently, so a rerun waits for the slowest of them, not their sum;
--- every member finishes (and is recorded) before a failure is raised.
---@param ctx apex.Ctx
---@return {key: string, step: integer, skipped: boolean, seconds: number}[]
function M.execute(ctx)
  local st = state.load(ctx.tmp_dir)
  ctx.state = st
  local run = { started = now(), resume = ctx.opts.resume and true or false, steps = {}, evaluate = ctx.eval_seconds }
  st.data.runs[#st.data.runs + 1] = run
  while #st.data.runs > M.KEEP_RUNS do table.remove(st.data.runs, 1) end
  local todo, started, skipped, order = ctx.todo or {}, {}, {}, {}
  for i, a in ipairs(todo) do order[a] = i end
  for _, a in ipairs(todo) do
    if not started[a] then
      local members = group_of(todo, a)
      for _, b in ipairs(members) do started[b] = true end
      local results = core.parallel.map(members, function(b)
        local ok, res = pcall(run_one, ctx, st, run, b, order[b])
        return { ok = ok, res = res }
      end, { limit = #members })
      local failures = {}
      for i, r in ipairs(results) do
        if r.ok then
          skipped[members[i]] = r.res
        else
          failures[#failures + 1] = util.message(r.res)
        end
      end
      if #failures > 0 then
        state.save(st)
        -- Every failed member is said: one cause (an unreachable site) often fails several.
        local head = #failures > 1 and string.format("%d steps failed:\n", #failures) or ""
        util.fail("%s%s\n(fix the cause, then `apex deploy ... --resume` continues here; `apex status` shows every step)", head,
          table.concat(failures, "\n"))
      end
    end
  end
  local report = {}
  for _, a in ipairs(todo) do
    report[#report + 1] = { key = a.key, step = a.step, skipped = skipped[a], seconds = state.get(st, a.key).last_seconds }
  end
  run.seconds = now() - run.started
  run.finished = true
  state.save(st)
  return report
end

return M
