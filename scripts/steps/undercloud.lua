--- Step 2: the undercloud, an existing host reached over SSH. It creates the
--- work dir and, in the same command, reads back the sums of what the last
--- run uploaded there, so a work dir wiped or changed since (a reinstalled
--- undercloud) is uploaded again.
local core = require("apex.core")
local util = require("apex.util")
local runner = require("apex.runner")
local site_mod = require("apex.site")
local state = require("apex.state")
local plan = require("apex.plan")

---@type apex.Step
local M = { number = 2, name = "undercloud", summary = "reach the undercloud" }

--- Parses `sha256sum` output into name -> sum.
---@param text string
---@return table<string, string>
local function parse_sums(text)
  local sums = {}
  for sum, name in text:gmatch("(%x+)  ([^\n]+)") do sums[name] = sum end
  return sums
end

---@param ctx apex.Ctx
function M.plan(ctx)
  local u = ctx.infra.undercloud
  local where = u.user .. "@" .. u.address .. (u.port ~= 22 and (":" .. u.port) or "")
  runner.add(ctx, {
    step = M.number, key = "undercloud", recheck = true, group = runner.INDEPENDENT,
    text = string.format("reach the undercloud %s over SSH (host key checked against known_hosts), create %s",
      where, u.work_dir),
    inputs = function() return { host = site_mod.ssh_host(ctx.infra), work_dir = u.work_dir } end,
    run = function()
      local q = util.shell_quote(u.work_dir)
      local names = {}
      for _, key in ipairs(runner.UPLOADS) do
        local rec = state.get(ctx.state, key)
        for name in pairs(rec and rec.outputs and rec.outputs.sent or {}) do names[#names + 1] = name end
      end
      table.sort(names)
      local check = ""
      if #names > 0 then
        local quoted = {}
        for i, n in ipairs(names) do quoted[i] = util.shell_quote(n) end
        check = "; echo '--- sums'; cd " .. q .. " && { test -d containers || echo 'no containers/'; sha256sum -- "
            .. table.concat(quoted, " ") .. " 2>/dev/null; }; true"
      end
      local r = core.run_ssh({ host = site_mod.ssh_host(ctx.infra),
        command = "mkdir -p " .. q .. " && test -w " .. q .. " && uname -n" .. check })
      local node, sums = r.stdout:match("^(.-)\n%-%-%- sums\n(.*)$")
      ctx.uploaded_sums = parse_sums(sums or "")
      -- The patch archive counts as there only with its unpacked containers/.
      if (sums or ""):find("no containers/", 1, true) then ctx.uploaded_sums[plan.ARCHIVE] = nil end
      return { node = ((node or r.stdout):gsub("%s+$", "")) }
    end,
  })
end

return M
