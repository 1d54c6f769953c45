--- The preflight of step 9: before node import and the deploy command, what
--- apex hands TripleO must resolve on the undercloud as TripleO will see it.
---
--- One SSH round lists the undercloud's THT tree and reads the THT env files
--- the command names (plus roles_data.yaml, network_data.yaml and
--- j2_excludes.yaml), and tests the paths outside THT that apex's own env
--- files name; meanwhile the local registry is asked (one HEAD each, at once)
--- for every image the env files name there. Then, as TripleO renders THT at
--- deploy time (tools/process-templates.py), the rendered file names are
--- computed from the tree with the deploy's roles and networks, and every
--- `-e` file and every resource_registry target of the env files is looked
--- up among them. The services that THT enables (apex.services' rule, from
--- the undercloud's roles_data.yaml, default resource registry and the env
--- files) must use only images apex mirrored, and none may be a service
--- that only another neutron driver's images serve (apex.services.misses:
--- Stein enables the OVN services unless an env file switches them off). A
--- miss is an error naming the file and the env file or feature that wants
--- it, or the service, its role and its image; nothing has been deployed.
---
--- The names follow process-templates.py of Queens to Stein: `X.role.j2.yaml`
--- gives `<role>-X.yaml` per role (under network/config: `<role>.yaml` or the
--- role's deprecated_nic_config_name); `X.network.j2.yaml` gives one file per
--- enabled network, `port` (in a ports dir) or `network` in the name replaced
--- by the network's name_lower; any other `X.j2.yaml` gives `X.yaml`.
local core = require("apex.core")
local util = require("apex.util")

local M = {}

M.MARK = "@@apex-preflight "
M.IMAGE_CONCURRENCY = 16
M.SHOWN = 20 -- misses shown in the error (the rest counted)
--- THT's default resource registry (a Jinja2 source on the undercloud; its
--- service entries are plain lines).
M.REGISTRY = "overcloud-resource-registry-puppet.j2.yaml"

--- The file names TripleO's rendering of a THT tree gives.
---@param listing string[]  files of the tree, relative to its root
---@param roles table[]     roles_data entries ({name = ..., deprecated_nic_config_name? = ...})
---@param networks table[]  network_data entries ({name = ..., name_lower?, enabled?})
---@param excludes? string[]  j2_excludes.yaml's names (relative paths not rendered)
---@return table<string, boolean>
function M.rendered(listing, roles, networks, excludes)
  local out, skip = {}, {}
  for _, e in ipairs(excludes or {}) do skip[e] = true end
  local function add(path) if not skip[path] then out[path] = true end end
  for _, f in ipairs(listing) do
    local dir, base = f:match("^(.*)/([^/]+)$")
    if not dir then dir, base = "", f end
    local pre = dir == "" and "" or (dir .. "/")
    if base:match("%.role%.j2%.yaml$") then
      for _, r in ipairs(roles) do
        local lower = tostring(r.name):lower()
        if f:find("network/config", 1, true) then
          add(pre .. (r.deprecated_nic_config_name or (lower .. ".yaml")))
        else
          add(pre .. lower .. "-" .. base:gsub("%.role%.j2%.yaml$", ".yaml"))
        end
      end
    elseif base:match("%.network%.j2%.yaml$") then
      local stem = base:gsub("%.network%.j2%.yaml$", ".yaml")
      local word = dir:match("ports$") and "port" or "network"
      for _, n in ipairs(networks) do
        if n.enabled ~= false and n.name then
          local lower = (n.name_lower or tostring(n.name):lower()):gsub("%%", "%%%%")
          add(pre .. stem:gsub(word, lower))
        end
      end
    elseif base:match("%.j2%.yaml$") then
      add(pre .. base:gsub("%.j2%.yaml$", ".yaml"))
    else
      out[f] = true
    end
  end
  return out
end

