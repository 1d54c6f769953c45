--- TripleO Heat Templates: the env files a containerized deploy names, in the
--- contract's order, and the `openstack overcloud deploy` command.
---
--- Order: network env; docker.yaml; docker-ha.yaml (HA); the operator's env
--- file; the image env file; ML2/OVS on a release defaulting to OVN (see
--- below); the SDN files; the feature files (tacker,
--- congress, barometer, rt_kvm); storage-environment.yaml (Ceph);
--- kubernetes-environment.yaml (vim k8s); virtual- or baremetal-environment.yaml.
---
--- Every THT env file the command names comes from the THT of the release
--- being deployed (apex.tht_releases, per os_version; master is Stein's): a
--- feature whose env file that release does not have (congress on Stein and
--- master) is an error at plan time naming the feature and the release.
--- Apex passed `services/congress.yaml` on master too and failed in Heat;
--- apex refuses before anything is deployed, on purpose.
---
--- Stein's THT (master's) deploys OVN unless told otherwise (its
--- `ml2_default`, apex.tht_releases). A deploy whose neutron driver is not
--- OVN names environments/services/neutron-ovs.yaml before its SDN's files:
--- it maps the OVS agent (controller and compute), the DHCP, L3 and
--- metadata agents to their containers and OVNDBs, OVNController and
--- OVNMetadataAgent to OS::Heat::None, and sets ML2 to openvswitch, which
--- is the neutron of Queens and Rocky that the SDN files (ODL's, ML2 VPP's,
--- OVS-DPDK's) start from. Stein's neutron-ovs-dpdk.yaml files only map
--- ComputeNeutronOvsDpdk, so OVS-DPDK needs it too. Apex passes no such file
--- and its master deploys get OVN services whose images it did not mirror;
--- apex is right on purpose.
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
---@field neutron? apex.EnvFile[] before the SDN files (M.neutron_files)
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
  tht(o.neutron or {})
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

--- The THT facts of the release an os_version deploys (master: Stein's).
---@param os_version string
---@return apex.ThtRelease
function M.release(os_version)
  local r = require("apex.tht_releases")[os_version]
  if not r then
    local known = util.sorted_keys(require("apex.tht_releases"))
    util.fail("deploy_options.os_version: %s: apex has no tripleo-heat-templates facts for it (valid: %s)",
      tostring(os_version), table.concat(known, ", "))
  end
  return r
end

--- The THT env file that gives a release defaulting to OVN the ML2/OVS
--- neutron (see the header).
M.NEUTRON_OVS = "services/neutron-ovs.yaml"

--- The env files that set neutron up for the deploy's driver before the SDN
--- files: ML2/OVS when the release defaults to OVN and the driver is not OVN.
---@param rel apex.ThtRelease
---@param driver? string  the neutron driver of the image set ("odl", "ovn"; nil: none)
---@return apex.EnvFile[]
function M.neutron_files(rel, driver)
  if rel.ml2_default ~= "ovn" or driver == "ovn" then return {} end
  return { { path = M.NEUTRON_OVS, reason = string.format("ML2/OVS for neutron driver %s: %s's THT defaults to OVN",
    driver or "default", rel.release) } }
end

--- One line saying which THT a plan assumes.
---@param rel apex.ThtRelease
---@param os_version string
---@return string
function M.release_label(rel, os_version)
  return string.format("tripleo-heat-templates %s (%s%s)", rel.tht_version, rel.release,
    os_version ~= rel.release and ("; os_version " .. os_version) or "")
end

--- Fails when a THT env file of the command is not in the release's THT;
--- files apex writes itself into THT (`shipped`: their base names, e.g.
--- storage-environment.yaml) are apex's and not looked up. The error names
--- the file, the feature or option that wants it (the entry's reason) and
--- the release.
---@param env_files apex.EnvFile[]  as M.env_files returns them (paths under M.ENV_DIR)
---@param rel apex.ThtRelease
---@param os_version string
---@param shipped table<string, any>  base names apex ships
---@param custom? table<string, string>  env paths (as plugins name them) from plugins of your own -> plugin name:
---  a file the release lacks may be one the operator put on the undercloud, so it is a note (the preflight checks it)
---@return string[] notes
function M.check_release(env_files, rel, os_version, shipped, custom)
  local have, notes = {}, {}
  for _, f in ipairs(rel.env_files) do have[f] = true end
  local prefix = M.ENV_DIR .. "/"
  for _, e in ipairs(env_files) do
    if not e["local"] and e.path:sub(1, #prefix) == prefix then
      local rel_path = e.path:sub(#prefix + 1)
      if not have[rel_path] and not shipped[rel_path:match("([^/]+)$")] then
        local plugin = (custom or {})[rel_path]
        if plugin then
          notes[#notes + 1] = string.format("plugin %s names environments/%s, which %s does not have: it must be on "
            .. "the undercloud (the preflight checks it)", plugin, rel_path, M.release_label(rel, os_version))
        else
          util.fail("%s needs environments/%s, which %s does not have: the release has no such feature",
            e.reason, rel_path, M.release_label(rel, os_version))
        end
      end
    end
  end
  return notes
end

--- The env files of the command that the release ships broken, as apex
--- installs them instead (base name -> text, like the storage env file):
--- Stein's services/neutron-opendaylight.yaml maps OpenDaylightOvs to a
--- template Stein moved, which Heat cannot fetch; apex's copy points at its
--- new place. Apex did not know this (its master THT predates the move).
---@param env_files apex.EnvFile[]
---@param rel apex.ThtRelease
---@return table<string, string>
function M.fixed_files(env_files, rel)
  local out, prefix = {}, M.ENV_DIR .. "/"
  for _, e in ipairs(env_files) do
    local text = not e["local"] and e.path:sub(1, #prefix) == prefix and (rel.fixed or {})[e.path:sub(#prefix + 1)]
    if text then out[e.path:match("([^/]+)$")] = text end
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
