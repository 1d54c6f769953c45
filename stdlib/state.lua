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
---@field status "running"|"done"|"failed"
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
  return core.sha256({ text = core.yaml_dump({ v = value }) }).hex
end

--- Loads the state of a tmp dir (empty when there is none; a corrupt file is
--- an error naming it, never silently dropped).
---@param tmp_dir string
---@return apex.State
function M.load(tmp_dir)
  local path = util.path(tmp_dir, M.FILE)
  local data = { version = M.VERSION, steps = {}, runs = {} }
  if core.exists({ path = path }).kind == "file" then
    local ok, v = pcall(core.json_load, { path = path })
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
  core.write_file({ path = st.path, content = core.json_dump(st.data, { pretty = true }), sync = true })
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

--- Records a step's status (and saves).
---@param st apex.State
---@param key string
---@param rec apex.StepRecord
function M.put(st, key, rec)
  st.data.steps[key] = rec
  M.save(st)
end

return M
