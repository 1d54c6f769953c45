--- `apex destroy`: removes what apex created on this host for one deploy (its
--- tmp dir), as recorded in <tmp>/vms.json while it was made: the VMs (only
--- those carrying this tmp dir's owner mark), their disks, the virtual BMCs
--- and their vbmcd, the libvirt networks apex defined. Nothing else is
--- touched. The state of step 2's actions is dropped, so the next deploy
--- creates them again.
local core = require("apex.core")
local util = require("apex.util")
local state = require("apex.state")
local uvm = require("apex.undercloud_vm")

local M = {}

local undercloud_step = require("steps.undercloud")

---@param opts {tmp_dir: string}
---@return {domains: integer, disks: integer, networks: integer, bmcs: integer}
function M.run(opts)
  local tmp = opts.tmp_dir
  local running = core.tmp_dir.status({ path = tmp }).running
  if running then util.fail("a deploy runs with %s (%s); stop it first", tmp, running) end
  local rec = uvm.load_record(tmp)
  local done = { domains = 0, disks = 0, networks = 0, bmcs = 0 }
  local out = {}
  if rec.vbmc then
    for _, d in ipairs(rec.domains) do
      if core.vbmc.remove({ vbmc = rec.vbmc, domain = d }).removed then done.bmcs = done.bmcs + 1 end
    end
    if core.vbmc.stop({ vbmc = rec.vbmc }).stopped then out[#out + 1] = "stopped vbmcd of " .. rec.vbmc.dir end
  end
  for _, d in ipairs(rec.domains) do
    local st = core.vm.state({ uri = rec.uri, name = d })
    if st.exists and st.owner ~= tmp then
      out[#out + 1] = string.format("left domain %s alone: not apex's for %s (owner: %s)", d, tmp, st.owner or "none")
    elseif core.vm.remove({ uri = rec.uri, name = d, owner = tmp }).removed then
      done.domains = done.domains + 1
      out[#out + 1] = "removed domain " .. d
    end
  end
  for _, p in ipairs(rec.disks) do
    if core.fs.exists({ path = p }).exists then
      core.fs.remove({ path = p })
      done.disks = done.disks + 1
      out[#out + 1] = "removed disk " .. p
    end
  end
  for _, n in ipairs(rec.networks) do
    if core.vm.network_remove({ uri = rec.uri, name = n }).removed then
      done.networks = done.networks + 1
      out[#out + 1] = "removed network " .. n
    end
  end
  core.fs.remove({ path = util.path(tmp, uvm.RECORD) })
  if core.fs.exists({ path = util.path(tmp, "state.json") }).kind == "file" then
    local st = state.load(tmp)
    for _, k in pairs(undercloud_step.KEYS) do st.data.steps[k] = nil end
    state.save(st)
  end
  if #out == 0 then out[1] = "nothing apex created is recorded for " .. tmp end
  io.write(table.concat(out, "\n"), "\n")
  return done
end

return M
