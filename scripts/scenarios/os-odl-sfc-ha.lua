--- Scenario os-odl-sfc-ha: OpenStack with OpenDaylight and service function chaining (SFC), HA, Ceph
return {
  description = "OpenStack with OpenDaylight and service function chaining (SFC), HA, Ceph",
  global_params = { ha_enabled = true },
  deploy_options = {
    containers = true,
    os_version = "master",
    sdn_controller = "opendaylight",
    odl_version = "master",
    tacker = false,
    congress = false,
    sfc = true,
    vpn = false,
  },
}
