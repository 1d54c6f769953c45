--- `apex test`: finds `*_test.lua` files, runs their cases and reports
--- `N passed, N failed`. A failing case makes the command exit non-zero.
--- What the code under test prints (`print`, `io.write`: a plan's summary,
--- say) is held back and shown only under the case that failed, its last
--- lines; `apex -v test` lets it through as it comes.
local core = require("apex.core")
local t = require("apex.test")
local util = require("apex.util")

local M = {}

--- Collects test files under a path (a file is taken as it is).
---@param path string
---@param out string[]
local function collect(path, out)
  local st = core.fs.exists({ path = path })
  if not st.exists then
    util.fail("apex test: %s does not exist", path)
  end
  if st.kind == "file" then
    out[#out + 1] = path
    return
  end
  for _, name in ipairs(core.fs.list({ path = path }).entries) do
    local child = path .. "/" .. name
    local kind = core.fs.exists({ path = child }).kind
    if kind == "dir" then
      collect(child, out)
    elseif name:match("_test%.lua$") then
      out[#out + 1] = child
    end
  end
end

--- Lines of held-back output shown under a failed case, at most.
M.SHOWN_LINES = 40
--- Bytes of held-back output kept per case, at most (the oldest go first).
M.KEPT_BYTES = 1 << 20

--- Runs `fn` with `print` and `io.write` held back into a buffer (unless
--- `pass`); returns pcall's results and what was printed.
---@param pass boolean
---@param fn fun()
---@return boolean ok, any err, string printed
local function captured(pass, fn)
  if pass then
    local ok, err = xpcall(fn, debug.traceback)
    return ok, err, ""
  end
  local env = _ENV
  local real_print, real_write = env.print, io.write
  local parts, size = {}, 0
  local function keep(text)
    parts[#parts + 1] = text
    size = size + #text
    while size > M.KEPT_BYTES and #parts > 1 do
      size = size - #table.remove(parts, 1)
    end
  end
  env.print = function(...)
    local n, out = select("#", ...), {}
    for i = 1, n do out[i] = tostring((select(i, ...))) end
    keep(table.concat(out, "\t") .. "\n")
  end
  io.write = function(...)
    for i = 1, select("#", ...) do keep(tostring((select(i, ...)))) end
    return io.stdout
  end
  local ok, err = xpcall(fn, debug.traceback)
  env.print, io.write = real_print, real_write
  return ok, err, table.concat(parts)
end

--- The last `M.SHOWN_LINES` lines of held-back output, indented.
local function tail(printed)
  local lines = {}
  for l in printed:gmatch("[^\n]*") do lines[#lines + 1] = l end
  while #lines > 0 and lines[#lines] == "" do lines[#lines] = nil end
  if #lines == 0 then return nil end
  local first = math.max(1, #lines - M.SHOWN_LINES + 1)
  local out = { string.format("  output (%s%d lines):", first > 1 and "last " .. (#lines - first + 1) .. " of " or "",
    #lines) }
  for i = first, #lines do out[#out + 1] = "    " .. lines[i] end
  return table.concat(out, "\n")
end

---@class apex.test.Report
---@field passed integer
---@field failed integer
---@field failures {name: string, where: string, message: string}[]

--- Runs the tests under `opts.paths` and prints a report.
---@param opts {paths: string[], quiet?: boolean, verbose?: boolean}
---@return apex.test.Report
function M.run(opts)
  local files = {}
  for _, p in ipairs(opts.paths) do
    collect(p, files)
  end
  table.sort(files)
  local report = { passed = 0, failed = 0, failures = {} }
  local function failure(name, where, message, printed)
    report.failed = report.failed + 1
    report.failures[#report.failures + 1] = { name = name, where = where, message = message }
    print(string.format("FAIL %s (%s)\n  %s", name, where, (message:gsub("\n", "\n  "))))
    local shown = printed and tail(printed)
    if shown then print(shown) end
  end
  local pass = opts.verbose and true or false
  for _, file in ipairs(files) do
    local source = core.fs.read({ path = file }).content
    local chunk, err = load(source, "@" .. file)
    t.take()
    if not chunk then
      failure(file, file, "cannot load: " .. tostring(err))
    else
      local ok, lerr, lout = captured(pass, chunk)
      if not ok then
        failure(file, file, "error while defining tests: " .. tostring(lerr), lout)
      end
      for _, case in ipairs(t.take()) do
        local cok, cerr, cout = captured(pass, case.fn)
        if cok then
          report.passed = report.passed + 1
          if not opts.quiet then
            print("ok   " .. case.name)
          end
        else
          failure(case.name, case.where, tostring(cerr), cout)
        end
      end
    end
  end
  print(string.format("%d passed, %d failed", report.passed, report.failed))
  return report
end

return M
