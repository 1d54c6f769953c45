--- Scenario os-odl-bgpvpn-ha: OpenStack with OpenDaylight and BGPVPN, HA, Ceph
return {
  description = "OpenStack with OpenDaylight and BGPVPN, HA, Ceph",
  global_params = { ha_enabled = true },
  deploy_options = {
    containers = true,
    os_version = "master",
    sdn_controller = "opendaylight",
    odl_version = "master",
    tacker = false,
    congress = false,
    sfc = false,
    vpn = true,
  },
}
