--- Dockerfiles for patched images. One Dockerfile per image; every patch or
--- SDN rule appends its operations, each operation on its own line (the
--- original tool glued consecutive patches into one line). The REAL_USER
--- contract of a patch and its build lives here (M.as_root, M.build_args).
local util = require("apex.util")

local M = {}

--- The build argument carrying the user a patched image's base runs as. The
--- contract between a patch and the build: a patch's operations run as root
--- and end by going back to `$REAL_USER` (M.as_root writes that); the build
--- (apex.rebuild) passes M.build_args(the base image's user).
M.REAL_USER = "REAL_USER"

--- Operations wrapped in the REAL_USER contract: `USER root`,
--- `ARG REAL_USER`, the operations, `USER $REAL_USER`.
---@param ops string[]
---@return string[]
function M.as_root(ops)
  local out = { "USER root", "ARG " .. M.REAL_USER }
  util.extend(out, ops)
  out[#out + 1] = "USER $" .. M.REAL_USER
  return out
end

--- The build arguments of a patched image whose base image runs as `user`
--- (`""`: root).
---@param user string
---@return table<string, string>
function M.build_args(user)
  return { [M.REAL_USER] = user }
end

---@class apex.Dockerfile
---@field image string   short image name
---@field from string    the image it rebuilds
---@field ops string[]   one Dockerfile instruction each
---@field reasons string[]
---@field files table<string, string>  files beside the Dockerfile (name -> content)
local Dockerfile = {}
Dockerfile.__index = Dockerfile

local INSTRUCTIONS = {
  ADD = true, ARG = true, COPY = true, ENV = true, LABEL = true, RUN = true, USER = true, WORKDIR = true,
}

--- A new Dockerfile rebuilding `from`.
---@param image string
---@param from string
---@return apex.Dockerfile
function M.new(image, from)
  return setmetatable({ image = image, from = from, ops = {}, reasons = {}, files = {} }, Dockerfile)
end

--- Appends operations (one instruction per string, no newlines inside), the
--- reason they are there, and files they ADD.
---@param ops string[]
---@param reason string
---@param files table<string, string>?
---@return apex.Dockerfile
function Dockerfile:add(ops, reason, files)
  for i, op in ipairs(ops) do
    if type(op) ~= "string" or op:find("\n") then
      error(string.format("Dockerfile for %s (%s): operation %d must be one line of text", self.image, reason, i), 2)
    end
    local word = op:match("^(%u+)%s")
    if not word or not INSTRUCTIONS[word] then
      error(string.format("Dockerfile for %s (%s): operation %d %s does not start with an instruction (valid: %s)",
        self.image, reason, i, util.show(op), table.concat(util.sorted_keys(INSTRUCTIONS), ", ")), 2)
    end
    self.ops[#self.ops + 1] = op
  end
  self.reasons[#self.reasons + 1] = reason
  for name, content in pairs(files or {}) do
    if self.files[name] and self.files[name] ~= content then
      error(string.format("Dockerfile for %s: two different files named %s", self.image, name), 2)
    end
    self.files[name] = content
  end
  return self
end

--- The Dockerfile text: FROM, then every operation on its own line.
---@return string
function Dockerfile:render()
  local lines = { "FROM " .. self.from }
  util.extend(lines, self.ops)
  return table.concat(lines, "\n") .. "\n"
end

--- A set of Dockerfiles keyed by image, so several patches to one image
--- append to one Dockerfile.
---@class apex.DockerfileSet
---@field by_image table<string, apex.Dockerfile>
local Set = {}
Set.__index = Set

---@return apex.DockerfileSet
function M.set()
  return setmetatable({ by_image = {} }, Set)
end

--- The Dockerfile of an image, created on first use.
---@param image string
---@param from string
---@return apex.Dockerfile
function Set:get(image, from)
  local df = self.by_image[image]
  if not df then
    df = M.new(image, from)
    self.by_image[image] = df
  end
  return df
end

--- Image names, sorted.
---@return string[]
function Set:images()
  return util.sorted_keys(self.by_image)
end

--- The files of `containers/`: `<image>/Dockerfile` and each added file.
---@return table<string, string>  relative path -> content
function Set:files()
  local out = {}
  for image, df in pairs(self.by_image) do
    out[image .. "/Dockerfile"] = df:render()
    for name, content in pairs(df.files) do
      out[image .. "/" .. name] = content
    end
  end
  return out
end

return M
