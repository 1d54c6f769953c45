--- Scenario os-nosdn-nofeature-noha: OpenStack with ML2/OVS, no SDN controller, one controller, Ceph
return {
  description = "OpenStack with ML2/OVS, no SDN controller, one controller, Ceph",
  global_params = { ha_enabled = false },
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
