--- Overcloud image customization: the customization list (what plugins and
--- patches ask for, `apex.Customization`) translated into `core.image.customize`
--- operations, and the operations that put a persistent loop device into an
--- image. Pure functions: the steps call them when they run.
local core = require("apex.core")
local util = require("apex.util")

local M = {}

local function exists(path)
  return core.fs.exists({ path = path }).exists
end

--- Whether a program is on PATH.
---@param name string
---@return boolean
function M.have_program(name)
  local path = core.os.env({ name = "PATH" }).value or "/usr/sbin:/usr/bin:/sbin:/bin"
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

--- The shell line that runs the image's own package manager with `verb`
--- (install, remove) on `words` (shell words, already quoted where needed):
--- yum when the image has /usr/bin/yum, else dnf, else it fails (exit 127)
--- naming what it looked for and `what` it was for.
---@param verb "install"|"remove"
---@param words string
---@param what string  for the message, e.g. the packages
---@return string
function M.package_command(verb, words, what)
  local msg = util.shell_quote(string.format("cannot %s %s: the image has neither /usr/bin/yum nor /usr/bin/dnf", verb, what))
  return string.format("if [ -x /usr/bin/yum ]; then /usr/bin/yum -y %s %s; "
    .. "elif [ -x /usr/bin/dnf ]; then /usr/bin/dnf -y %s %s; "
    .. "else echo %s >&2; exit 127; fi", verb, words, verb, words, msg)
end

