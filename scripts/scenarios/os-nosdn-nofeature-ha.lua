--- Scenario os-nosdn-nofeature-ha: OpenStack with ML2/OVS, no SDN controller, HA (3 controllers), Ceph
return {
  description = "OpenStack with ML2/OVS, no SDN controller, HA (3 controllers), Ceph",
  global_params = { ha_enabled = true },
  deploy_options = {
    containers = true,
    os_version = "master",
    sdn_controller = false,
    tacker = false,
    congress = false,
    sfc = false,
    vpn = false,
  },
}
