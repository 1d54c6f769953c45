--- Scenario os-nosdn-fdio-ha: OpenStack with ML2 VPP (dataplane fdio), no SDN controller, HA, tacker, Ceph
--- (Apex's config/deploy/os-nosdn-fdio-ha.yaml: hugepages, isolated cores and VPP's cores per role).
--- Apex's scenario also enables congress; master deploys Stein's THT, which
--- has no congress service (environments/services/congress.yaml is gone), so
--- apex would refuse it: congress stays off here.
local function role()
  return {
    kernel = { hugepagesz = "2M", intel_iommu = "on", iommu = "pt", isolcpus = "1,2" },
    vpp = { ["main-core"] = 1, ["corelist-workers"] = 2, ["uio-driver"] = "uio_pci_generic",
      ["interface-options"] = "vlan-strip-offload off" },
  }
end
local controller, compute = role(), role()
controller.kernel.hugepages = 1024
compute.kernel.hugepages = 2048

return {
  description = "OpenStack with ML2 VPP (dataplane fdio), no SDN controller, HA, tacker, Ceph",
  global_params = { ha_enabled = true },
  deploy_options = {
    containers = true,
    os_version = "master",
    sdn_controller = false,
    tacker = true,
    congress = false,
    sfc = false,
    vpn = false,
    vpp = true,
    dataplane = "fdio",
    performance = { Controller = controller, Compute = compute },
  },
}