--- The shell line that installs (or with verb "remove", removes) `arg`'s
--- packages (separated by commas or spaces, as virt-customize --install takes
--- them; a word may be a path glob such as /root/rpms/*.rpm) with the image's
--- own package manager (M.package_command). Nil when `arg` names no package.
---@param arg string
---@param verb? "install"|"remove"
---@return string?
function M.install_command(arg, verb)
  local pkgs = {}
  for p in arg:gmatch("[^,%s]+") do
    pkgs[#pkgs + 1] = p:match("^[%w%./_+:@*-]+$") and p or util.shell_quote(p)
  end
  if #pkgs == 0 then return nil end
  local list = table.concat(pkgs, " ")
  return M.package_command(verb or "install", list, (list:gsub("'", "")))
end

--- A customization's permission mode ("0755") as a number; nil when absent.
---@param c apex.Customization
---@return integer?, string? err
function M.mode(c)
  if c.mode == nil then return nil end
  if type(c.mode) ~= "string" or not c.mode:match("^0?[0-7][0-7][0-7]$") then
    return nil, "mode " .. tostring(c.mode) .. " is not an octal permission mode such as \"0755\""
  end
  return tonumber(c.mode, 8)
end

--- The shell line that checks the image has each of `tools` before `command`
--- runs, failing (exit 127) with a message naming the missing tool and what
--- needed it.
---@param tools string[]
---@param command string
---@param what string
---@return string
function M.guarded(tools, command, what)
  if #tools == 0 then return command end
  local checks = {}
  for _, t in ipairs(tools) do
    checks[#checks + 1] = string.format("command -v %s >/dev/null 2>&1 || { echo %s >&2; exit 127; }",
      util.shell_quote(t), util.shell_quote(string.format("the image lacks %s, which %s needs", t, what)))
  end
  return table.concat(checks, "; ") .. "; " .. command
end

M.UNIT_DIR = "/usr/lib/systemd/system"
M.WANTS_DIR = "/etc/systemd/system"

--- What `systemctl enable UNIT` leaves in an image for a unit installed
--- under /usr/lib/systemd/system and wanted by `target`: the wants/ link.
---@param unit string
---@param target? string  default multi-user.target
---@return string link, string target
function M.enable_link(unit, target)
  return string.format("%s/%s.wants/%s", M.WANTS_DIR, target or "multi-user.target", unit), M.UNIT_DIR .. "/" .. unit
end

--- Adds `items` of `owner` (a plugin, the common base, the dataplane) to the
--- customization list: each item is marked with its owner; an item whose `id`
--- is already in the list from another owner replaces that whole group; an
--- item `{op = "drop", arg = ID}` removes the group. Returns what was
--- dropped, replaced or not found, for the plan.
---@param list apex.Customization[]
---@param owner string
---@param items apex.Customization[]
---@return string[] changes
function M.merge(list, owner, items)
  local changes = {}
  local function remove_group(id)
    local n, owners = 0, {}
    for i = #list, 1, -1 do
      if list[i].id == id and list[i].owner ~= owner then
        owners[list[i].owner or "?"] = true
        table.remove(list, i)
        n = n + 1
      end
    end
    return n, table.concat(util.sorted_keys(owners), ", ")
  end
  local replaced = {}
  for _, c in ipairs(items) do
    c.owner = owner
    if c.op == "drop" then
      local n, from = remove_group(c.arg)
      if n > 0 then
        changes[#changes + 1] = string.format("%s drops %s of %s (%d operations): %s", owner, c.arg, from, n, c.reason)
      else
        changes[#changes + 1] = string.format("%s drops %s: no such customization (%s)", owner, c.arg, c.reason)
      end
    else
      if c.id and not replaced[c.id] then
        replaced[c.id] = true
        local n, from = remove_group(c.id)
        if n > 0 then
          changes[#changes + 1] = string.format("%s replaces %s of %s (%d operations)", owner, c.id, from, n)
        end
      end
      list[#list + 1] = c
    end
  end
  return changes
end

--- Translates the overcloud customization list into core.image.customize
--- operations, in their order: file ops (upload, remove, unpack, patch,
--- write, mkdir; enable as its wants/ link) and run ops (`run-command` as it
--- is, behind a check for the tools it `needs`; `install`/`uninstall` through
--- the image's package manager: M.install_command); what cannot be translated is recorded as
--- skipped with the reason. A `remove` goes with the upload/unpack of the same
--- reason: when that is left out (its file is missing), so is the remove, and
--- the image keeps what it has. Called when step 3 runs (step 1's artifacts
--- are known).
---@param ctx apex.Ctx
---@param list apex.Customization[]
---@return apex.ImageOp[] ops, {op: string, arg: string, why: string}[] skipped
function M.image_ops(ctx, list)
  local ops, skipped = core.data.array(), core.data.array()
  ---@param c apex.Customization
  ---@param why string
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
    local mode, bad_mode = M.mode(c)
    if bad_mode then
      skip(c, bad_mode)
    elseif c.op == "install" or c.op == "uninstall" then
      local cmd = M.install_command(c.arg, c.op == "install" and "install" or "remove")
      if cmd then
        ops[#ops + 1] = { op = "run", command = cmd }
      else
        skip(c, "names no package")
      end
    elseif c.op == "run-command" then
      if c.arg:match("%S") then
        ops[#ops + 1] = { op = "run", command = M.guarded(c.needs or {}, c.arg,
          string.format("run-command %q (%s)", c.arg, c.reason)) }
      else
        skip(c, "empty command")
      end
    elseif (c.op == "write" or c.op == "mkdir") and c.arg:sub(1, 1) ~= "/" then
      skip(c, "the path is not absolute")
    elseif c.op == "write" then
      if type(c.content) == "string" then
        ops[#ops + 1] = { op = "write", path = c.arg, content = c.content, mode = mode }
      else
        skip(c, "no content to write")
      end
    elseif c.op == "mkdir" then
      ops[#ops + 1] = { op = "mkdir", path = c.arg, mode = mode }
    elseif c.op == "enable" then
      if c.arg:match("^[%w@%._:-]+%.%a+$") and (c.target == nil or c.target:match("^[%w@%._-]+%.target$")) then
        local link, target = M.enable_link(c.arg, c.target)
        ops[#ops + 1] = { op = "symlink", path = link, target = target }
      else
        skip(c, "not a unit name (e.g. nfs-server.service; target: e.g. multi-user.target)")
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
--- backing file, the unit (from core.loop.unit, named and ordered as the
--- plugin says) and its enable symlink; and the unit itself.
---@param l apex.LoopDeviceRequest
---@return apex.ImageOp[] ops, apex.LoopUnit unit
function M.loop_ops(l)
  local u = core.loop.unit({ device = l.device, file = l.backing_file, name = l.unit_name, purpose = l.purpose,
    before = l.before })
  return {
    { op = "truncate", path = l.backing_file, size = l.size },
    { op = "write", path = u.path, content = u.text, mode = 420 },
    { op = "symlink", path = u.enable_link, target = u.enable_target },
  }, u
end

return M
