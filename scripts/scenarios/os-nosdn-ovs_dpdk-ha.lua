--- Scenario os-nosdn-ovs_dpdk-ha: OpenStack with OVS-DPDK, no SDN controller, HA, tacker and congress, Ceph
return {
  description = "OpenStack with OVS-DPDK, no SDN controller, HA, tacker and congress, Ceph",
  global_params = { ha_enabled = true },
  deploy_options = {
    containers = true,
    os_version = "master",
    sdn_controller = false,
    dataplane = "ovs_dpdk",
    tacker = true,
    congress = true,
    sfc = false,
    vpn = false,
  },
}
