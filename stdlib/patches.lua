--- Upstream patches: the diff from Gerrit's REST API (base64 patch of the
--- current revision, with the change's status and submitted time) or from a
--- local diff file; where a project's code lives; and what a patch becomes:
--- Dockerfile operations for every image of a Python project, or steps of the
--- overcloud image customization for puppet modules and THT.
local core = require("apex.core")
local tht = require("apex.tht")
local util = require("apex.util")

local M = {}

M.PYTHON_PATH = "/usr/lib/python2.7/site-packages"
M.PATCH_DIR = "/tmp/apex-patches"

---@class apex.FetchedPatch
---@field patch apex.Patch
---@field diff string
---@field source string        "gerrit <url>" or "file <path>"
---@field status? string       Gerrit status: NEW, MERGED, ABANDONED
---@field submitted? integer   unix seconds, when merged

--- Where a project's files live in an image and what kind of patch it is.
---@param project string  e.g. "openstack/nova", "openstack/puppet-tripleo"
---@param diff string?
---@return string path, "python"|"puppet"|"tht"|"tripleo-common-yaml" kind
function M.project_path(project, diff)
  local short = project:match("([^/]+)$")
  if short:find("puppet", 1, true) then
    return "/etc/puppet/modules/" .. short:gsub("^puppet%-", ""), "puppet"
  elseif short:find("tripleo-heat-templates", 1, true) then
    return tht.THT_DIR, "tht"
  elseif short == "tripleo-common" and diff and diff:find("\n%+%+%+ b/container%-images/") then
    return "/usr/share/openstack-tripleo-common-containers", "tripleo-common-yaml"
  end
  return M.PYTHON_PATH, "python"
end

--- The branch a patch is fetched from: its own, else master or stable/<os_version>.
---@param patch apex.Patch
---@param os_version string
---@return string
function M.branch(patch, os_version)
  return patch.branch or (os_version == "master" and "master" or "stable/" .. os_version)
end

local function urlquote(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

--- Gerrit prefixes JSON with ")]}'" against XSSI; this strips it.
local function gerrit_json(body, url)
  local ok, v = pcall(core.json_load, { text = body:gsub("^%)%]}'\n?", ""), name = url })
  if not ok then
    util.fail("Gerrit %s: the answer is not JSON: %s", url, util.message(v))
  end
  return v
end

local function gerrit_get(url, what)
  local ok, resp = pcall(core.http_get, { url = url, timeout = 15 })
  if not ok then
    util.fail("Gerrit: cannot fetch %s (%s): %s", what, url, util.message(resp))
  end
  if resp.status == 404 then
    util.fail("Gerrit: %s not found (%s returned 404)", what, url)
  elseif resp.status ~= 200 then
    util.fail("Gerrit: %s: %s returned HTTP %d", what, url, resp.status)
  end
  return resp.body
end

--- Fetches one patch: from its local diff file, or from Gerrit (change
--- status, submitted time, and the base64 patch of the current revision).
---@async
---@param patch apex.Patch
---@param o {gerrit_url: string, os_version: string, where: string}
---@return apex.FetchedPatch
function M.fetch(patch, o)
  if patch.diff then
    local st = core.exists({ path = patch.diff })
    if st.kind ~= "file" then
      util.fail("%s.diff: no such file %s", o.where, patch.diff)
    end
    return { patch = patch, diff = core.read_file({ path = patch.diff }).content, source = "file " .. patch.diff }
  end
  local branch = M.branch(patch, o.os_version)
  local id = urlquote(patch.project) .. "~" .. urlquote(branch) .. "~" .. patch["change-id"]
  local what = string.format("change %s of %s (%s)", patch["change-id"], patch.project, branch)
  local change_url = o.gerrit_url .. "/changes/" .. id .. "?o=CURRENT_REVISION"
  local change = gerrit_json(gerrit_get(change_url, what), change_url)
  if type(change) ~= "table" or type(change.current_revision) ~= "string" then
    util.fail("Gerrit: %s: %s has no current_revision", what, change_url)
  end
  local patch_url = o.gerrit_url .. "/changes/" .. id .. "/revisions/" .. change.current_revision .. "/patch"
  local b64 = gerrit_get(patch_url, what .. " patch")
  local ok, decoded = pcall(core.base64_decode, { text = b64 })
  if not ok then
    util.fail("Gerrit: %s: the patch at %s is not base64: %s", what, patch_url, util.message(decoded))
  end
  return {
    patch = patch,
    diff = decoded.data,
    source = "gerrit " .. patch_url,
    status = change.status,
    submitted = change.submitted and util.utc_seconds(change.submitted) or nil,
  }
end

--- Fetches every patch of a list concurrently (bounded), in list order.
---@async
---@param list apex.Patch[]
---@param o {gerrit_url: string, os_version: string, where: string}
---@return apex.FetchedPatch[]
function M.fetch_all(list, o)
  if #list == 0 then
    return {}
  end
  return core.parallel_map(list, function(p, i)
    return M.fetch(p, { gerrit_url = o.gerrit_url, os_version = o.os_version, where = string.format("%s[%d]", o.where, i) })
  end, { limit = 4 })
end

--- Whether a merged change is already in an upstream image built after it merged.
---@param f apex.FetchedPatch
---@param image_created integer?
---@return boolean
function M.promoted(f, image_created)
  return f.status == "MERGED" and f.submitted ~= nil and image_created ~= nil and image_created > f.submitted
end

--- The patch file name: <change-id>.patch.
---@param patch apex.Patch
---@return string
function M.file_name(patch)
  return patch["change-id"] .. ".patch"
end

--- Dockerfile operations applying a patch inside an image: go root, install
--- the patch tool, add the patch, apply it with patch -p1 in the project's
--- path, go back to the image's own user.
---@param patch apex.Patch
---@param path string
---@return string[]
function M.container_ops(patch, path)
  local file = M.file_name(patch)
  return {
    "USER root",
    "ARG REAL_USER",
    "RUN yum -y install patch",
    "ADD " .. file .. " " .. M.PATCH_DIR .. "/" .. file,
    "RUN cd " .. path .. " && patch -p1 < " .. M.PATCH_DIR .. "/" .. file,
    "USER $REAL_USER",
  }
end

--- Image customization applying a puppet/THT patch to a disk image: the
--- patch file (written to `<node>_patches/`) applied in the project's path,
--- like `patch -p1` there (apex applies it itself, no tool in the image).
---@param patch apex.Patch
---@param path string
---@param reason string
---@return apex.Customization[]
function M.image_ops(patch, path, reason)
  return { { op = "patch", arg = M.file_name(patch) .. ":" .. path, reason = reason } }
end

return M
