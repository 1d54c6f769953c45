--- Scenario os-ovn-nofeature-ha: OpenStack with OVN, HA, Ceph
return {
  description = "OpenStack with OVN, HA, Ceph",
  global_params = { ha_enabled = true },
  deploy_options = {
    containers = true,
    os_version = "master",
    sdn_controller = "ovn",
    tacker = false,
    congress = false,
    sfc = false,
    vpn = false,
  },
}
