--- Upstream patches: the diff from Gerrit's REST API (base64 patch of the
--- current revision, with the change's status and submitted time) or from a
--- local diff file; where a project's code lives; and what a patch becomes:
--- Dockerfile operations for every image of a Python project, or steps of the
--- overcloud image customization for puppet modules and THT.
---
--- Apex's common patches (per release, for every deploy) are merged into the
--- deploy's own lists by `merge_common`; a Gerrit diff loses its tests and
--- release notes (`strip`) as Apex's build does; plan mode fetches with
--- `offline_ok`, so an unreachable Gerrit leaves a patch "unfetched" instead
--- of failing the plan.
local core = require("apex.core")
local settings = require("apex.settings")
local tht = require("apex.tht")
local util = require("apex.util")

local M = {}

M.PYTHON_PATH = "/usr/lib/python2.7/site-packages"
M.PATCH_DIR = "/tmp/apex-patches"

---@class apex.FetchedPatch
---@field patch apex.Patch
---@field diff? string         nil when unfetched
---@field source string        "gerrit <url>", "file <path>", or "fetched at deploy" (unfetched)
---@field status? string       Gerrit status (NEW, MERGED), or "unfetched" (plan mode, Gerrit unreachable)
---@field submitted? integer   unix seconds, when merged
---@field stripped? string[]   files left out of a Gerrit diff (tests, release notes, not installed)
---@field empty? boolean       nothing left to apply after stripping: the flow skips the patch
---@field reason? string       unfetched: why Gerrit could not be reached
---@field url? string          unfetched: the change URL that failed

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

--- Percent-encodes a URL path part: everything but unreserved characters
--- (so "/" in a project becomes %2F, as Gerrit wants in an id).
---@param s string
---@return string
function M.urlquote(s)
  return (tostring(s):gsub("[^%w%-%._]", function(c) return string.format("%%%02X", c:byte()) end))
end
local urlquote = M.urlquote

--- The Gerrit REST id of a change: "<project>~<branch>~<Change-Id>", or the
--- change number alone; every part percent-encoded.
---@param patch apex.Patch
---@param branch string
---@return string
function M.gerrit_id(patch, branch)
  local id = tostring(patch["change-id"])
  if id:match("^%d+$") then
    return urlquote(id)
  end
  return urlquote(patch.project) .. "~" .. urlquote(branch) .. "~" .. urlquote(id)
end

--- Gerrit prefixes JSON with ")]}'" against XSSI; this strips it.
local function gerrit_json(body, url)
  local ok, v = pcall(core.json.load, { text = body:gsub("^%)%]}'\n?", ""), name = url })
  if not ok then
    util.fail("Gerrit %s: the answer is not JSON: %s", url, util.message(v))
  end
  return v
end

-- GET from Gerrit. Returns the body; or nil and the cause when the server
-- cannot be reached (connection, DNS, timeout). An answer other than 200 is
-- an error: the server is there and said no.
local function gerrit_get(url, what)
  local ok, resp = pcall(core.http.get, { url = url, timeout = 15 })
  if not ok then
    -- the cause without the URL the client repeats (the caller names it once)
    local why = util.message(resp):gsub("^http%.get: ", ""):gsub("^GET %S+ failed: ", "")
    return nil, (why:gsub("error sending request for url %b():?%s*", ""))
  end
  if resp.status == 404 then
    util.fail("Gerrit: %s not found (%s returned 404)", what, url)
  elseif resp.status ~= 200 then
    util.fail("Gerrit: %s: %s returned HTTP %d", what, url, resp.status)
  end
  return resp.body
end

---@class apex.PatchFetchOpts
---@field gerrit_url string
---@field os_version string
---@field where string          file and key of the patch, for messages
---@field offline_ok? boolean   plan mode: an unreachable Gerrit leaves the patch unfetched instead of failing
---@field down? table<string, string>  Gerrit URLs found unreachable in this run, and why (shared by fetch_all)

