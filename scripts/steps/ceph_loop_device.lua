--- Step 6: a persistent loop device when a plugin asks for one (Ceph without
--- a disk): the sparse backing file, the unit that attaches it at boot and
--- its enable link go into the overcloud image, with the customization of
--- step 3. The unit file is also written beside the plan, as it goes in.
local util = require("apex.util")
local plugins = require("apex.plugins")
local hook_ctx = require("apex.hook_ctx")
local plan = require("apex.plan")
local customize = require("apex.customize")
local runner = require("apex.runner")

---@type apex.Step
local M = { number = 6, name = "ceph_loop_device", summary = "persistent loop device for Ceph OSDs" }

---@param ctx apex.Ctx
function M.plan(ctx)
  for _, r in ipairs(plugins.call_all(ctx.plugins, "loop_devices", hook_ctx.new(ctx))) do
    for _, l in ipairs(r.result) do
      ctx.loop_devices[#ctx.loop_devices + 1] = l
      local ops, unit = customize.loop_ops(l)
      util.extend(ctx.image_ops, ops)
      plan.file(ctx, unit.name, unit.text, { upload = false })
      local image = runner.find(ctx, "customize_image")
      if not image then
        util.fail("step %d (%s): no customize_image action of step 3 to put the loop device into", M.number, M.name)
      end
      local details = image.details or {}
      details[#details + 1] = string.format("put sparse %s (%s) and %s attaching it as %s at boot (%s)",
        l.backing_file, l.size, unit.name, l.device, l.reason)
      image.details = details
    end
  end
end

return M
