--- TripleO Heat Templates: the env files a containerized deploy names, in the
--- contract's order, and the `openstack overcloud deploy` command.
---
--- Order: network env; docker.yaml; docker-ha.yaml (HA); the operator's env
--- file; the image env file; the SDN files; the feature files (tacker,
--- congress, barometer, rt_kvm); storage-environment.yaml (Ceph);
--- kubernetes-environment.yaml (vim k8s); virtual- or baremetal-environment.yaml.
local util = require("apex.util")

local M = {}

M.THT_DIR = "/usr/share/openstack-tripleo-heat-templates"
M.ENV_DIR = M.THT_DIR .. "/environments"

--- `path` with THT_DIR (or a path under it) moved to the site's THT
--- directory; any other path as it is.
---@param path string
---@param tht_dir string  the undercloud's THT directory (site settings)
---@return string
function M.on_site(path, tht_dir)
  if path == M.THT_DIR then return tht_dir end
  if path:sub(1, #M.THT_DIR + 1) == M.THT_DIR .. "/" then return tht_dir .. path:sub(#M.THT_DIR + 1) end
  return path
end
M.FEATURES = { "tacker", "congress", "barometer", "rt_kvm" }
M.NETWORK_ENV = "network-environment.yaml"
M.OPERATOR_ENV = "opnfv-environment.yaml"
M.IMAGE_ENV = "docker-images.yaml"
M.TIMEOUT_MINUTES = 120

---@class apex.EnvFile
---@field path string    relative to the THT env dir, or absolute, or (local=true) a file in the deploy dir
---@field reason string
---@field ["local"]? boolean  a file apex writes beside the command, not a THT file

--- The absolute path of a THT env file named relative to the env dir.
---@param path string
---@return string
function M.env_path(path)
  if path:sub(1, 1) == "/" then
    return path
  end
  return M.ENV_DIR .. "/" .. path
end

---@class apex.EnvFileInputs
---@field ha boolean
---@field options apex.DeployOptions
---@field sdn apex.EnvFile[]      from the SDN plugin, in its order
---@field storage apex.EnvFile[]  from storage plugins (Ceph)
---@field virtual boolean

--- Every env file of the deploy command, in order, each with its reason.
---@param o apex.EnvFileInputs
---@return apex.EnvFile[]
function M.env_files(o)
  local out = {}
  local function tht(list)
    for _, e in ipairs(list) do
      out[#out + 1] = { path = e["local"] and e.path or M.env_path(e.path), reason = e.reason, ["local"] = e["local"] }
    end
  end
  out[#out + 1] = { path = M.NETWORK_ENV, reason = "network settings", ["local"] = true }
  tht({ { path = "docker.yaml", reason = "containerized overcloud" } })
  if o.ha then
    tht({ { path = "docker-ha.yaml", reason = "HA (global_params.ha_enabled)" } })
  end
  out[#out + 1] = { path = M.OPERATOR_ENV, reason = "operator's environment", ["local"] = true }
  out[#out + 1] = { path = M.IMAGE_ENV, reason = "images from the undercloud's local registry", ["local"] = true }
  tht(o.sdn)
  for _, f in ipairs(M.FEATURES) do
    if o.options[f] then
      tht({ { path = "services/" .. f .. ".yaml", reason = "deploy_options." .. f } })
    end
  end
  tht(o.storage)
  if o.options.vim == "k8s" then
    out[#out + 1] = { path = "kubernetes-environment.yaml", reason = "vim: k8s", ["local"] = true }
  end
  if o.virtual then
    out[#out + 1] = { path = "virtual-environment.yaml", reason = "virtual deployment", ["local"] = true }
  else
    out[#out + 1] = { path = "baremetal-environment.yaml", reason = "baremetal deployment", ["local"] = true }
  end
  return out
end

---@class apex.Scales
---@field control integer
---@field compute integer
---@field source string   "inventory" or "defaults"

--- Node counts: from an Apex inventory (`nodes` with `capabilities:
--- profile:control|compute`) or the virtual defaults (3 controllers with HA,
--- else 1; 1 compute). Without HA at most one controller is deployed.
---@param ha boolean
---@param inventory table?
---@return apex.Scales
function M.scales(ha, inventory)
  local control, compute, source = ha and 3 or 1, 1, "defaults"
  if inventory then
    control, compute, source = 0, 0, "inventory"
    local nodes = inventory.nodes or inventory
    for _, node in pairs(nodes) do
      local caps = type(node) == "table" and tostring(node.capabilities or "") or ""
      if caps:find("profile:control", 1, true) then
        control = control + 1
      elseif caps:find("profile:compute", 1, true) then
        compute = compute + 1
      end
    end
  end
  if control > 1 and not ha then
    control = 1
  end
  return { control = control, compute = compute, source = source }
end

---@class apex.DeployCommandInputs
---@field env_files apex.EnvFile[]
---@field ntp string
---@field scales apex.Scales
---@field libvirt_type "kvm"|"qemu"
---@field networks_file? string  network_data.yaml, for the releases that take it

--- The deploy command, one string, and its argument list.
---@param o apex.DeployCommandInputs
---@return string, string[]
function M.deploy_command(o)
  local args = { "openstack", "overcloud", "deploy", "--templates", "--timeout", tostring(M.TIMEOUT_MINUTES) }
  for _, e in ipairs(o.env_files) do
    util.extend(args, { "-e", e.path })
  end
  util.extend(args, {
    "--ntp-server", o.ntp,
    "--control-scale", tostring(o.scales.control),
    "--compute-scale", tostring(o.scales.compute),
    "--control-flavor", "control",
    "--compute-flavor", "compute",
  })
  if o.networks_file then
    util.extend(args, { "--networks-file", o.networks_file })
  end
  util.extend(args, { "--libvirt-type", o.libvirt_type })
  local words = {}
  for i, a in ipairs(args) do
    words[i] = util.shell_quote(a)
  end
  return table.concat(words, " "), args
end

return M
