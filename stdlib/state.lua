--- The deploy state file (`<tmp_dir>/state.json`): for each step that acts on
--- a host, registry or engine, its status, a hash of its inputs, what it
--- produced and how long it took. Written atomically and synced after every
--- change, so a crash leaves the last finished step on disk and `--resume`
--- continues from the failed one.
local core = require("apex.core")
local util = require("apex.util")

local M = {}

M.FILE = "state.json"
M.VERSION = 1

---@class apex.StepRecord
---@field step integer
---@field order? integer      the action's place in the run (sub-steps of a step are listed in it)
---@field status "running"|"done"|"failed"|"interrupted"
---@field inputs string       sha256 of the step's inputs
---@field seconds? number     wall time of the last run of the step
---@field skipped? boolean    the last run found it done with the same inputs
---@field outputs? table
---@field error? string

---@class apex.State
---@field path string
---@field data {version: integer, steps: table<string, apex.StepRecord>, runs: table[]}

--- A stable hash of plain data (YAML dump sorts map keys).
---@param value any
---@return string
function M.hash(value)
  return core.data.sha256({ text = core.yaml.dump({ v = value }) }).hex
end

--- Loads the state of a tmp dir (empty when there is none; a corrupt file is
--- an error naming it, never silently dropped).
---@param tmp_dir string
---@return apex.State
function M.load(tmp_dir)
  local path = util.path(tmp_dir, M.FILE)
  local data = { version = M.VERSION, steps = {}, runs = {} }
  if core.fs.exists({ path = path }).kind == "file" then
    local ok, v = pcall(core.json.load, { path = path })
    if not ok or type(v) ~= "table" or type(v.steps) ~= "table" then
      util.fail("%s: not a deploy state file (%s); remove it to start over", path,
        ok and "no steps" or util.message(v))
    end
    data = v
    data.runs = type(data.runs) == "table" and data.runs or {}
  end
  return { path = path, data = data }
end

--- Writes the state atomically and syncs it.
---@param st apex.State
function M.save(st)
  core.fs.write({ path = st.path, content = core.json.dump(st.data, { pretty = true }), sync = true })
end

--- The record of a step, if any.
---@param st apex.State
---@param key string
---@return apex.StepRecord?
function M.get(st, key)
  return st.data.steps[key]
end

--- Whether a step finished with these inputs.
---@param st apex.State
---@param key string
---@param inputs string
---@return boolean
function M.done(st, key, inputs)
  local r = st.data.steps[key]
  return r ~= nil and r.status == "done" and r.inputs == inputs
end

--- The sha256 of a local file, computed again only when its size or
--- modification time changed since the last run (kept in the state):
--- overcloud images are GBs, and a rerun should not read them to find out
--- nothing changed.
---@param st apex.State?
---@param path string
---@return string
function M.file_sum(st, path)
  local e = core.fs.exists({ path = path })
  if not e.exists then util.fail("%s: missing", path) end
  local sums = st and st.data.sums
  if st and not sums then
    sums = {}
    st.data.sums = sums
  end
  local kept = sums and sums[path]
  if kept and kept.size == e.size and kept.mtime == e.mtime then return kept.sha256 end
  local hex = core.data.sha256({ path = path }).hex
  if sums then sums[path] = { size = e.size, mtime = e.mtime, sha256 = hex } end
  return hex
end

--- Records a step's status (and saves).
---@param st apex.State
---@param key string
---@param rec apex.StepRecord
function M.put(st, key, rec)
  st.data.steps[key] = rec
  M.save(st)
end

--- The record of a patched image's last rebuild (step 8d) lives under
--- `rebuild/<image>`; `apex registry prune` keeps every manifest one of them
--- names. The one place that writes and reads it.
M.REBUILD_PREFIX = "rebuild/"

---@class apex.RebuildRecord
---@field image string   short name, e.g. "nova-api"
---@field digest string  manifest digest the rebuild pushed
---@field user string    the REAL_USER it was built with
---@field source string  the base it was built from, `host:port/repo:tag`
---@field registry? string  the registry it was pushed to (the host of `source`)

