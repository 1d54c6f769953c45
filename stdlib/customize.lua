--- Overcloud image customization: the customization list (what plugins and
--- patches ask for, `apex.Customization`) translated into `customize_image`
--- operations, and the operations that put a persistent loop device into an
--- image. Pure functions: the steps call them when they run.
local core = require("apex.core")
local util = require("apex.util")

local M = {}

local function exists(path)
  return core.exists({ path = path }).exists
end

--- Whether a program is on PATH.
---@param name string
---@return boolean
function M.have_program(name)
  local path = core.env({ name = "PATH" }).value or "/usr/sbin:/usr/bin:/sbin:/bin"
  for dir in path:gmatch("[^:]+") do
    if exists(dir .. "/" .. name) then return true end
  end
  return false
end

--- The file and destination of an upload/unpack/patch customization
--- (`FILE:/absolute/destination`); nil when the argument is not of that form.
---@param arg string
---@return string? file, string? dest
function M.file_and_dest(arg)
  local file, dest = arg:match("^([^:/][^:]*):(/.*)$")
  return file, dest
end

--- Customization ops whose argument is `FILE:/destination`.
local FILE_OPS = { upload = true, unpack = true, patch = true }

--- A local file a customization names: written by this deploy
--- (`overcloud_patches/<name>`) or fetched in step 1 (a plugin's artifact).
---@param ctx apex.Ctx
---@param name string
---@return string?
local function customization_file(ctx, name)
  local rel = util.path("overcloud_patches", name)
  if ctx.files[rel] then return util.path(ctx.tmp_dir, rel) end
  local a = ctx.artifacts and ctx.artifacts[name]
  return a and a.path
end

--- The shell line that installs `arg`'s packages (separated by commas or
--- spaces, as virt-customize --install takes them) with the image's own
--- package manager: yum when the image has /usr/bin/yum, else dnf, else it
--- fails naming what it looked for. Nil when `arg` names no package.
---@param arg string
---@return string?
function M.install_command(arg)
  local pkgs = {}
  for p in arg:gmatch("[^,%s]+") do pkgs[#pkgs + 1] = util.shell_quote(p) end
  if #pkgs == 0 then return nil end
  local list = table.concat(pkgs, " ")
  return string.format("if [ -x /usr/bin/yum ]; then /usr/bin/yum -y install %s; "
    .. "elif [ -x /usr/bin/dnf ]; then /usr/bin/dnf -y install %s; "
    .. "else echo 'cannot install %s: the image has neither /usr/bin/yum nor /usr/bin/dnf' >&2; exit 127; fi",
    list, list, (list:gsub("'", "")))
end

--- Translates the overcloud customization list into customize_image
--- operations, in their order: file ops (upload, remove, unpack, patch) and
--- run ops (`run-command` as it is, `install` through the image's package
--- manager: M.install_command); what cannot be translated is recorded as
--- skipped with the reason. A `remove` goes with the upload/unpack of the same
--- reason: when that is left out (its file is missing), so is the remove, and
--- the image keeps what it has. Called when step 3 runs (step 1's artifacts
--- are known).
---@param ctx apex.Ctx
---@param list apex.Customization[]
---@return apex.ImageOp[] ops, {op: string, arg: string, why: string}[] skipped
function M.image_ops(ctx, list)
  local ops, skipped = core.array(), core.array()
  local function skip(c, why)
    skipped[#skipped + 1] = { op = c.op, arg = c.arg, reason = c.reason, why = why }
  end
  -- Reasons whose replacement file is missing (their removes are left out too).
  local unplaced = {}
  for _, c in ipairs(list) do
    local file = FILE_OPS[c.op] and M.file_and_dest(c.arg)
    if file and not customization_file(ctx, file) then unplaced[c.reason] = c.op .. " " .. c.arg end
  end
  for _, c in ipairs(list) do
    local file, dest = M.file_and_dest(c.arg)
    if c.op == "install" then
      local cmd = M.install_command(c.arg)
      if cmd then
        ops[#ops + 1] = { op = "run", command = cmd }
      else
        skip(c, "names no package")
      end
    elseif c.op == "run-command" then
      if c.arg:match("%S") then
        ops[#ops + 1] = { op = "run", command = c.arg }
      else
        skip(c, "empty command")
      end
    elseif c.op == "remove" then
      if unplaced[c.reason] then
        skip(c, "goes with " .. unplaced[c.reason] .. ", which is left out")
      elseif c.arg:sub(1, 1) == "/" then
        ops[#ops + 1] = { op = "remove", path = c.arg }
      else
        skip(c, "the path to remove is not absolute")
      end
    elseif FILE_OPS[c.op] then
      local from = file and customization_file(ctx, file)
      if not file then
        skip(c, "expected FILE:/absolute/destination")
      elseif not from then
        skip(c, file .. " is neither written by this deploy nor fetched from the artifact server")
      elseif c.op == "unpack" then
        ops[#ops + 1] = { op = "unpack", from = from, to = dest }
      elseif c.op == "patch" then
        ops[#ops + 1] = { op = "patch", from = from, dir = dest }
      else
        ops[#ops + 1] = { op = "upload", from = from, to = dest:sub(-1) == "/" and (dest .. file) or dest }
      end
    else
      skip(c, "customization op " .. tostring(c.op) .. " has no image-file translation")
    end
  end
  return ops, skipped
end

--- The file ops that put a persistent loop device into an image: the sparse
--- backing file, the unit (from core.loop_unit, named and ordered as the
--- plugin says) and its enable symlink; and the unit itself.
---@param l apex.LoopDeviceRequest
---@return apex.ImageOp[] ops, apex.LoopUnit unit
function M.loop_ops(l)
  local u = core.loop_unit({ device = l.device, file = l.backing_file, name = l.unit_name, purpose = l.purpose,
    before = l.before })
  return {
    { op = "truncate", path = l.backing_file, size = l.size },
    { op = "write", path = u.path, content = u.text, mode = 420 },
    { op = "symlink", path = u.enable_link, target = u.enable_target },
  }, u
end

return M