--- Fetches one patch: from its local diff file, or from Gerrit (change
--- status, submitted time, and the base64 patch of the current revision,
--- stripped like Apex strips it). An abandoned change is an error, as in
--- Apex. With `offline_ok`, a Gerrit that cannot be reached gives an
--- unfetched patch: `{patch, status = "unfetched", source = "fetched at
--- deploy", reason, url}` and no diff.
---@async
---@param patch apex.Patch
---@param o apex.PatchFetchOpts
---@return apex.FetchedPatch
function M.fetch(patch, o)
  if patch.diff then
    local st = core.fs.exists({ path = patch.diff })
    if st.kind ~= "file" then
      util.fail("%s.diff: no such file %s", o.where, patch.diff)
    end
    return { patch = patch, diff = core.fs.read({ path = patch.diff }).content, source = "file " .. patch.diff }
  end
  local branch = M.branch(patch, o.os_version)
  local id = M.gerrit_id(patch, branch)
  local what = string.format("change %s of %s (%s)", patch["change-id"], patch.project, branch)
  local change_url = o.gerrit_url .. "/changes/" .. id .. "?o=CURRENT_REVISION"
  local function unreachable(url, why)
    if o.down then o.down[o.gerrit_url] = why end
    if o.offline_ok then
      return { patch = patch, status = "unfetched", source = "fetched at deploy", reason = why, url = url }
    end
    util.fail("%s: Gerrit: cannot fetch %s (%s): %s", o.where, what, url, why)
  end
  if o.down and o.down[o.gerrit_url] then
    return unreachable(change_url, o.down[o.gerrit_url])
  end
  local body, why = gerrit_get(change_url, what)
  if not body then
    return unreachable(change_url, why)
  end
  local change = gerrit_json(body, change_url)
  if type(change) ~= "table" or type(change.current_revision) ~= "string" then
    util.fail("Gerrit: %s: %s has no current_revision", what, change_url)
  end
  if change.status == "ABANDONED" then
    util.fail("%s: Gerrit: %s is abandoned (%s); remove it from the patches", o.where, what, change_url)
  end
  local patch_url = o.gerrit_url .. "/changes/" .. id .. "/revisions/" .. urlquote(change.current_revision) .. "/patch"
  local b64, why2 = gerrit_get(patch_url, what .. " patch")
  if not b64 then
    return unreachable(patch_url, why2)
  end
  local ok, decoded = pcall(core.data.base64_decode, { text = b64 })
  if not ok then
    util.fail("Gerrit: %s: the patch at %s is not base64: %s", what, patch_url, util.message(decoded))
  end
  local diff, stripped = M.strip(decoded.data, patch.project)
  return {
    patch = patch,
    diff = diff,
    source = "gerrit " .. patch_url,
    status = change.status,
    submitted = change.submitted and util.utc_seconds(change.submitted) or nil,
    stripped = stripped,
    empty = M.is_empty(diff) or nil,
  }
end

--- Fetches every patch of a list concurrently (bounded), in list order.
--- `o.wheres` (one per patch, e.g. from merge_common) names each patch in
--- messages; else `o.where` .. "[i]". With `o.offline_ok` (plan mode) a
--- Gerrit found unreachable is not asked again for the other patches: they
--- come back unfetched too.
---@async
---@param list apex.Patch[]
---@param o {gerrit_url: string, os_version: string, where: string, wheres?: string[], offline_ok?: boolean}
---@return apex.FetchedPatch[]
function M.fetch_all(list, o)
  if #list == 0 then
    return {}
  end
  local down = {}
  return core.parallel.map(list, function(p, i)
    return M.fetch(p, {
      gerrit_url = o.gerrit_url,
      os_version = o.os_version,
      where = o.wheres and o.wheres[i] or string.format("%s[%d]", o.where, i),
      offline_ok = o.offline_ok,
      down = down,
    })
  end, { limit = 4 })
end

-- Stripping --------------------------------------------------------------------

-- Apex drops every file whose path holds one of these words.
M.STRIP_WORDS = { "tests", "releasenotes" }
-- Top-level directories of a project that its package does not install, by kind.
M.NOT_INSTALLED = {
  python = { "doc", "api-ref", "api-guide", "install-guide", "devstack", "playbooks", "zuul.d", ".zuul.d", "tools",
    "etc", "contrib", "specs", "rally-jobs", "gate", "roles", "vagrant" },
  puppet = { "spec", "examples", "zuul.d", ".zuul.d", "doc" },
  tht = { "tools", "zuul.d", ".zuul.d", "doc", "tripleo_heat_templates", "playbooks" },
}
-- Top-level files a puppet module installs (every other top-level file is packaging).
local PUPPET_TOP_FILES = { "metadata.json" }

