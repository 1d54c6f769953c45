--- Following the overcloud stack while the deploy command runs: what an
--- operator does by hand with `openstack stack resource list -n 5`, done
--- every few seconds on the undercloud (through the same SSH connection).
--- Each change is one progress line (resources complete / total, elapsed
--- time, the resources in progress the longest) to apex.log, and to the
--- console when it is not a terminal; on a terminal the console shows a bar
--- of resources complete / total instead (the lines with -v);
--- after a quiet time with no change the resources in progress are named as
--- possibly stuck. The last line is kept in `<tmp>/deploy_progress.json`
--- for `apex status` in another terminal.
---
--- Times in progress are measured on apex's clock (first seen in progress),
--- not from the undercloud's timestamps, so a skewed undercloud clock does
--- not make resources look old.
local core = require("apex.core")
local util = require("apex.util")

local M = {}

M.FILE = "deploy_progress.json"
M.COMMAND = "stack resource list overcloud -n 5 -f json"
M.LONGEST = 3

---@class apex.StackProgress
---@field complete integer
---@field total integer
---@field failed string[]
---@field in_progress {name: string, seconds: number}[]  longest first
---@field elapsed number
---@field quiet number           seconds since the last change
---@field stuck boolean          quiet for the quiet time with resources in progress
---@field line string

--- Minutes and seconds: "12m05s" ("45s" under a minute).
---@param s number
---@return string
function M.duration(s)
  s = math.floor(s + 0.5)
  if s < 60 then return string.format("%ds", s) end
  if s < 3600 then return string.format("%dm%02ds", s // 60, s % 60) end
  return string.format("%dh%02dm", s // 3600, (s % 3600) // 60)
end

--- A follower: feed it each `stack resource list -f json` answer with the
--- time it was read; it keeps when each resource was first seen in progress
--- and when anything last changed.
---@param started number  when the deploy command started (unix seconds)
---@param quiet_time number  seconds without change before resources are named possibly stuck
function M.new(started, quiet_time)
  return { started = started, quiet_time = quiet_time, seen = {}, last_change = started, states = {} }
end

--- Takes one answer (a list of {resource_name, resource_status, stack_name?})
--- read at `now`; returns the progress.
---@param f table  from M.new
---@param list table[]
---@param now number
---@return apex.StackProgress
function M.update(f, list, now)
  local states, complete, total, failed, running = {}, 0, 0, {}, {}
  for _, r in ipairs(type(list) == "table" and list or {}) do
    if type(r) == "table" and type(r.resource_name) == "string" then
      local name = r.resource_name
      local key = tostring(r.stack_name or "") .. "/" .. r.resource_name
      local st = tostring(r.resource_status or "")
      states[key] = st
      total = total + 1
      if st:match("_COMPLETE$") and st ~= "INIT_COMPLETE" then
        complete = complete + 1
      elseif st:match("_FAILED$") then
        failed[#failed + 1] = name
      elseif st:match("_IN_PROGRESS$") then
        f.seen[key] = f.seen[key] or now
        running[#running + 1] = { name = name, seconds = now - f.seen[key] }
      end
    end
  end
  for key, st in pairs(states) do
    if f.states[key] ~= st then f.last_change = now end
  end
  for key in pairs(f.states) do
    if states[key] == nil then f.last_change = now end
  end
  f.states = states
  table.sort(running, function(a, b)
    if a.seconds ~= b.seconds then return a.seconds > b.seconds end
    return a.name < b.name
  end)
  local quiet = now - f.last_change
  local p = {
    complete = complete, total = total, failed = failed, in_progress = running,
    elapsed = now - f.started, quiet = quiet, stuck = #running > 0 and quiet >= f.quiet_time,
  }
  local longest = {}
  for i = 1, math.min(M.LONGEST, #running) do
    longest[i] = string.format("%s (%s)", running[i].name, M.duration(running[i].seconds))
  end
  local line = string.format("overcloud stack: %d/%d resources complete, %s elapsed", complete, total,
    M.duration(p.elapsed))
  if #failed > 0 then line = line .. "; failed: " .. table.concat(failed, ", ") end
  if #longest > 0 then line = line .. "; in progress longest: " .. table.concat(longest, ", ") end
  if p.stuck then
    line = line .. string.format("; no change for %s: possibly stuck: %s", M.duration(quiet),
      table.concat(longest, ", "))
  end
  p.line = line
  return p
end

--- Runs `fn` (the deploy command) while following the stack: `poll()`
--- returns the resource list (or nil, err) and is called every `every`
--- seconds (the first time after `every`, so a quick command polls
--- nothing). Progress lines go to the log when they change (at debug when
--- a bar shows them on a terminal; a possibly stuck stack is a warning
--- either way); the last goes to `<tmp_dir>/deploy_progress.json`. Returns
--- what `fn` returned.
---@param opts {tmp_dir: string, every: number, quiet_time: number, poll: fun(): table?, string?}
---@param fn fun(): any
---@return any
function M.while_running(opts, fn)
  local file = util.path(opts.tmp_dir, M.FILE)
  local started = core.os.now().unix
  local f = M.new(started, opts.quiet_time)
  local done, result, err = false, nil, nil
  local last_line, said_stuck, last = nil, false, nil
  local bar = core.progress.start({ label = "overcloud stack resources" })
  local function write(p)
    core.fs.write({ path = file, content = core.json.dump({ at = core.os.now().unix, started = started, running = not done,
      complete = p.complete, total = p.total, stuck = p.stuck, line = p.line }) .. "\n" })
  end
  core.parallel.map({ "deploy", "watch" }, function(role)
    if role == "deploy" then
      local ok, v = pcall(fn)
      done = true
      if ok then result = v else err = v end
      return true
    end
    while not done do
      local waited = 0
      while not done and waited < opts.every do
        core.os.sleep({ seconds = 0.25 })
        waited = waited + 0.25
      end
      if done then break end
      local ok, list, why = pcall(opts.poll)
      if ok and list then
        local p = M.update(f, list, core.os.now().unix)
        -- The line without its times: said again only when something changed (or it turns stuck).
        local key = string.format("%d/%d %s", p.complete, p.total, table.concat(p.failed, ","))
        core.progress.set({ id = bar.id, done = p.complete, total = p.total })
        if key ~= last_line or (p.stuck and not said_stuck) then
          core.log.write({ level = p.stuck and "warn" or (bar.bar and "debug" or "info"), msg = p.line })
          last_line = key
          said_stuck = p.stuck
        end
        if not p.stuck then said_stuck = false end
        write(p)
        last = p
      else
        core.log.write({ level = "debug", msg = "following the stack: " .. util.message(ok and why or list) })
      end
    end
    return true
  end, { limit = 2 })
  -- The command ended: the last progress stays, no longer running.
  core.progress.finish({ id = bar.id, msg = last and last.line or "no resources read" })
  if last then write(last) end
  if err ~= nil then error(err, 0) end
  return result
end

--- The progress line `apex status` shows: the last one written, with its age.
---@param tmp_dir string
---@param run_active boolean  a deploy holds the tmp dir now
---@return string?
function M.status_line(tmp_dir, run_active)
  local file = util.path(tmp_dir, M.FILE)
  if core.fs.exists({ path = file }).kind ~= "file" then return nil end
  local ok, p = pcall(core.json.load, { path = file })
  if not ok or type(p) ~= "table" or type(p.line) ~= "string" then return nil end
  local age = core.os.now().unix - (p.at or 0)
  return string.format("%s (%s, read %s ago)", p.line, p.running and run_active and "deploy command running" or "last deploy command",
    M.duration(age))
end

return M
