--- Scenario os-nosdn-ovs_dpdk-ha: OpenStack with OVS-DPDK, no SDN controller, HA, tacker, Ceph.
--- Apex's scenario also enables congress; master deploys Stein's THT, which
--- has no congress service (environments/services/congress.yaml is gone), so
--- apex would refuse it: congress stays off here.
return {
  description = "OpenStack with OVS-DPDK, no SDN controller, HA, tacker, Ceph",
  global_params = { ha_enabled = true },
  deploy_options = {
    containers = true,
    os_version = "master",
    sdn_controller = false,
    dataplane = "ovs_dpdk",
    tacker = true,
    congress = false,
    sfc = false,
    vpn = false,
  },
}