-- Why a file of a patch is not applied to the installed project, or nil.
local function strip_reason(path, kind)
  for _, w in ipairs(M.STRIP_WORDS) do
    if path:find(w, 1, true) then
      return w
    end
  end
  local top = path:match("^([^/]+)/")
  if kind == "tripleo-common-yaml" then
    return top ~= "container-images" and "not under container-images/" or nil
  end
  if not top then
    if kind == "puppet" and util.contains(PUPPET_TOP_FILES, path) then
      return nil
    end
    return "top-level file, not installed"
  end
  if util.contains(M.NOT_INSTALLED[kind] or {}, top) then
    return top .. "/ not installed"
  end
  return nil
end

-- The paths of a `diff --git a/X b/Y` line (or `diff -u X Y`-style lines).
local function diff_paths(line)
  local a, b = line:match("^diff %-%-git a/(%S+) b/(%S+)")
  if a then
    return a, b
  end
  local rest = line:match("^diff%s+(.*)$") or ""
  local words = {}
  for w in rest:gmatch("%S+") do
    if not w:match("^%-") then words[#words + 1] = w end
  end
  local function clean(p) return p and (p:gsub("^[ab]/", "")) end
  return clean(words[1]), clean(words[2] or words[1])
end

--- Leaves out of a git-style diff (Gerrit's patch: a header, then one
--- section per file, each starting with a `diff ` line) the files that are
--- not part of the installed project: as Apex does, any path holding
--- "tests" or "releasenotes"; beyond Apex, the project's top-level files and
--- directories its package does not install (docs, tools, zuul config; for
--- puppet modules spec/; for tripleo-common's container part, all but
--- container-images/). The header is kept. A diff without `diff ` lines is
--- returned as it is.
---@param diff string
---@param project string   e.g. openstack/nova
---@return string diff, string[] stripped  the kept diff, and "path (why)" for each file left out
function M.strip(diff, project)
  local _, kind = M.project_path(project, diff)
  local out, stripped = {}, core.data.array()
  local keep = true
  -- split on "\n" keeping a final line without newline
  for line in (diff .. (diff:sub(-1) == "\n" and "" or "\n")):gmatch("(.-)\n") do
    if line:match("^diff ") then
      local a, b = diff_paths(line)
      local why = (a and strip_reason(a, kind)) or (b and strip_reason(b, kind))
      keep = why == nil
      if not keep then
        stripped[#stripped + 1] = string.format("%s (%s)", b or a or line, why)
      end
    end
    if keep then
      out[#out + 1] = line
    end
  end
  local text = table.concat(out, "\n")
  if diff:sub(-1) == "\n" and #out > 0 then
    text = text .. "\n"
  end
  return text, stripped
end

--- Whether a diff changes no file (no `diff `, `--- ` or `+++ ` line left).
---@param diff string
---@return boolean
function M.is_empty(diff)
  return not (diff:find("^diff ") or diff:find("\ndiff ") or diff:find("^%-%-%- ") or diff:find("\n%+%+%+ "))
end

-- Common patches ---------------------------------------------------------------

M.COMMON_SOURCE = "Apex's common patches (shipped, from its config/deploy/common-patches.yaml)"

---@class apex.CommonPatches
---@field source string   where the list comes from, for messages
---@field releases table<string, {undercloud: apex.Patch[], overcloud: apex.Patch[]}>

--- The shipped common patches (apex.common_patches), validated.
---@return apex.CommonPatches
function M.shipped_common()
  return M.validate_patches_file({ patches = require("apex.common_patches") }, M.COMMON_SOURCE)
end

--- Validates a table in Apex's common-patches format:
--- `patches: {<release>: {undercloud: [...], overcloud: [...]}}`, each patch
--- `{change-id, project, branch?}` (and `diff`, a local file relative to the
--- file, as in deploy settings), checked like the deploy settings' patches.
---@param raw any
---@param source string
---@return apex.CommonPatches
function M.validate_patches_file(raw, source)
  if type(raw) ~= "table" or (next(raw) ~= nil and util.is_list(raw)) or raw.patches == nil then
    util.fail("%s: patches: missing (required: patches: {<release>: {undercloud: [...], overcloud: [...]}}, "
      .. "as Apex's common-patches.yaml)", source)
  end
  for k in pairs(raw) do
    if k ~= "patches" then
      util.fail("%s: %s: unknown key (valid: patches)", source, tostring(k))
    end
  end
  local rels = raw.patches
  if type(rels) ~= "table" or (next(rels) ~= nil and util.is_list(rels)) then
    util.fail("%s: patches: expected a mapping of releases (%s), got %s", source,
      table.concat(settings.VALID_OS_VERSIONS, ", "), type(rels))
  end
  local out = { source = source, releases = {} }
  for rel, lists in pairs(rels) do
    if not util.contains(settings.VALID_OS_VERSIONS, rel) then
      util.fail("%s: patches.%s: unknown release (valid: %s)", source, tostring(rel),
        table.concat(settings.VALID_OS_VERSIONS, ", "))
    end
    out.releases[rel] = settings.check_patches(source, "patches." .. rel, lists)
  end
  return out
end

--- Reads a `--patches-file` in Apex's common-patches format (see
--- validate_patches_file); it replaces the shipped common patches.
---@param path string
---@return apex.CommonPatches
function M.load_patches_file(path)
  return M.validate_patches_file(settings.load_yaml(path), path)
end

---@class apex.MergedPatches
---@field undercloud apex.Patch[]
---@field overcloud apex.Patch[]
---@field wheres {undercloud: string[], overcloud: string[]}  per patch: file and key, for fetch_all's `wheres`
---@field added {undercloud: integer, overcloud: integer}     how many common patches were added
---@field found boolean   the common list has an entry for the release
---@field source string   the common list's source

--- Merges the common patches of `os_version` into a deploy's patches, as
--- Apex's deploy does: the deploy's own first, then the common ones, each
--- change once (a change is its project and change-id; the first entry
--- wins). A release the common list lacks adds nothing (`found` false;
--- Apex would stop there).
---@param patches {undercloud: apex.Patch[], overcloud: apex.Patch[]}  global_params.patches, validated
---@param os_version string
---@param common? apex.CommonPatches   default: the shipped list
---@param source? string   the deploy settings' source, for `wheres`
---@return apex.MergedPatches
function M.merge_common(patches, os_version, common, source)
  common = common or M.shipped_common()
  source = source or "deploy settings"
  local rel = common.releases[os_version]
  local out = {
    undercloud = core.data.array(), overcloud = core.data.array(),
    wheres = { undercloud = core.data.array(), overcloud = core.data.array() },
    added = { undercloud = 0, overcloud = 0 },
    found = rel ~= nil,
    source = common.source,
  }
  for _, node in ipairs({ "undercloud", "overcloud" }) do
    local seen = {}
    local function add(p, where, is_common)
      local key = p.project .. "\0" .. p["change-id"]
      if seen[key] then return end
      seen[key] = true
      out[node][#out[node] + 1] = util.deep_copy(p)
      out.wheres[node][#out[node]] = where
      if is_common then out.added[node] = out.added[node] + 1 end
    end
    for i, p in ipairs(patches[node] or {}) do
      add(p, string.format("%s: global_params.patches.%s[%d]", source, node, i), false)
    end
    for i, p in ipairs(rel and rel[node] or {}) do
      add(p, string.format("%s: patches.%s.%s[%d]", common.source, os_version, node, i), true)
    end
  end
  return out
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

--- Dockerfile operations applying a patch inside an image, as root
--- (apex.dockerfile's REAL_USER contract): install the patch tool, add the
--- patch, apply it with patch -p1 in the project's path.
---@param patch apex.Patch
---@param path string
---@return string[]
function M.container_ops(patch, path)
  local file = M.file_name(patch)
  return require("apex.dockerfile").as_root({
    "RUN yum -y install patch",
    "ADD " .. file .. " " .. M.PATCH_DIR .. "/" .. file,
    "RUN cd " .. path .. " && patch -p1 < " .. M.PATCH_DIR .. "/" .. file,
  })
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
