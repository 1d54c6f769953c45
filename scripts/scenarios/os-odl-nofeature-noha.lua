--- Scenario os-odl-nofeature-noha: OpenStack with OpenDaylight (master = newest release), one controller, Ceph
return {
  description = "OpenStack with OpenDaylight (master = newest release), one controller, Ceph",
  global_params = { ha_enabled = false },
  deploy_options = {
    containers = true,
    os_version = "master",
    sdn_controller = "opendaylight",
    odl_version = "master",
    tacker = false,
    congress = false,
    sfc = false,
    vpn = false,
  },
}
