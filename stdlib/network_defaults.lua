--- The shipped network settings (Apex format) of the virtual lab, used when
--- `apex deploy` gets no -n: the undercloud's admin IP is 192.0.2.1.
return {
  ["dns-domain"] = "opnfvlf.org",
  dns_nameservers = { "8.8.8.8", "8.8.4.4" },
  ntp = { "0.pool.ntp.org", "1.pool.ntp.org" },
  networks = {
    admin = {
      enabled = true,
      installer_vm = { nic_type = "interface", members = { "enp0s3" }, vlan = "native", ip = "192.0.2.1" },
      cidr = "192.0.2.0/24",
      gateway = "192.0.2.1",
      dhcp_range = { "192.0.2.2", "192.0.2.50" },
      overcloud_ip_range = { "192.0.2.51", "192.0.2.99" },
    },
    tenant = { enabled = true, cidr = "11.0.0.0/24", mtu = 1500, overlay_id_range = "2,65535", segmentation_type = "vxlan" },
    external = { {
      public = {
        enabled = true,
        mtu = 1500,
        installer_vm = { nic_type = "interface", vlan = "native", members = { "enp0s4" }, ip = "192.168.37.1" },
        cidr = "192.168.37.0/24",
        gateway = "192.168.37.1",
        floating_ip_range = { "192.168.37.200", "192.168.37.220" },
        overcloud_ip_range = { "192.168.37.10", "192.168.37.199" },
      },
    } },
    storage = { enabled = true, cidr = "12.0.0.0/24" },
    api = { enabled = true, cidr = "13.0.0.0/24" },
  },
}
