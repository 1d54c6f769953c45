--- `apex test`: finds `*_test.lua` files, runs their cases and reports
--- `N passed, N failed`. A failing case makes the command exit non-zero.
local core = require("apex.core")
local t = require("apex.test")

local M = {}

--- Collects test files under a path (a file is taken as it is).
---@param path string
---@param out string[]
local function collect(path, out)
  local st = core.exists({ path = path })
  if not st.exists then
    error(string.format("apex test: %s does not exist", path), 0)
  end
  if st.kind == "file" then
    out[#out + 1] = path
    return
  end
  for _, name in ipairs(core.list_dir({ path = path }).entries) do
    local child = path .. "/" .. name
    local kind = core.exists({ path = child }).kind
    if kind == "dir" then
      collect(child, out)
    elseif name:match("_test%.lua$") then
      out[#out + 1] = child
    end
  end
end

---@class apex.test.Report
---@field passed integer
---@field failed integer
---@field failures {name: string, where: string, message: string}[]

--- Runs the tests under `opts.paths` and prints a report.
---@param opts {paths: string[], quiet?: boolean}
---@return apex.test.Report
function M.run(opts)
  local files = {}
  for _, p in ipairs(opts.paths) do
    collect(p, files)
  end
  table.sort(files)
  local report = { passed = 0, failed = 0, failures = {} }
  local function failure(name, where, message)
    report.failed = report.failed + 1
    report.failures[#report.failures + 1] = { name = name, where = where, message = message }
    print(string.format("FAIL %s (%s)\n  %s", name, where, message:gsub("\n", "\n  ")))
  end
  for _, file in ipairs(files) do
    local source = core.read_file({ path = file }).content
    local chunk, err = load(source, "@" .. file)
    t.take()
    if not chunk then
      failure(file, file, "cannot load: " .. tostring(err))
    else
      local ok, lerr = xpcall(chunk, debug.traceback)
      if not ok then
        failure(file, file, "error while defining tests: " .. tostring(lerr))
      end
      for _, case in ipairs(t.take()) do
        local cok, cerr = xpcall(case.fn, debug.traceback)
        if cok then
          report.passed = report.passed + 1
          if not opts.quiet then
            print("ok   " .. case.name)
          end
        else
          failure(case.name, case.where, tostring(cerr))
        end
      end
    end
  end
  print(string.format("%d passed, %d failed", report.passed, report.failed))
  return report
end

return M