--- Records a rebuild of `image` (done, with the inputs hash of its Dockerfile and base).
---@param st apex.State
---@param image string
---@param inputs string
---@param built {digest: string, user: string, source: string}
---@param step integer
function M.put_rebuild(st, image, inputs, built, step)
  M.put(st, M.REBUILD_PREFIX .. image, { step = step, status = "done", inputs = inputs,
    outputs = { digest = built.digest, user = built.user, source = built.source } })
end

--- The recorded rebuild of `image`, if any (and whether its inputs were `inputs`).
---@param st apex.State
---@param image string
---@param inputs string?
---@return apex.RebuildRecord?, boolean
function M.rebuild(st, image, inputs)
  local key = M.REBUILD_PREFIX .. image
  local r = st.data.steps[key]
  local out = r and type(r.outputs) == "table" and type(r.outputs.digest) == "string" and r.outputs or nil
  if not out then return nil, false end
  local rec = { image = image, digest = out.digest, user = out.user, source = out.source,
    registry = type(out.source) == "string" and out.source:match("^([^/]+)/") or nil }
  return rec, inputs ~= nil and M.done(st, key, inputs)
end

--- Every rebuild a state records, sorted by image.
---@param st apex.State
---@return apex.RebuildRecord[]
function M.rebuilds(st)
  local out = {}
  for key in pairs(st.data.steps) do
    if key:sub(1, #M.REBUILD_PREFIX) == M.REBUILD_PREFIX then
      local rec = M.rebuild(st, key:sub(#M.REBUILD_PREFIX + 1))
      if rec then out[#out + 1] = rec end
    end
  end
  table.sort(out, function(a, b) return a.image < b.image end)
  return out
end

--- How many earlier runs `apex status` lists.
M.RUNS_SHOWN = 5

local function when(unix)
  return unix and os.date("!%Y-%m-%d %H:%M:%S UTC", math.floor(unix)) or "?"
end

--- One line for a run of the runs list.
---@param run table
---@param running boolean   a deploy holds the tmp dir now
local function run_line(run, running)
  local how
  if run.failed then
    local failed = {}
    for key, r in pairs(run.steps or {}) do
      if r.status == "failed" then failed[#failed + 1] = key end
    end
    table.sort(failed)
    how = "failed: " .. (#failed > 0 and table.concat(failed, ", ") or run.failed)
  elseif run.finished then
    how = "finished"
  elseif run.interrupted then
    how = "interrupted by " .. run.interrupted
  else
    how = running and "running now" or "interrupted (killed or crashed)"
  end
  return string.format("%s%s  %s%s", when(run.started), run.resume and " (--resume)" or "", how,
    run.seconds and string.format(", %.1fs", run.seconds) or "")
end

--- The first line of an error (with the next one when it only introduces
--- a list), cut to a terminal's width.
local function first_line(msg)
  local first, rest = tostring(msg):match("^([^\n]*)\n?(.*)$")
  local line = first
  if first:sub(-1) == ":" and rest ~= "" then
    line = first .. " " .. rest:match("^%s*([^\n]*)")
  end
  return #line > 110 and line:sub(1, 107) .. "..." or line
end

--- What `apex status` prints about a tmp dir's state: each recorded step
--- (done, failed with the first line of its error, or interrupted), then the
--- last runs, newest first.
---@param st apex.State
---@param running string?   who holds the tmp dir now (a running deploy)
---@return string[]
function M.status_lines(st, running)
  local out = { st.path }
  if running then out[#out + 1] = running .. " is deploying from this dir now" end
  local keys = {}
  for key in pairs(st.data.steps) do keys[#keys + 1] = key end
  -- By step, then in the order the run took them (records of an older apex
  -- have no order: those by name).
  local huge = math.maxinteger
  table.sort(keys, function(a, b)
    local ra, rb = st.data.steps[a], st.data.steps[b]
    local sa, sb = tonumber(ra.step) or 0, tonumber(rb.step) or 0
    if sa ~= sb then return sa < sb end
    local oa, ob = math.tointeger(ra.order) or huge, math.tointeger(rb.order) or huge
    if oa ~= ob then return oa < ob end
    return a < b
  end)
  if #keys == 0 then out[#out + 1] = "no step recorded yet" end
  local width = 0
  for _, key in ipairs(keys) do width = math.max(width, #key) end
  for _, key in ipairs(keys) do
    local r = st.data.steps[key]
    local status = r.status
    if status == "running" and not running then status = "interrupted" end
    local line = string.format("  step %-2s %-" .. width .. "s  %-11s %8s", tostring(r.step or "?"), key, status,
      r.seconds and string.format("%.2fs", r.seconds) or "")
    if (r.status == "failed" or r.status == "interrupted") and r.error then line = line .. "  " .. first_line(r.error) end
    out[#out + 1] = line
  end
  local runs = st.data.runs
  if #runs > 0 then
    out[#out + 1] = string.format("runs (%d recorded, newest first):", #runs)
    for i = #runs, math.max(1, #runs - M.RUNS_SHOWN + 1), -1 do
      out[#out + 1] = "  " .. run_line(runs[i], running ~= nil and i == #runs)
    end
    local last = runs[#runs]
    if last.failed or (not last.finished and not running) then
      out[#out + 1] = "`apex deploy ... --resume` with this tmp dir continues at the step that did not finish"
    end
  end
  return out
end

--- After SIGINT/SIGTERM stopped a run (`opts.signal`): the steps it left
--- `running` become `interrupted`, and the last run says so. No state (the
--- run stopped before any step) is left as it is.
---@param opts {tmp_dir: string, signal: string}
function M.mark_interrupted(opts)
  if core.fs.exists({ path = util.path(opts.tmp_dir, M.FILE) }).kind ~= "file" then return end
  local st = M.load(opts.tmp_dir)
  for _, r in pairs(st.data.steps) do
    if r.status == "running" then
      r.status = "interrupted"
      r.error = "interrupted by " .. opts.signal
    end
  end
  local last = st.data.runs[#st.data.runs]
  if last and not last.finished then last.interrupted = opts.signal end
  M.save(st)
end

--- `apex status`: prints the state of `opts.tmp_dir` (or that there is
--- none, with a hint: the command then exits non-zero), whether a deploy
--- runs there now and what a killed run left.
---@param opts {tmp_dir: string}
---@return {found: boolean}
function M.print_status(opts)
  local now = core.tmp_dir.status({ path = opts.tmp_dir })
  opts = { tmp_dir = opts.tmp_dir, running = now.running, leftovers = now.leftovers }
  local lines
  local found = core.fs.exists({ path = util.path(opts.tmp_dir, M.FILE) }).kind == "file"
  if not found then
    local why = core.fs.exists({ path = opts.tmp_dir }).kind == "dir"
        and "no real deploy has run with this tmp dir; a --plan records no state"
        or "the tmp dir does not exist"
    lines = { string.format("%s: no deploy state (%s)", opts.tmp_dir, why),
      "hint: `apex deploy ... -s SITE` (without --plan) records one here; for a deploy run with --tmp-dir DIR: "
      .. "`apex status --tmp-dir DIR`" }
  else
    lines = M.status_lines(M.load(opts.tmp_dir), opts.running)
  end
  local progress = require("apex.stack_watch").status_line(opts.tmp_dir, opts.running ~= nil)
  if progress then lines[#lines + 1] = progress end
  for _, l in ipairs(opts.leftovers or {}) do
    lines[#lines + 1] = string.format("left by a killed run: %s (%d mounts, %d loop devices, %.1f MiB); the next deploy "
      .. "with this tmp dir removes it", l.path, #l.mounts, #l.loops, l.bytes / 1048576)
  end
  io.write(table.concat(lines, "\n"), "\n")
  return { found = found }
end

return M