--- The remote command of the one SSH round: the tree's files, the files to
--- read (each after a mark line; a missing one says so), the paths to test.
---@param tht_dir string
---@param read string[]   paths to print
---@param test string[]   paths whose existence to report
---@return string
function M.command(tht_dir, read, test)
  local q = util.shell_quote
  local parts = {
    "cd " .. q(tht_dir),
    string.format("printf '\\n%%s\\n' %s", q(M.MARK .. "listing")),
    "find . -path './.*' -prune -o -type f -print",
  }
  for _, p in ipairs(read) do
    -- Each mark on a line of its own, even after a file without a final newline.
    parts[#parts + 1] = string.format("printf '\\n%%s\\n' %s; cat %s 2>/dev/null || printf '\\n%%s\\n' %s",
      q(M.MARK .. "file " .. p), q(p), q(M.MARK .. "missing"))
  end
  for _, p in ipairs(test) do
    parts[#parts + 1] = string.format("if [ -f %s ]; then printf '\\n%%s\\n' %s; fi", q(p), q(M.MARK .. "exists " .. p))
  end
  return table.concat(parts, "; ")
end

--- Splits the command's output into the listing, the files read and the paths found.
---@param text string
---@return {listing: string[], files: table<string, string|false>, exists: table<string, boolean>}
function M.parse(text)
  local r = { listing = {}, files = {}, exists = {} }
  local section, name, buf = nil, nil, nil
  local function close()
    if section == "file" then
      r.files[name] = buf and table.concat(buf, "\n") or false
    end
  end
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    if line:sub(1, #M.MARK) == M.MARK then
      local rest = line:sub(#M.MARK + 1)
      if rest == "missing" and section == "file" then
        buf = nil
      else
        close()
        local kind, arg = rest:match("^(%S+)%s?(.*)$")
        section, name, buf = kind, arg, {}
        if kind == "exists" then
          r.exists[arg] = true
          section = nil
        end
      end
    elseif section == "listing" then
      if line ~= "" then r.listing[#r.listing + 1] = (line:gsub("^%./", "")) end
    elseif section == "file" and buf then
      buf[#buf + 1] = line
    end
  end
  close()
  return r
end

local function dirname(p) return p:match("^(.*)/[^/]*$") or "." end

--- `a/b/../c` -> `a/c`; keeps a leading `/`.
local function normalize(p)
  local out = {}
  for part in p:gmatch("[^/]+") do
    if part == ".." then
      if #out > 0 and out[#out] ~= ".." then out[#out] = nil else out[#out + 1] = ".." end
    elseif part ~= "." then
      out[#out + 1] = part
    end
  end
  return (p:sub(1, 1) == "/" and "/" or "") .. table.concat(out, "/")
end
M.normalize = normalize

--- The resource_registry targets of an env file's text that are templates
--- (not resource types such as OS::Heat::None): {name, target}.
---@param text string
---@param source string
---@return {name: string, target: string}[]
function M.targets(text, source)
  local ok, doc = pcall(core.yaml.load, { text = text, name = source })
  if not ok then
    -- PyYAML, which Heat and TripleO read env files with, lets a later
    -- duplicate key win (Stein's environments/docker.yaml has two
    -- resource_registry blocks); the strict loader refuses, so the last
    -- block is read line by line.
    doc = M.last_registry(text)
    if not doc then util.fail("%s: not YAML: %s", source, util.message(doc)) end
  end
  local out = {}
  local reg = type(doc) == "table" and doc.resource_registry
  if type(reg) ~= "table" then return out end
  for _, name in ipairs(util.sorted_keys(reg)) do
    local t = reg[name]
    if type(t) == "string" and (t:match("%.yaml$") or t:match("%.yml$")) then
      out[#out + 1] = { name = name, target = (t:gsub("^file://", "")) }
    end
  end
  return out
end

--- The last top-level resource_registry block of an env file, read line by
--- line (`  Name: target` entries); nil when it has none.
---@param text string
---@return {resource_registry: table<string, string>}?
function M.last_registry(text)
  local reg, inside
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    if line:match("^[%w_]") then
      inside = line:match("^resource_registry:%s*$") ~= nil
      if inside then reg = {} end
    elseif inside then
      -- The key up to the first `: ` (resource types hold `::`).
      local k, v = line:match("^%s+([^%s#]%S-):%s+([^%s#]+)")
      if k then reg[k] = (v:gsub("^['\"]", ""):gsub("['\"]$", "")) end
    end
  end
  return reg and { resource_registry = reg } or nil
end

--- Every image an env file's parameter_defaults names in the local registry.
---@param text string
---@param registry string  host:port of the local registry
---@param into table<string, string>  image -> the parameter (and file) naming it
---@param source string
function M.images(text, registry, into, source)
  local ok, doc = pcall(core.yaml.load, { text = text, name = source })
  local pd = ok and type(doc) == "table" and doc.parameter_defaults
  if type(pd) ~= "table" then return end
  for _, k in ipairs(util.sorted_keys(pd)) do
    local v = pd[k]
    if type(v) == "string" and v:sub(1, #registry + 1) == registry .. "/" and not into[v] then
      into[v] = source .. ": " .. k
    end
  end
end

---@class apex.PreflightInputs
---@field tht_dir string          the undercloud's THT dir
---@field work_dir string         where relative -e files live
---@field env_files apex.EnvFile[] the command's, in order (THT paths on site)
---@field files table<string, string>  the plan's files (rel path -> content), as uploaded
---@field shipped table<string, string> THT paths apex installs -> plan file (e.g. storage-environment.yaml)
---@field networks_file? string   the plan file given as --networks-file
---@field registry string         the local registry (host:port)
---@field services? apex.PreflightServices  the image service check (absent: every image is mirrored)

---@class apex.PreflightServices
---@field candidates apex.Image[]  the release's list for the driver (what could be mirrored)
---@field others apex.Image[]  the release's images of other neutron drivers (never mirrored)
---@field driver? string  the deploy's neutron driver
---@field mirrored table<string, any>  short names mirrored
---@field counts table<string, integer>  role counts of the command (Controller, Compute)

--- What the SSH round reads and tests, computed from the plan alone.
---@param o apex.PreflightInputs
---@return {read: string[], test: string[], targets: table[], images: table<string, string>}
function M.prepare(o)
  local read, test, checks, imgs = {}, {}, {}, {}
  local prefix = o.tht_dir .. "/"
  local function in_tht(p) return p:sub(1, #prefix) == prefix end
  local function want(path, by)
    if in_tht(path) or path == o.tht_dir then
      checks[#checks + 1] = { path = path, by = by }
    else
      checks[#checks + 1] = { path = path, by = by, outside = true }
      if not util.contains(test, path) then test[#test + 1] = path end
    end
  end
  read[#read + 1] = "roles_data.yaml"
  read[#read + 1] = "j2_excludes.yaml"
  if o.services then read[#read + 1] = M.REGISTRY end
  local layers = {}
  if not o.networks_file then read[#read + 1] = "network_data.yaml" end
  for _, e in ipairs(o.env_files) do
    local path = e["local"] and (o.work_dir .. "/" .. e.path) or e.path
    local content = e["local"] and o.files[e.path] or o.shipped[path] and o.files[o.shipped[path]]
    local label = (e["local"] and e.path or path) .. " (" .. e.reason .. ")"
    want(path, "-e of the deploy command, for " .. e.reason)
    if content then
      -- apex's own file: its targets are known now.
      for _, t in ipairs(M.targets(content, path)) do
        -- THT's default dir stands for the site's, as apex moves env file paths (apex.tht.on_site).
        local full = t.target:sub(1, 1) == "/" and require("apex.tht").on_site(t.target, o.tht_dir)
            or normalize(dirname(path) .. "/" .. t.target)
        want(full, "resource_registry of " .. label .. ": " .. t.name)
      end
      M.images(content, o.registry, imgs, e["local"] and e.path or path)
      layers[#layers + 1] = { text = content, source = path }
    elseif in_tht(path) then
      read[#read + 1] = path:sub(#prefix + 1)
      checks[#checks + 1] = { env = path, label = label }
      layers[#layers + 1] = { rel = path:sub(#prefix + 1), source = path }
    end
  end
  return { read = read, test = test, checks = checks, images = imgs, layers = layers }
end

--- Checks the SSH round's answer: returns the misses, one line each.
---@param o apex.PreflightInputs
---@param p table  M.prepare's result
---@param answer table  M.parse's result
---@return string[] misses, integer checked
function M.evaluate(o, p, answer)
  local function doc(name, text)
    if not text then return {} end
    local ok, v = pcall(core.yaml.load, { text = text, name = name })
    return ok and type(v) == "table" and v or {}
  end
  local roles = doc("roles_data.yaml", answer.files["roles_data.yaml"])
  local networks = o.networks_file and doc(o.networks_file, o.files[o.networks_file])
      or doc("network_data.yaml", answer.files["network_data.yaml"])
  local excludes = doc("j2_excludes.yaml", answer.files["j2_excludes.yaml"]).name
  local names = M.rendered(answer.listing, roles, networks, type(excludes) == "table" and excludes or {})
  local prefix = o.tht_dir .. "/"
  local misses, checked = {}, 0
  local function resolves(c)
    if c.outside then return answer.exists[c.path] == true end
    return names[c.path:sub(#prefix + 1)] == true
  end
  local function look(c)
    checked = checked + 1
    if not resolves(c) then misses[#misses + 1] = string.format("%s: not found (%s)", c.path, c.by) end
  end
  for _, c in ipairs(p.checks) do
    if c.env then
      local rel = c.env:sub(#prefix + 1)
      local text = answer.files[rel]
      if text then
        for _, t in ipairs(M.targets(text, c.env)) do
          local full = t.target:sub(1, 1) == "/" and t.target or normalize(dirname(c.env) .. "/" .. t.target)
          if full:sub(1, #prefix) == prefix then
            look({ path = full, by = "resource_registry of " .. c.label .. ": " .. t.name })
          end
        end
      end
    else
      look(c)
    end
  end
  if o.services then
    util.extend(misses, M.service_misses(o, p, answer, roles))
    checked = checked + 1
  end
  return misses, checked
end

--- The services the undercloud's THT enables (its roles_data.yaml as apex
--- leaves it, its default resource registry, then the env files in the
--- command's order: apex.services' rule) whose image apex did not mirror.
---@param o apex.PreflightInputs
---@param p table  M.prepare's result
---@param answer table  M.parse's result
---@param roles_doc table  the undercloud's roles_data.yaml
---@return string[]
function M.service_misses(o, p, answer, roles_doc)
  local services = require("apex.services")
  local reg = answer.files[M.REGISTRY]
  local layers = { services.layer(reg and (M.last_registry(reg) or {}).resource_registry) }
  for _, l in ipairs(p.layers) do
    local text = l.text or answer.files[l.rel]
    if text then layers[#layers + 1] = services.text_layer(text, l.source) end
  end
  local enabled = services.enabled(services.roles_of(roles_doc), o.services.counts, layers)
  local out = {}
  for i, m in ipairs(services.misses(enabled, o.services.candidates, o.services.others or {}, o.services.mirrored)) do
    out[i] = services.miss_line(m, o.tht_dir, o.services.driver)
  end
  return out
end

--- The THT paths apex installs itself (its plugins' env files the command
--- names under THT, as step 9 uploads them) -> their plan file.
---@param ctx apex.Ctx
---@return table<string, string>
function M.shipped(ctx)
  local out = {}
  for _, e in ipairs(ctx.env_files) do
    local base = e.path:match("([^/]+)$")
    if not e["local"] and ctx.files[base] then out[e.path] = base end
  end
  return out
end

--- `host:port/repo:tag` in `registry` -> repo, tag.
local function split_image(ref, registry)
  local rest = ref:sub(#registry + 2)
  return rest:match("^(.-):([^:/]+)$")
end

--- Registers the preflight action (step `step`, before node import): the
--- plan shows what it checks, the run checks it and fails on a miss.
---@param ctx apex.Ctx
---@param step integer
function M.add(ctx, step)
  local runner = require("apex.runner")
  local site_mod = require("apex.site")
  local u = ctx.infra.undercloud
  local o = {
    tht_dir = u.tht_dir, work_dir = u.work_dir, env_files = ctx.env_files, files = ctx.files,
    shipped = M.shipped(ctx), networks_file = ctx.networks_file, registry = ctx.infra.registries["local"],
  }
  if ctx.mirror then
    -- With registries.mirror_all every candidate is mirrored: only other drivers' images can be missed.
    o.services = { candidates = ctx.image_set, others = ctx.mirror.others, mirrored = ctx.mirror.kept,
      driver = ctx.driver, counts = require("apex.services").counts(ctx.scales) }
  end
  local p = M.prepare(o)
  local image_list = util.sorted_keys(p.images)
  runner.add(ctx, {
    step = step, key = "preflight", force = true,
    text = string.format("preflight on the undercloud (one SSH round): the %d -e files and the resource_registry "
      .. "targets of the env files resolve in %s as TripleO renders it; the %d images they name are in %s%s",
      #ctx.env_files, u.tht_dir, #image_list, o.registry,
      o.services and "; every service it enables uses a mirrored image" or ""),
    details = {
      "THT files read: " .. table.concat(p.read, ", "),
      string.format("%d paths outside THT tested, %d registry lookups", #p.test, #image_list),
    },
    inputs = function() return { read = p.read, test = p.test, images = image_list } end,
    run = function()
      local t0 = core.os.now().unix
      local settings = site_mod.registry_settings(ctx.infra)
      local results = core.parallel.map({ "files", "images" }, function(kind)
        if kind == "files" then
          local r = core.ssh.run({ host = site_mod.ssh_host(ctx.infra), command = M.command(u.tht_dir, p.read, p.test),
            check = false, quiet = true })
          if not r.ok then
            util.fail("preflight: listing %s on the undercloud failed (exit %d): %s", u.tht_dir, r.status,
              ((r.stderr ~= "" and r.stderr or r.stdout):gsub("%s+$", "")))
          end
          local misses, checked = M.evaluate(o, p, M.parse(r.stdout))
          return { misses = misses, checked = checked }
        end
        local misses = {}
        local found = core.parallel.map(image_list, function(ref)
          local repo, tag = split_image(ref, o.registry)
          if not repo then return "not an image reference" end
          local ok, r = pcall(core.registry.digest, { registry = o.registry, repository = repo, reference = tag,
            registries = settings })
          if not ok then return "the local registry did not answer: " .. util.message(r) end
          return r.digest and true or "not in the local registry"
        end, { limit = M.IMAGE_CONCURRENCY })
        for i, ref in ipairs(image_list) do
          if found[i] ~= true then
            misses[#misses + 1] = string.format("image %s: %s (named by %s)", ref, found[i], p.images[ref])
          end
        end
        return { misses = misses, checked = #image_list }
      end, { limit = 2 })
      local misses = util.extend(util.extend({}, results[1].misses), results[2].misses)
      if #misses > 0 then
        local shown = {}
        for i = 1, math.min(#misses, M.SHOWN) do shown[i] = "  " .. misses[i] end
        if #misses > M.SHOWN then shown[#shown + 1] = string.format("  ... and %d more", #misses - M.SHOWN) end
        util.fail("preflight on the undercloud: %d of what the deploy hands TripleO does not resolve; nothing was "
          .. "deployed:\n%s", #misses, table.concat(shown, "\n"))
      end
      return { files_checked = results[1].checked, images_checked = results[2].checked,
        seconds = core.os.now().unix - t0 }
    end,
  })
end

return M
