--- Facts about the tripleo-heat-templates (THT) of each TripleO release apex
--- deploys, from the released THT source archives on PyPI rendered with
--- THT's own tools/process-templates.py (its roles_data.yaml and
--- network_data.yaml): the env files under environments/ (rendered names:
--- a `.j2.yaml` source is listed as the `.yaml` TripleO renders) and
--- storage-environment.yaml's resource_registry (relative to environments/,
--- as THT writes it). `master` is Stein's THT, the release closest to Apex's
--- master of spring 2019. Written by tests/lab/tripleo_facts.py; a test
--- renders each archive and compares.
---
--- `ml2_default` is the mechanism driver neutron gets when no env file sets
--- one. Stein made it OVN: its default registry runs the OVN services
--- (OVNDBs, OVNController, OVNMetadataAgent) and maps the OVS, DHCP, L3 and
--- metadata agents to OS::Heat::None. OPNFV Apex deploys master (Stein's THT)
--- without environments/services/neutron-ovs.yaml, so its nosdn deploys get
--- OVN and its ODL deploys keep OVNMetadataAgent (Stein's ODL env file only
--- switches OVNDBs and OVNController off), with none of those images
--- mirrored. apex is right on purpose: on a release whose default is OVN,
--- a deploy whose neutron driver is not OVN names neutron-ovs.yaml before
--- its SDN's env files (apex.tht.neutron_files).
---@class apex.ThtRelease
---@field release string        the TripleO release whose THT this is
---@field tht_version string    tripleo-heat-templates on PyPI
---@field common_version string tripleo-common of the same release day (its image list)
---@field ml2_default string   NeutronMechanismDrivers when no env file sets it (ovn, openvswitch)
---@field env_files string[]    environments/*, rendered names, sorted
---@field storage_registry table<string, string>  storage-environment.yaml's resource_registry
---@field fixed table<string, string>  env files the release ships broken (relative to environments/) ->
---  the text apex installs instead: THT's file with the fix (a resource_registry target that moved)
---@field roles {name: string, count: integer, services: string[]}[]  roles_data.yaml: each role's
---  CountDefault and ServicesDefault (names without OS::TripleO::Services::)
---@field registry_off string[]  services the default resource registry maps to OS::Heat::None or
---  puppet/services (no container)
---@field env_services table<string, {on: string[], off: string[]}>  per env file (relative to
---  environments/): the services its resource_registry maps to a container template (on) or off

---@type table<string, apex.ThtRelease>
local R = {}

R.queens = {
  release = "queens",
  tht_version = "8.4.1",
  common_version = "8.7.1",
  ml2_default = "openvswitch",
  storage_registry = {
    ["OS::TripleO::Services::CephClient"] = "../docker/services/ceph-ansible/ceph-client.yaml",
    ["OS::TripleO::Services::CephMgr"] = "../docker/services/ceph-ansible/ceph-mgr.yaml",
    ["OS::TripleO::Services::CephMon"] = "../docker/services/ceph-ansible/ceph-mon.yaml",
    ["OS::TripleO::Services::CephOSD"] = "../docker/services/ceph-ansible/ceph-osd.yaml",
  },
  fixed = {
  },
  env_files = {
    "auditd.yaml",
    "barbican-backend-dogtag.yaml",
    "barbican-backend-kmip.yaml",
    "barbican-backend-pkcs11.yaml",
    "barbican-backend-simple-crypto.yaml",
    "baremetal-services.yaml",
    "cadf.yaml",
    "cavium-liquidio.yaml",
    "ceph-ansible/ceph-ansible-external.yaml",
    "ceph-ansible/ceph-ansible-per-role.yaml",
    "ceph-ansible/ceph-ansible.yaml",
    "ceph-ansible/ceph-mds.yaml",
    "ceph-ansible/ceph-rbdmirror.yaml",
    "ceph-ansible/ceph-rgw.yaml",
    "ceph-radosgw.yaml",
    "cinder-backup.yaml",
    "cinder-dellemc-unity-config.yaml",
    "cinder-dellemc-vmax-iscsi-config.yaml",
    "cinder-dellemc-vnx-config.yaml",
    "cinder-dellemc-xtremio-iscsi-config.yaml",
    "cinder-dellps-config.yaml",
    "cinder-dellsc-config.yaml",
    "cinder-hpelefthand-config.yaml",
    "cinder-iser.yaml",
    "cinder-netapp-config.yaml",
    "cinder-pure-config.yaml",
    "cinder-scaleio-config.yaml",
    "composable-roles/monolithic-ha.yaml",
    "composable-roles/monolithic-nonha.yaml",
    "composable-roles/standalone.yaml",
    "compute-instanceha.yaml",
    "compute-real-time-example.yaml",
    "computealt.yaml",
    "config-debug.yaml",
    "config-download-environment.yaml",
    "debug.yaml",
    "deployed-server-bootstrap-environment-centos.yaml",
    "deployed-server-bootstrap-environment-rhel.yaml",
    "deployed-server-deployed-neutron-ports.yaml",
    "deployed-server-environment.yaml",
    "deployed-server-noop-ctlplane.yaml",
    "deployed-server-pacemaker-environment.yaml",
    "disable-panko.yaml",
    "disable-telemetry.yaml",
    "docker-ha.yaml",
    "docker-network.yaml",
    "docker-uc-light.yaml",
    "docker.yaml",
    "enable-internal-tls.yaml",
    "enable-swap-partition.yaml",
    "enable-swap.yaml",
    "enable-tls.yaml",
    "enable_congress.yaml",
    "enable_tacker.yaml",
    "external-loadbalancer-vip-v6.yaml",
    "external-loadbalancer-vip.yaml",
    "fixed-ip-vips-v6.yaml",
    "fixed-ip-vips.yaml",
    "horizon_password_validation.yaml",
    "host-config-and-reboot.yaml",
    "hyperconverged-ceph.yaml",
    "inject-trust-anchor-hiera.yaml",
    "inject-trust-anchor.yaml",
    "ips-from-pool-all.yaml",
    "ips-from-pool-ctlplane.yaml",
    "ips-from-pool.yaml",
    "ipsec.yaml",
    "kubernetes.yaml",
    "lifecycle/ceph-upgrade-prepare.yaml",
    "lifecycle/ffwd-upgrade-converge.yaml",
    "lifecycle/ffwd-upgrade-prepare.yaml",
    "lifecycle/update-converge.yaml",
    "lifecycle/update-prepare.yaml",
    "lifecycle/upgrade-converge.yaml",
    "lifecycle/upgrade-prepare.yaml",
    "logging-environment.yaml",
    "login-defs.yaml",
    "low-memory-usage.yaml",
    "manila-cephfsganesha-config.yaml",
    "manila-cephfsnative-config.yaml",
    "manila-isilon-config.yaml",
    "manila-netapp-config.yaml",
    "manila-unity-config.yaml",
    "manila-vmax-config.yaml",
    "manila-vnx-config.yaml",
    "metrics/collect-read-rabbitmq.yaml",
    "metrics/collectd-standalone.yaml",
    "metrics/collectd-write-qdr.yaml",
    "mongodb-nojournal.yaml",
    "monitoring-environment.yaml",
    "net-bond-with-vlans-no-external.yaml",
    "net-bond-with-vlans-v6.yaml",
    "net-bond-with-vlans.yaml",
    "net-dpdkbond-with-vlans.yaml",
    "net-multiple-nics-v6.yaml",
    "net-multiple-nics.yaml",
    "net-single-nic-linux-bridge-with-vlans.yaml",
    "net-single-nic-with-vlans-no-external.yaml",
    "net-single-nic-with-vlans-v6.yaml",
    "net-single-nic-with-vlans.yaml",
    "network-environment-v6.yaml",
    "network-environment.yaml",
    "network-isolation-no-tunneling.yaml",
    "network-isolation-v6.yaml",
    "network-isolation.yaml",
    "network-management-v6.yaml",
    "network-management.yaml",
    "networking/neutron-midonet.yaml",
    "networks-disable.yaml",
    "neutron-bgpvpn-bagpipe.yaml",
    "neutron-bgpvpn.yaml",
    "neutron-l2gw.yaml",
    "neutron-linuxbridge.yaml",
    "neutron-midonet.yaml",
    "neutron-ml2-ansible.yaml",
    "neutron-ml2-bigswitch.yaml",
    "neutron-ml2-cisco-n1kv.yaml",
    "neutron-ml2-cisco-nexus-ucsm.yaml",
    "neutron-ml2-cisco-vts.yaml",
    "neutron-ml2-fujitsu-cfab.yaml",
    "neutron-ml2-fujitsu-fossw.yaml",
    "neutron-ml2-ovn-dvr-ha.yaml",
    "neutron-ml2-ovn-ha.yaml",
    "neutron-ml2-vpp.yaml",
    "neutron-nsx.yaml",
    "neutron-nuage-config.yaml",
    "neutron-ovs-dpdk.yaml",
    "neutron-ovs-dvr.yaml",
    "neutron-plumgrid.yaml",
    "neutron-sfc.yaml",
    "neutron-sriov.yaml",
    "nonha-arch.yaml",
    "noop-deploy-steps.yaml",
    "nova-api-policy.yaml",
    "nova-nuage-config.yaml",
    "nsx-config.yaml",
    "openshift.yaml",
    "overcloud-baremetal.yaml",
    "overcloud-services.yaml",
    "overcloud-steps.yaml",
    "ovs-dpdk-permissions.yaml",
    "ovs-hw-offload.yaml",
    "predictable-placement/custom-domain.yaml",
    "predictable-placement/custom-hostnames.yaml",
    "public-tls-undercloud.yaml",
    "puppet-ceph-devel.yaml",
    "puppet-ceph-external.yaml",
    "puppet-ceph.yaml",
    "puppet-pacemaker-no-restart.yaml",
    "puppet-pacemaker.yaml",
    "puppet-tenant-vlan.yaml",
    "rhsm.yaml",
    "securetty.yaml",
    "services-baremetal/barbican.yaml",
    "services-baremetal/cinder-backup.yaml",
    "services-baremetal/collectd.yaml",
    "services-baremetal/congress.yaml",
    "services-baremetal/ec2-api.yaml",
    "services-baremetal/etcd.yaml",
    "services-baremetal/fluentd.yaml",
    "services-baremetal/ironic-inspector.yaml",
    "services-baremetal/ironic.yaml",
    "services-baremetal/manila.yaml",
    "services-baremetal/mistral.yaml",
    "services-baremetal/neutron-bgpvpn-opendaylight.yaml",
    "services-baremetal/neutron-l2gw-opendaylight.yaml",
    "services-baremetal/neutron-lbaasv2.yaml",
    "services-baremetal/neutron-ml2-cisco-vts.yaml",
    "services-baremetal/neutron-opendaylight-dpdk.yaml",
    "services-baremetal/neutron-opendaylight-hw-offload.yaml",
    "services-baremetal/neutron-opendaylight-sriov.yaml",
    "services-baremetal/neutron-opendaylight.yaml",
    "services-baremetal/neutron-ovn-dvr-ha.yaml",
    "services-baremetal/neutron-ovn-dvr.yaml",
    "services-baremetal/neutron-ovn-ha.yaml",
    "services-baremetal/neutron-ovn-hw-offload.yaml",
    "services-baremetal/neutron-ovn.yaml",
    "services-baremetal/neutron-ovs-dpdk.yaml",
    "services-baremetal/neutron-ovs-hw-offload.yaml",
    "services-baremetal/neutron-sriov.yaml",
    "services-baremetal/octavia.yaml",
    "services-baremetal/sahara.yaml",
    "services-baremetal/sensu-client.yaml",
    "services-baremetal/tacker.yaml",
    "services-baremetal/undercloud-aodh.yaml",
    "services-baremetal/undercloud-ceilometer.yaml",
    "services-baremetal/undercloud-cinder.yaml",
    "services-baremetal/undercloud-gnocchi.yaml",
    "services-baremetal/undercloud-haproxy.yaml",
    "services-baremetal/undercloud-keepalived.yaml",
    "services-baremetal/undercloud-panko.yaml",
    "services-baremetal/zaqar.yaml",
    "services-docker/barbican.yaml",
    "services-docker/cinder-backup.yaml",
    "services-docker/collectd.yaml",
    "services-docker/congress.yaml",
    "services-docker/ec2-api.yaml",
    "services-docker/etcd.yaml",
    "services-docker/fluentd.yaml",
    "services-docker/ironic-inspector.yaml",
    "services-docker/ironic.yaml",
    "services-docker/manila.yaml",
    "services-docker/mistral.yaml",
    "services-docker/neutron-bgpvpn-opendaylight.yaml",
    "services-docker/neutron-l2gw-opendaylight.yaml",
    "services-docker/neutron-lbaasv2.yaml",
    "services-docker/neutron-ml2-cisco-vts.yaml",
    "services-docker/neutron-opendaylight-dpdk.yaml",
    "services-docker/neutron-opendaylight-sriov.yaml",
    "services-docker/neutron-opendaylight.yaml",
    "services-docker/neutron-ovn-dvr-ha.yaml",
    "services-docker/neutron-ovn-ha.yaml",
    "services-docker/neutron-ovs-dpdk.yaml",
    "services-docker/neutron-sriov.yaml",
    "services-docker/octavia.yaml",
    "services-docker/sahara.yaml",
    "services-docker/sensu-client.yaml",
    "services-docker/skydive-environment.yaml",
    "services-docker/tacker.yaml",
    "services-docker/undercloud-aodh.yaml",
    "services-docker/undercloud-ceilometer.yaml",
    "services-docker/undercloud-cinder.yaml",
    "services-docker/undercloud-gnocchi.yaml",
    "services-docker/undercloud-haproxy.yaml",
    "services-docker/undercloud-keepalived.yaml",
    "services-docker/undercloud-panko.yaml",
    "services-docker/update-odl.yaml",
    "services-docker/zaqar.yaml",
    "services/barbican.yaml",
    "services/ceph-mds.yaml",
    "services/ceph-rbdmirror.yaml",
    "services/cinder-backup.yaml",
    "services/collectd.yaml",
    "services/congress.yaml",
    "services/ec2-api.yaml",
    "services/etcd.yaml",
    "services/fluentd.yaml",
    "services/haproxy-internal-tls-certmonger.yaml",
    "services/haproxy-public-tls-certmonger.yaml",
    "services/ironic-inspector.yaml",
    "services/ironic.yaml",
    "services/keystone_domain_specific_ldap_backend.yaml",
    "services/manila.yaml",
    "services/mistral.yaml",
    "services/neutron-bgpvpn-opendaylight.yaml",
    "services/neutron-l2gw-opendaylight.yaml",
    "services/neutron-lbaasv2.yaml",
    "services/neutron-ml2-ansible.yaml",
    "services/neutron-ml2-cisco-vts.yaml",
    "services/neutron-nsx-lbaasv2.yaml",
    "services/neutron-opendaylight-dpdk.yaml",
    "services/neutron-opendaylight-hw-offload.yaml",
    "services/neutron-opendaylight-sriov.yaml",
    "services/neutron-opendaylight.yaml",
    "services/neutron-ovn-dvr-ha.yaml",
    "services/neutron-ovn-ha.yaml",
    "services/neutron-ovn-sriov.yaml",
    "services/neutron-ovs-dpdk.yaml",
    "services/neutron-ovs-dvr.yaml",
    "services/neutron-ovs-hw-offload.yaml",
    "services/neutron-sfc-opendaylight.yaml",
    "services/neutron-sriov.yaml",
    "services/novajoin.yaml",
    "services/octavia.yaml",
    "services/ptp.yaml",
    "services/qdr.yaml",
    "services/sahara.yaml",
    "services/sensu-client.yaml",
    "services/skydive-environment.yaml",
    "services/tacker.yaml",
    "services/tempest.yaml",
    "services/undercloud-aodh.yaml",
    "services/undercloud-ceilometer.yaml",
    "services/undercloud-cinder.yaml",
    "services/undercloud-gnocchi.yaml",
    "services/undercloud-haproxy.yaml",
    "services/undercloud-keepalived.yaml",
    "services/undercloud-panko.yaml",
    "services/update-odl.yaml",
    "services/vpp.yaml",
    "services/zaqar.yaml",
    "split-stack-consistent-hostname-format.yaml",
    "sshd-banner.yaml",
    "ssl/enable-internal-tls.yaml",
    "ssl/enable-tls.yaml",
    "ssl/inject-trust-anchor-hiera.yaml",
    "ssl/inject-trust-anchor.yaml",
    "ssl/tls-endpoints-public-dns.yaml",
    "ssl/tls-endpoints-public-ip.yaml",
    "ssl/tls-everywhere-endpoints-dns.yaml",
    "stdout-logging.yaml",
    "storage-environment-external.yaml",
    "storage-environment.yaml",
    "storage/cinder-netapp-config.yaml",
    "storage/cinder-nfs.yaml",
    "storage/enable-ceph.yaml",
    "storage/external-ceph.yaml",
    "storage/glance-nfs.yaml",
    "storage/nova-nfs.yaml",
    "swift-external.yaml",
    "tls-endpoints-public-dns.yaml",
    "tls-endpoints-public-ip.yaml",
    "tls-everywhere-endpoints-dns.yaml",
    "tuned-ceph-filestore-hci.yaml",
    "undercloud.yaml",
    "updates/update-from-192_0_2-subnet.yaml",
    "updates/update-from-ceph-newton.yaml",
    "updates/update-from-deployed-server-newton.yaml",
    "updates/update-from-keystone-admin-internal-api.yaml",
    "updates/update-from-overcloud-compute-hostnames.yaml",
    "updates/update-from-publicvip-on-ctlplane.yaml",
    "use-dns-for-vips.yaml",
    "veritas-hyperscale/cinder-veritas-hyperscale-config.yaml",
    "veritas-hyperscale/veritas-hyperscale-config.yaml",
  },
  roles = {
    { name = "Controller", count = 1, services = {
      "Aide", "AodhApi", "AodhEvaluator", "AodhListener", "AodhNotifier", "AuditD", "BarbicanApi",
      "BarbicanBackendSimpleCrypto", "BarbicanBackendDogtag", "BarbicanBackendKmip",
      "BarbicanBackendPkcs11Crypto", "CACerts", "CeilometerApi", "CeilometerCollector", "CeilometerExpirer",
      "CeilometerAgentCentral", "CeilometerAgentNotification", "CephExternal", "CephMds", "CephMgr",
      "CephMon", "CephRbdMirror", "CephRgw", "CertmongerUser", "CinderApi", "CinderBackendDellPs",
      "CinderBackendDellSc", "CinderBackendDellEMCUnity", "CinderBackendDellEMCVMAXISCSI",
      "CinderBackendDellEMCVNX", "CinderBackendDellEMCXTREMIOISCSI", "CinderBackendNetApp",
      "CinderBackendPure", "CinderBackendScaleIO", "CinderBackendVRTSHyperScale", "CinderBackup",
      "CinderHPELeftHandISCSI", "CinderScheduler", "CinderVolume", "Clustercheck", "Collectd", "Congress",
      "Docker", "Ec2Api", "Etcd", "ExternalSwiftProxy", "Fluentd", "GlanceApi", "GlanceRegistry",
      "GnocchiApi", "GnocchiMetricd", "GnocchiStatsd", "HAproxy", "HeatApi", "HeatApiCloudwatch",
      "HeatApiCfn", "HeatEngine", "Horizon", "IpaClient", "Ipsec", "IronicApi", "IronicConductor",
      "IronicPxe", "Iscsid", "Keepalived", "Kernel", "Keystone", "LoginDefs", "ManilaApi",
      "ManilaBackendCephFs", "ManilaBackendIsilon", "ManilaBackendNetapp", "ManilaBackendUnity",
      "ManilaBackendVNX", "ManilaBackendVMAX", "ManilaScheduler", "ManilaShare", "Memcached", "MetricsQdr",
      "MistralApi", "MistralEngine", "MistralExecutor", "MistralEventEngine", "MongoDb", "MySQL",
      "MySQLClient", "NeutronApi", "NeutronBgpVpnApi", "NeutronSfcApi", "NeutronCorePlugin",
      "NeutronDhcpAgent", "NeutronL2gwAgent", "NeutronL2gwApi", "NeutronL3Agent", "NeutronLbaasv2Agent",
      "NeutronLbaasv2Api", "NeutronLinuxbridgeAgent", "NeutronMetadataAgent", "NeutronML2FujitsuCfab",
      "NeutronML2FujitsuFossw", "NeutronOvsAgent", "NeutronVppAgent", "NovaApi", "NovaConductor",
      "NovaConsoleauth", "NovaIronic", "NovaMetadata", "NovaPlacement", "NovaScheduler", "NovaVncProxy",
      "Ntp", "ContainersLogrotateCrond", "OctaviaApi", "OctaviaDeploymentConfig", "OctaviaHealthManager",
      "OctaviaHousekeeping", "OctaviaWorker", "OpenDaylightApi", "OpenDaylightOvs", "OVNDBs",
      "OVNController", "Pacemaker", "PankoApi", "RabbitMQ", "Redis", "Rhsm", "RsyslogSidecar", "SaharaApi",
      "SaharaEngine", "Securetty", "SensuClient", "SkydiveAgent", "SkydiveAnalyzer", "Snmp", "Sshd",
      "SwiftProxy", "SwiftDispersion", "SwiftRingBuilder", "SwiftStorage", "Tacker", "Timezone",
      "TripleoFirewall", "TripleoPackages", "Tuned", "Vpp", "Zaqar", "Ptp",
    } },
    { name = "Compute", count = 1, services = {
      "Aide", "AuditD", "CACerts", "CephClient", "CephExternal", "CertmongerUser", "Collectd",
      "ComputeCeilometerAgent", "ComputeNeutronCorePlugin", "ComputeNeutronL3Agent",
      "ComputeNeutronMetadataAgent", "ComputeNeutronOvsAgent", "Docker", "Fluentd", "IpaClient", "Ipsec",
      "Iscsid", "Kernel", "LoginDefs", "MetricsQdr", "MySQLClient", "NeutronBgpVpnBagpipe",
      "NeutronLinuxbridgeAgent", "NeutronVppAgent", "NovaCompute", "NovaLibvirt", "NovaLibvirtGuests",
      "NovaMigrationTarget", "Ntp", "ContainersLogrotateCrond", "OpenDaylightOvs", "Rhsm", "RsyslogSidecar",
      "Securetty", "SensuClient", "SkydiveAgent", "Snmp", "Sshd", "Timezone", "TripleoFirewall",
      "TripleoPackages", "Tuned", "Vpp", "OVNController", "OVNMetadataAgent", "Ptp",
    } },
    { name = "BlockStorage", count = 0, services = {
      "Aide", "AuditD", "BlockStorageCinderVolume", "CACerts", "CertmongerUser",
      "CinderBackendVRTSHyperScale", "Collectd", "Docker", "Fluentd", "IpaClient", "Ipsec", "Iscsid",
      "Kernel", "LoginDefs", "MetricsQdr", "MySQLClient", "Ntp", "ContainersLogrotateCrond", "Rhsm",
      "RsyslogSidecar", "Securetty", "SensuClient", "Snmp", "Sshd", "Timezone", "TripleoFirewall",
      "TripleoPackages", "Tuned", "Ptp",
    } },
    { name = "ObjectStorage", count = 0, services = {
      "Aide", "AuditD", "CACerts", "CertmongerUser", "Collectd", "Docker", "Fluentd", "IpaClient", "Ipsec",
      "Kernel", "LoginDefs", "MetricsQdr", "MySQLClient", "Ntp", "ContainersLogrotateCrond", "Rhsm",
      "RsyslogSidecar", "Securetty", "SensuClient", "Snmp", "Sshd", "SwiftRingBuilder", "SwiftStorage",
      "Timezone", "TripleoFirewall", "TripleoPackages", "Tuned", "Ptp",
    } },
    { name = "CephStorage", count = 0, services = {
      "Aide", "AuditD", "CACerts", "CephOSD", "CertmongerUser", "Collectd", "Docker", "Fluentd", "IpaClient",
      "Ipsec", "Kernel", "LoginDefs", "MetricsQdr", "MySQLClient", "Ntp", "ContainersLogrotateCrond", "Rhsm",
      "RsyslogSidecar", "Securetty", "SensuClient", "Snmp", "Sshd", "Timezone", "TripleoFirewall",
      "TripleoPackages", "Tuned", "Ptp",
    } },
  },
  registry_off = {
    "Aide", "Apache", "AuditD", "BarbicanApi", "BarbicanBackendDogtag", "BarbicanBackendKmip",
    "BarbicanBackendPkcs11Crypto", "BarbicanBackendSimpleCrypto", "BootParams", "CACerts", "CeilometerApi",
    "CeilometerCollector", "CeilometerExpirer", "CephClient", "CephExternal", "CephMds", "CephMgr",
    "CephMon", "CephNfs", "CephOSD", "CephRbdMirror", "CephRgw", "CertmongerUser",
    "CinderBackendDellEMCUnity", "CinderBackendDellEMCVMAXISCSI", "CinderBackendDellEMCVNX",
    "CinderBackendDellEMCXTREMIOISCSI", "CinderBackendDellPs", "CinderBackendDellSc", "CinderBackendNetApp",
    "CinderBackendPure", "CinderBackendScaleIO", "CinderBackendVRTSHyperScale", "CinderBackup",
    "CinderHPELeftHandISCSI", "Clustercheck", "Collectd", "ComputeInstanceHA",
    "ComputeNeutronCorePluginNuage", "ComputeNeutronL3Agent", "ComputeNeutronMetadataAgent",
    "ComputeNeutronOvsDpdk", "Congress", "Docker", "DockerRegistry", "Ec2Api", "Etcd", "ExternalSwiftProxy",
    "Fluentd", "GlanceRegistry", "HAProxyInternalTLS", "HAProxyPublicTLS", "HeatApiCloudwatch", "IpaClient",
    "Ipsec", "IronicApi", "IronicConductor", "IronicInspector", "IronicNeutronAgent", "IronicPxe", "Kernel",
    "LiquidioCompute", "Logging::NovaLibvirt", "LoginDefs", "ManilaApi", "ManilaBackendCephFs",
    "ManilaBackendIsilon", "ManilaBackendNetapp", "ManilaBackendUnity", "ManilaBackendVMAX",
    "ManilaBackendVNX", "ManilaScheduler", "ManilaShare", "MetricsQdr", "MistralApi", "MistralEngine",
    "MistralEventEngine", "MistralExecutor", "MongoDb", "MySQLClient", "NeutronBgpVpnApi",
    "NeutronBgpVpnBagpipe", "NeutronCorePluginML2Nuage", "NeutronCorePluginML2OVN",
    "NeutronCorePluginMidonet", "NeutronCorePluginNuage", "NeutronCorePluginPlumgrid", "NeutronL2gwAgent",
    "NeutronL2gwApi", "NeutronLbaasv2Agent", "NeutronLbaasv2Api", "NeutronLinuxbridgeAgent",
    "NeutronML2FujitsuCfab", "NeutronML2FujitsuFossw", "NeutronSfcApi", "NeutronSriovAgent",
    "NeutronSriovHostConfig", "NeutronVppAgent", "NovaIronic", "NovaLibvirtGuests", "Ntp", "OVNController",
    "OVNDBs", "OVNMetadataAgent", "OctaviaApi", "OctaviaDeploymentConfig", "OctaviaHealthManager",
    "OctaviaHousekeeping", "OctaviaWorker", "OpenDaylightApi", "OpenDaylightOvs", "OpenShift::Master",
    "OpenShift::Worker", "Pacemaker", "PacemakerRemote", "Ptp", "Rhsm", "RsyslogSidecar", "SaharaApi",
    "SaharaEngine", "Securetty", "SensuClient", "SkydiveAgent", "SkydiveAnalyzer", "Snmp", "SwiftDispersion",
    "TLSProxyBase", "Tacker", "Timezone", "Tmpwatch", "TripleoFirewall", "TripleoPackages", "Tuned",
    "UndercloudAodhApi", "UndercloudAodhEvaluator", "UndercloudAodhListener", "UndercloudAodhNotifier",
    "UndercloudCeilometerAgentCentral", "UndercloudCeilometerAgentIpmi",
    "UndercloudCeilometerAgentNotification", "UndercloudCinderApi", "UndercloudCinderScheduler",
    "UndercloudCinderVolume", "UndercloudGnocchiApi", "UndercloudGnocchiMetricd", "UndercloudGnocchiStatsd",
    "UndercloudHAProxy", "UndercloudKeepalived", "UndercloudPankoApi", "UndercloudRedis", "VRTSHyperScale",
    "Vpp", "Zaqar",
  },
  env_services = {
    ["auditd.yaml"] = {
      off = {
        "AuditD",
      },
    },
    ["barbican-backend-dogtag.yaml"] = {
      off = {
        "BarbicanBackendDogtag",
      },
    },
    ["barbican-backend-kmip.yaml"] = {
      off = {
        "BarbicanBackendKmip",
      },
    },
    ["barbican-backend-pkcs11.yaml"] = {
      off = {
        "BarbicanBackendPkcs11Crypto",
      },
    },
    ["barbican-backend-simple-crypto.yaml"] = {
      off = {
        "BarbicanBackendSimpleCrypto",
      },
    },
    ["baremetal-services.yaml"] = {
      off = {
        "AodhApi", "AodhEvaluator", "AodhListener", "AodhNotifier", "BlockStorageCinderVolume",
        "CeilometerAgentCentral", "CeilometerAgentIpmi", "CeilometerAgentNotification", "CeilometerApi",
        "CeilometerCollector", "CeilometerExpirer", "CinderApi", "CinderScheduler", "CinderVolume",
        "ComputeCeilometerAgent", "ComputeNeutronOvsAgent", "ContainersLogrotateCrond", "Docker",
        "GlanceApi", "GnocchiApi", "GnocchiMetricd", "GnocchiStatsd", "HAproxy", "HeatApi", "HeatApiCfn",
        "HeatEngine", "Horizon", "Iscsid", "Keystone", "Memcached", "Multipathd", "MySQL", "NeutronApi",
        "NeutronCorePlugin", "NeutronDhcpAgent", "NeutronL3Agent", "NeutronMetadataAgent", "NeutronOvsAgent",
        "NeutronServer", "NeutronSriovHostConfig", "NovaApi", "NovaCompute", "NovaConductor",
        "NovaConsoleauth", "NovaLibvirt", "NovaMetadata", "NovaMigrationTarget", "NovaPlacement",
        "NovaScheduler", "NovaVncProxy", "PankoApi", "Qdr", "RabbitMQ", "Redis", "Sshd", "SwiftDispersion",
        "SwiftProxy", "SwiftRingBuilder", "SwiftStorage",
      },
    },
    ["cavium-liquidio.yaml"] = {
      on = {
        "NeutronMetadataAgent",
      },
      off = {
        "LiquidioCompute",
      },
    },
    ["ceph-ansible/ceph-ansible-external.yaml"] = {
      on = {
        "CephExternal",
      },
    },
    ["ceph-ansible/ceph-ansible-per-role.yaml"] = {
      on = {
        "CephClient", "CephMgr", "CephMon", "CephOSD",
      },
    },
    ["ceph-ansible/ceph-ansible.yaml"] = {
      on = {
        "CephClient", "CephMgr", "CephMon", "CephOSD",
      },
    },
    ["ceph-ansible/ceph-mds.yaml"] = {
      on = {
        "CephMds",
      },
    },
    ["ceph-ansible/ceph-rbdmirror.yaml"] = {
      on = {
        "CephRbdMirror",
      },
    },
    ["ceph-ansible/ceph-rgw.yaml"] = {
      on = {
        "CephRgw",
      },
      off = {
        "SwiftProxy", "SwiftRingBuilder", "SwiftStorage",
      },
    },
    ["ceph-radosgw.yaml"] = {
      on = {
        "CephRgw",
      },
      off = {
        "SwiftProxy", "SwiftRingBuilder", "SwiftStorage",
      },
    },
    ["cinder-backup.yaml"] = {
      on = {
        "CinderBackup",
      },
    },
    ["cinder-dellemc-unity-config.yaml"] = {
      off = {
        "CinderBackendDellEMCUnity",
      },
    },
    ["cinder-dellemc-vmax-iscsi-config.yaml"] = {
      off = {
        "CinderBackendDellEMCVMAXISCSI",
      },
    },
    ["cinder-dellemc-vnx-config.yaml"] = {
      off = {
        "CinderBackendDellEMCVNX",
      },
    },
    ["cinder-dellemc-xtremio-iscsi-config.yaml"] = {
      off = {
        "CinderBackendDellEMCXTREMIOIscsi",
      },
    },
    ["cinder-dellps-config.yaml"] = {
      off = {
        "CinderBackendDellPs",
      },
    },
    ["cinder-dellsc-config.yaml"] = {
      off = {
        "CinderBackendDellSc",
      },
    },
    ["cinder-hpelefthand-config.yaml"] = {
      off = {
        "CinderHPELeftHandISCSI",
      },
    },
    ["cinder-netapp-config.yaml"] = {
      off = {
        "CinderBackendNetApp",
      },
    },
    ["cinder-pure-config.yaml"] = {
      off = {
        "CinderBackendPure",
      },
    },
    ["cinder-scaleio-config.yaml"] = {
      off = {
        "CinderBackendScaleIO",
      },
    },
    ["compute-instanceha.yaml"] = {
      off = {
        "ComputeInstanceHA",
      },
    },
    ["computealt.yaml"] = {
      off = {
        "CollectdAlt", "ComputeCeilometerAgentAlt", "ComputeNeutronOvsAgentAlt", "FluentdAlt", "IscsidAlt",
        "NovaComputeAlt", "NovaLibvirtAlt", "NovaMigrationTargetAlt", "OVNControllerAlt", "SensuClientAlt",
      },
    },
    ["config-download-environment.yaml"] = {
      on = {
        "BootParams",
      },
    },
    ["disable-panko.yaml"] = {
      off = {
        "PankoApi",
      },
    },
    ["disable-telemetry.yaml"] = {
      off = {
        "AodhApi", "AodhEvaluator", "AodhListener", "AodhNotifier", "CeilometerAgentCentral",
        "CeilometerAgentIpmi", "CeilometerAgentNotification", "ComputeCeilometerAgent", "GnocchiApi",
        "GnocchiMetricd", "GnocchiStatsd", "PankoApi",
      },
    },
    ["docker-ha.yaml"] = {
      on = {
        "CinderVolume", "Clustercheck", "HAproxy", "MySQL", "RabbitMQ", "Redis",
      },
      off = {
        "Keepalived", "Pacemaker", "PacemakerRemote",
      },
    },
    ["docker-uc-light.yaml"] = {
      on = {
        "ContainersLogrotateCrond", "HeatApi", "HeatApiCfn", "HeatEngine", "Keystone", "Memcached",
        "MistralApi", "MistralEngine", "MistralExecutor", "MySQL", "NeutronApi", "NeutronCorePlugin",
        "NeutronDhcpAgent", "NeutronServer", "RabbitMQ", "SwiftProxy", "SwiftRingBuilder", "SwiftStorage",
        "Zaqar",
      },
      off = {
        "Docker",
      },
    },
    ["docker.yaml"] = {
      on = {
        "AodhApi", "AodhEvaluator", "AodhListener", "AodhNotifier", "CeilometerAgentCentral",
        "CeilometerAgentIpmi", "CeilometerAgentNotification", "CinderApi", "CinderScheduler", "CinderVolume",
        "ComputeCeilometerAgent", "ComputeNeutronOvsAgent", "ContainersLogrotateCrond", "GlanceApi",
        "GnocchiApi", "GnocchiMetricd", "GnocchiStatsd", "HAproxy", "HeatApi", "HeatApiCfn", "HeatEngine",
        "Horizon", "Iscsid", "Keystone", "Memcached", "Multipathd", "MySQL", "NeutronApi",
        "NeutronCorePlugin", "NeutronDhcpAgent", "NeutronL3Agent", "NeutronMetadataAgent", "NeutronOvsAgent",
        "NeutronServer", "NovaApi", "NovaCompute", "NovaConductor", "NovaConsoleauth", "NovaLibvirt",
        "NovaMetadata", "NovaMigrationTarget", "NovaPlacement", "NovaScheduler", "NovaVncProxy", "PankoApi",
        "Qdr", "RabbitMQ", "Redis", "Sshd", "SwiftProxy", "SwiftRingBuilder", "SwiftStorage",
      },
      off = {
        "Docker", "NeutronSriovHostConfig", "SwiftDispersion",
      },
    },
    ["enable-internal-tls.yaml"] = {
      off = {
        "CertmongerUser", "HAProxyInternalTLS", "TLSProxyBase",
      },
    },
    ["enable_congress.yaml"] = {
      on = {
        "Congress",
      },
    },
    ["enable_tacker.yaml"] = {
      on = {
        "Tacker",
      },
    },
    ["ipsec.yaml"] = {
      on = {
        "Ipsec",
      },
    },
    ["kubernetes.yaml"] = {
      on = {
        "Kubernetes::Master", "Kubernetes::Worker",
      },
      off = {
        "Docker",
      },
    },
    ["lifecycle/ffwd-upgrade-prepare.yaml"] = {
      off = {
        "Core", "FluentdClient", "VipHosts",
      },
    },
    ["lifecycle/upgrade-prepare.yaml"] = {
      off = {
        "FluentdClient",
      },
    },
    ["logging-environment.yaml"] = {
      on = {
        "Fluentd",
      },
    },
    ["login-defs.yaml"] = {
      off = {
        "LoginDefs",
      },
    },
    ["manila-cephfsganesha-config.yaml"] = {
      on = {
        "CephNfs", "ManilaApi", "ManilaScheduler", "ManilaShare",
      },
      off = {
        "ManilaBackendCephFs",
      },
    },
    ["manila-cephfsnative-config.yaml"] = {
      on = {
        "ManilaApi", "ManilaScheduler", "ManilaShare",
      },
      off = {
        "ManilaBackendCephFs",
      },
    },
    ["manila-isilon-config.yaml"] = {
      on = {
        "ManilaApi", "ManilaScheduler", "ManilaShare",
      },
      off = {
        "ManilaBackendIsilon",
      },
    },
    ["manila-netapp-config.yaml"] = {
      on = {
        "ManilaApi", "ManilaScheduler", "ManilaShare",
      },
      off = {
        "ManilaBackendNetapp",
      },
    },
    ["manila-unity-config.yaml"] = {
      on = {
        "ManilaApi", "ManilaScheduler", "ManilaShare",
      },
      off = {
        "ManilaBackendUnity",
      },
    },
    ["manila-vmax-config.yaml"] = {
      on = {
        "ManilaApi", "ManilaScheduler", "ManilaShare",
      },
      off = {
        "ManilaBackendVMAX",
      },
    },
    ["manila-vnx-config.yaml"] = {
      on = {
        "ManilaApi", "ManilaScheduler", "ManilaShare",
      },
      off = {
        "ManilaBackendVNX",
      },
    },
    ["metrics/collectd-standalone.yaml"] = {
      on = {
        "Collectd",
      },
    },
    ["metrics/collectd-write-qdr.yaml"] = {
      on = {
        "Collectd", "MetricsQdr",
      },
    },
    ["monitoring-environment.yaml"] = {
      on = {
        "SensuClient",
      },
    },
    ["networking/neutron-midonet.yaml"] = {
      on = {
        "NeutronCorePlugin",
      },
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronL3Agent", "NeutronOvsAgent",
      },
    },
    ["neutron-bgpvpn-bagpipe.yaml"] = {
      on = {
        "NeutronBgpVpnApi",
      },
      off = {
        "NeutronBgpVpnBagpipe",
      },
    },
    ["neutron-bgpvpn.yaml"] = {
      on = {
        "NeutronBgpVpnApi",
      },
    },
    ["neutron-l2gw.yaml"] = {
      on = {
        "NeutronL2gwApi",
      },
      off = {
        "NeutronL2gwAgent",
      },
    },
    ["neutron-linuxbridge.yaml"] = {
      off = {
        "ComputeNeutronOvsAgent", "NeutronLinuxbridgeAgent", "NeutronOvsAgent",
      },
    },
    ["neutron-midonet.yaml"] = {
      on = {
        "NeutronCorePlugin",
      },
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronL3Agent", "NeutronOvsAgent",
      },
    },
    ["neutron-ml2-ansible.yaml"] = {
      off = {
        "NeutronCorePlugin",
      },
    },
    ["neutron-ml2-bigswitch.yaml"] = {
      off = {
        "ComputeNeutronOvsAgent", "NeutronL3Agent",
      },
    },
    ["neutron-ml2-cisco-nexus-ucsm.yaml"] = {
      off = {
        "ComputeNeutronCorePlugin",
      },
    },
    ["neutron-ml2-cisco-vts.yaml"] = {
      on = {
        "ComputeNeutronCorePlugin", "NeutronCorePlugin",
      },
    },
    ["neutron-ml2-fujitsu-cfab.yaml"] = {
      off = {
        "NeutronML2FujitsuCfab",
      },
    },
    ["neutron-ml2-fujitsu-fossw.yaml"] = {
      off = {
        "NeutronML2FujitsuFossw",
      },
    },
    ["neutron-ml2-ovn-dvr-ha.yaml"] = {
      on = {
        "NeutronCorePlugin", "OVNController", "OVNDBs",
      },
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronL3Agent", "ComputeNeutronMetadataAgent",
        "ComputeNeutronOvsAgent", "NeutronDhcpAgent", "NeutronL3Agent", "NeutronMetadataAgent",
        "NeutronOvsAgent",
      },
    },
    ["neutron-ml2-ovn-ha.yaml"] = {
      on = {
        "NeutronCorePlugin", "OVNController", "OVNDBs", "OVNMetadataAgent",
      },
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronDhcpAgent", "NeutronL3Agent",
        "NeutronMetadataAgent", "NeutronOvsAgent",
      },
    },
    ["neutron-ml2-vpp.yaml"] = {
      on = {
        "Etcd",
      },
      off = {
        "ComputeNeutronOvsAgent", "NeutronOvsAgent", "NeutronVppAgent", "Vpp",
      },
    },
    ["neutron-nsx.yaml"] = {
      on = {
        "NeutronCorePlugin",
      },
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronDhcpAgent", "NeutronL3Agent",
        "NeutronMetadataAgent", "NeutronOvsAgent",
      },
    },
    ["neutron-nuage-config.yaml"] = {
      off = {
        "ComputeNeutronOvsAgent", "NeutronDhcpAgent", "NeutronL3Agent", "NeutronMetadataAgent",
        "NeutronOvsAgent",
      },
    },
    ["neutron-ovs-dpdk.yaml"] = {
      on = {
        "ComputeNeutronOvsDpdk",
      },
    },
    ["neutron-ovs-dvr.yaml"] = {
      on = {
        "ComputeNeutronL3Agent", "ComputeNeutronMetadataAgent",
      },
    },
    ["neutron-plumgrid.yaml"] = {
      on = {
        "NeutronCorePlugin",
      },
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronDhcpAgent", "NeutronL3Agent",
        "NeutronMetadataAgent", "NeutronOvsAgent",
      },
    },
    ["neutron-sfc.yaml"] = {
      off = {
        "NeutronSfcApi",
      },
    },
    ["neutron-sriov.yaml"] = {
      on = {
        "NeutronSriovAgent",
      },
      off = {
        "NeutronSriovHostConfig",
      },
    },
    ["nonha-arch.yaml"] = {
      on = {
        "CinderVolume", "HAproxy", "MySQL", "RabbitMQ", "Redis",
      },
      off = {
        "Keepalived", "Pacemaker", "PacemakerRemote",
      },
    },
    ["nova-nuage-config.yaml"] = {
      on = {
        "ComputeNeutronCorePlugin",
      },
    },
    ["nsx-config.yaml"] = {
      on = {
        "NeutronCorePluginNSX",
      },
    },
    ["openshift.yaml"] = {
      on = {
        "OpenShift::Master", "OpenShift::Worker",
      },
      off = {
        "Docker",
      },
    },
    ["public-tls-undercloud.yaml"] = {
      off = {
        "CertmongerUser", "HAProxyPublicTLS",
      },
    },
    ["puppet-ceph-devel.yaml"] = {
      off = {
        "CephClient", "CephMon", "CephOSD",
      },
    },
    ["puppet-ceph-external.yaml"] = {
      off = {
        "CephClient", "CephExternal", "CephMon", "CephOSD",
      },
    },
    ["puppet-ceph.yaml"] = {
      off = {
        "CephClient", "CephMon", "CephOSD",
      },
    },
    ["puppet-pacemaker.yaml"] = {
      off = {
        "CinderVolume", "HAproxy", "Keepalived", "MySQL", "Pacemaker", "PacemakerRemote", "RabbitMQ",
        "Redis",
      },
    },
    ["rhsm.yaml"] = {
      on = {
        "Rhsm",
      },
    },
    ["securetty.yaml"] = {
      off = {
        "Securetty",
      },
    },
    ["services-baremetal/barbican.yaml"] = {
      off = {
        "BarbicanApi",
      },
    },
    ["services-baremetal/cinder-backup.yaml"] = {
      off = {
        "CinderBackup",
      },
    },
    ["services-baremetal/collectd.yaml"] = {
      off = {
        "Collectd",
      },
    },
    ["services-baremetal/congress.yaml"] = {
      off = {
        "Congress",
      },
    },
    ["services-baremetal/ec2-api.yaml"] = {
      off = {
        "Ec2Api",
      },
    },
    ["services-baremetal/etcd.yaml"] = {
      off = {
        "Etcd",
      },
    },
    ["services-baremetal/fluentd.yaml"] = {
      off = {
        "Fluentd",
      },
    },
    ["services-baremetal/ironic-inspector.yaml"] = {
      off = {
        "IronicInspector",
      },
    },
    ["services-baremetal/ironic.yaml"] = {
      off = {
        "IronicApi", "IronicConductor", "NovaIronic",
      },
    },
    ["services-baremetal/manila.yaml"] = {
      off = {
        "ManilaApi", "ManilaScheduler", "ManilaShare",
      },
    },
    ["services-baremetal/mistral.yaml"] = {
      off = {
        "MistralApi", "MistralEngine", "MistralEventEngine", "MistralExecutor",
      },
    },
    ["services-baremetal/neutron-bgpvpn-opendaylight.yaml"] = {
      off = {
        "NeutronBgpVpnApi",
      },
    },
    ["services-baremetal/neutron-l2gw-opendaylight.yaml"] = {
      off = {
        "NeutronL2gwApi",
      },
    },
    ["services-baremetal/neutron-lbaasv2.yaml"] = {
      off = {
        "NeutronLbaasv2Agent", "NeutronLbaasv2Api",
      },
    },
    ["services-baremetal/neutron-ml2-cisco-vts.yaml"] = {
      on = {
        "ComputeNeutronCorePlugin", "NeutronCorePlugin",
      },
      off = {
        "NeutronCorePluginVTS",
      },
    },
    ["services-baremetal/neutron-opendaylight-hw-offload.yaml"] = {
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronCorePlugin", "NeutronL3Agent",
        "NeutronOvsAgent", "NeutronSriovHostConfig", "OVNController", "OVNDBs", "OpenDaylightApi",
        "OpenDaylightOvs",
      },
    },
    ["services-baremetal/neutron-opendaylight-sriov.yaml"] = {
      off = {
        "ComputeNeutronCorePlugin", "NeutronSriovAgent",
      },
    },
    ["services-baremetal/neutron-opendaylight.yaml"] = {
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronL3Agent", "NeutronOvsAgent",
        "OVNController", "OVNDBs", "OpenDaylightApi", "OpenDaylightOvs",
      },
    },
    ["services-baremetal/neutron-ovn-dvr-ha.yaml"] = {
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronDhcpAgent", "NeutronL3Agent",
        "NeutronMetadataAgent", "NeutronOvsAgent", "OVNController", "OVNDBs",
      },
    },
    ["services-baremetal/neutron-ovn-dvr.yaml"] = {
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronDhcpAgent", "NeutronL3Agent",
        "NeutronMetadataAgent", "NeutronOvsAgent", "OVNController", "OVNDBs",
      },
    },
    ["services-baremetal/neutron-ovn-ha.yaml"] = {
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronDhcpAgent", "NeutronL3Agent",
        "NeutronMetadataAgent", "NeutronOvsAgent", "OVNController", "OVNDBs", "OVNMetadataAgent",
      },
    },
    ["services-baremetal/neutron-ovn-hw-offload.yaml"] = {
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronDhcpAgent", "NeutronL3Agent",
        "NeutronMetadataAgent", "NeutronOvsAgent", "NeutronSriovHostConfig", "OVNController", "OVNDBs",
        "OVNMetadataAgent",
      },
    },
    ["services-baremetal/neutron-ovn.yaml"] = {
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronDhcpAgent", "NeutronL3Agent",
        "NeutronMetadataAgent", "NeutronOvsAgent", "OVNController", "OVNDBs", "OVNMetadataAgent",
      },
    },
    ["services-baremetal/neutron-ovs-dpdk.yaml"] = {
      off = {
        "ComputeNeutronOvsDpdk",
      },
    },
    ["services-baremetal/neutron-ovs-hw-offload.yaml"] = {
      off = {
        "NeutronSriovHostConfig",
      },
    },
    ["services-baremetal/neutron-sriov.yaml"] = {
      off = {
        "NeutronSriovAgent", "NeutronSriovHostConfig",
      },
    },
    ["services-baremetal/octavia.yaml"] = {
      off = {
        "OctaviaApi", "OctaviaDeploymentConfig", "OctaviaHealthManager", "OctaviaHousekeeping",
        "OctaviaWorker",
      },
    },
    ["services-baremetal/sahara.yaml"] = {
      off = {
        "SaharaApi", "SaharaEngine",
      },
    },
    ["services-baremetal/sensu-client.yaml"] = {
      off = {
        "SensuClient",
      },
    },
    ["services-baremetal/tacker.yaml"] = {
      off = {
        "Tacker",
      },
    },
    ["services-baremetal/undercloud-aodh.yaml"] = {
      off = {
        "UndercloudAodhApi", "UndercloudAodhEvaluator", "UndercloudAodhListener", "UndercloudAodhNotifier",
      },
    },
    ["services-baremetal/undercloud-ceilometer.yaml"] = {
      off = {
        "UndercloudCeilometerAgentCentral", "UndercloudCeilometerAgentIpmi",
        "UndercloudCeilometerAgentNotification",
      },
    },
    ["services-baremetal/undercloud-cinder.yaml"] = {
      off = {
        "UndercloudCinderApi", "UndercloudCinderScheduler", "UndercloudCinderVolume",
      },
    },
    ["services-baremetal/undercloud-gnocchi.yaml"] = {
      off = {
        "UndercloudGnocchiApi", "UndercloudGnocchiMetricd", "UndercloudGnocchiStatsd", "UndercloudRedis",
      },
    },
    ["services-baremetal/undercloud-haproxy.yaml"] = {
      off = {
        "UndercloudHAProxy",
      },
    },
    ["services-baremetal/undercloud-keepalived.yaml"] = {
      off = {
        "UndercloudKeepalived",
      },
    },
    ["services-baremetal/undercloud-panko.yaml"] = {
      off = {
        "UndercloudPankoApi",
      },
    },
    ["services-baremetal/zaqar.yaml"] = {
      off = {
        "MongoDb", "Zaqar",
      },
    },
    ["services-docker/barbican.yaml"] = {
      on = {
        "BarbicanApi",
      },
    },
    ["services-docker/cinder-backup.yaml"] = {
      on = {
        "CinderBackup",
      },
    },
    ["services-docker/collectd.yaml"] = {
      on = {
        "Collectd",
      },
    },
    ["services-docker/congress.yaml"] = {
      on = {
        "Congress",
      },
    },
    ["services-docker/ec2-api.yaml"] = {
      on = {
        "Ec2Api",
      },
    },
    ["services-docker/etcd.yaml"] = {
      on = {
        "Etcd",
      },
    },
    ["services-docker/fluentd.yaml"] = {
      on = {
        "Fluentd",
      },
    },
    ["services-docker/ironic-inspector.yaml"] = {
      on = {
        "IronicInspector",
      },
    },
    ["services-docker/ironic.yaml"] = {
      on = {
        "IronicApi", "IronicConductor", "IronicPxe", "NovaIronic",
      },
    },
    ["services-docker/manila.yaml"] = {
      on = {
        "ManilaApi", "ManilaScheduler", "ManilaShare",
      },
    },
    ["services-docker/mistral.yaml"] = {
      on = {
        "MistralApi", "MistralEngine", "MistralEventEngine", "MistralExecutor",
      },
    },
    ["services-docker/neutron-bgpvpn-opendaylight.yaml"] = {
      on = {
        "NeutronBgpVpnApi",
      },
    },
    ["services-docker/neutron-l2gw-opendaylight.yaml"] = {
      on = {
        "NeutronL2gwApi",
      },
    },
    ["services-docker/neutron-lbaasv2.yaml"] = {
      on = {
        "NeutronLbaasv2Api",
      },
    },
    ["services-docker/neutron-ml2-cisco-vts.yaml"] = {
      on = {
        "ComputeNeutronCorePlugin", "NeutronCorePlugin", "NeutronCorePluginVTS",
      },
    },
    ["services-docker/neutron-opendaylight-sriov.yaml"] = {
      on = {
        "ComputeNeutronCorePlugin", "NeutronSriovAgent",
      },
      off = {
        "NeutronSriovHostConfig",
      },
    },
    ["services-docker/neutron-opendaylight.yaml"] = {
      on = {
        "OpenDaylightApi",
      },
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronL3Agent", "NeutronOvsAgent",
        "OpenDaylightOvs",
      },
    },
    ["services-docker/neutron-ovn-dvr-ha.yaml"] = {
      on = {
        "OVNController", "OVNDBs", "OVNMetadataAgent",
      },
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronL3Agent", "ComputeNeutronMetadataAgent",
        "ComputeNeutronOvsAgent", "NeutronDhcpAgent", "NeutronL3Agent", "NeutronMetadataAgent",
        "NeutronOvsAgent",
      },
    },
    ["services-docker/neutron-ovn-ha.yaml"] = {
      on = {
        "OVNController", "OVNDBs", "OVNMetadataAgent",
      },
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronDhcpAgent", "NeutronL3Agent",
        "NeutronMetadataAgent", "NeutronOvsAgent",
      },
    },
    ["services-docker/neutron-ovs-dpdk.yaml"] = {
      on = {
        "ComputeNeutronOvsDpdk",
      },
    },
    ["services-docker/neutron-sriov.yaml"] = {
      on = {
        "NeutronSriovAgent",
      },
      off = {
        "NeutronSriovHostConfig",
      },
    },
    ["services-docker/octavia.yaml"] = {
      on = {
        "OctaviaApi", "OctaviaDeploymentConfig", "OctaviaHealthManager", "OctaviaHousekeeping",
        "OctaviaWorker",
      },
    },
    ["services-docker/sahara.yaml"] = {
      on = {
        "SaharaApi", "SaharaEngine",
      },
    },
    ["services-docker/sensu-client.yaml"] = {
      on = {
        "SensuClient",
      },
    },
    ["services-docker/skydive-environment.yaml"] = {
      on = {
        "SkydiveAgent", "SkydiveAnalyzer",
      },
    },
    ["services-docker/tacker.yaml"] = {
      on = {
        "Tacker",
      },
    },
    ["services-docker/undercloud-aodh.yaml"] = {
      on = {
        "UndercloudAodhApi", "UndercloudAodhEvaluator", "UndercloudAodhListener", "UndercloudAodhNotifier",
      },
    },
    ["services-docker/undercloud-ceilometer.yaml"] = {
      on = {
        "UndercloudCeilometerAgentCentral", "UndercloudCeilometerAgentIpmi",
        "UndercloudCeilometerAgentNotification",
      },
    },
    ["services-docker/undercloud-cinder.yaml"] = {
      on = {
        "UndercloudCinderApi", "UndercloudCinderScheduler", "UndercloudCinderVolume",
      },
    },
    ["services-docker/undercloud-gnocchi.yaml"] = {
      on = {
        "UndercloudGnocchiApi", "UndercloudGnocchiMetricd", "UndercloudGnocchiStatsd", "UndercloudRedis",
      },
    },
    ["services-docker/undercloud-haproxy.yaml"] = {
      on = {
        "UndercloudHAProxy",
      },
    },
    ["services-docker/undercloud-keepalived.yaml"] = {
      on = {
        "UndercloudKeepalived",
      },
    },
    ["services-docker/undercloud-panko.yaml"] = {
      on = {
        "UndercloudPankoApi",
      },
    },
    ["services-docker/zaqar.yaml"] = {
      on = {
        "MongoDb", "Zaqar",
      },
    },
    ["services/barbican.yaml"] = {
      on = {
        "BarbicanApi",
      },
    },
    ["services/ceph-mds.yaml"] = {
      on = {
        "CephMds",
      },
    },
    ["services/ceph-rbdmirror.yaml"] = {
      on = {
        "CephRbdMirror",
      },
    },
    ["services/cinder-backup.yaml"] = {
      on = {
        "CinderBackup",
      },
    },
    ["services/collectd.yaml"] = {
      on = {
        "Collectd",
      },
    },
    ["services/congress.yaml"] = {
      on = {
        "Congress",
      },
    },
    ["services/ec2-api.yaml"] = {
      on = {
        "Ec2Api",
      },
    },
    ["services/etcd.yaml"] = {
      on = {
        "Etcd",
      },
    },
    ["services/fluentd.yaml"] = {
      on = {
        "Fluentd",
      },
    },
    ["services/haproxy-internal-tls-certmonger.yaml"] = {
      off = {
        "HAProxyInternalTLS",
      },
    },
    ["services/haproxy-public-tls-certmonger.yaml"] = {
      off = {
        "HAProxyPublicTLS",
      },
    },
    ["services/ironic-inspector.yaml"] = {
      on = {
        "IronicInspector",
      },
    },
    ["services/ironic.yaml"] = {
      on = {
        "IronicApi", "IronicConductor", "IronicPxe", "NovaIronic",
      },
    },
    ["services/manila.yaml"] = {
      on = {
        "ManilaApi", "ManilaScheduler", "ManilaShare",
      },
    },
    ["services/mistral.yaml"] = {
      on = {
        "MistralApi", "MistralEngine", "MistralEventEngine", "MistralExecutor",
      },
    },
    ["services/neutron-bgpvpn-opendaylight.yaml"] = {
      on = {
        "NeutronBgpVpnApi",
      },
    },
    ["services/neutron-l2gw-opendaylight.yaml"] = {
      on = {
        "NeutronL2gwApi",
      },
    },
    ["services/neutron-lbaasv2.yaml"] = {
      on = {
        "NeutronLbaasv2Api",
      },
    },
    ["services/neutron-ml2-ansible.yaml"] = {
      on = {
        "NeutronCorePlugin",
      },
    },
    ["services/neutron-ml2-cisco-vts.yaml"] = {
      on = {
        "ComputeNeutronCorePlugin", "NeutronCorePlugin", "NeutronCorePluginVTS",
      },
    },
    ["services/neutron-nsx-lbaasv2.yaml"] = {
      on = {
        "NeutronLbaasv2Api",
      },
    },
    ["services/neutron-opendaylight-hw-offload.yaml"] = {
      on = {
        "OpenDaylightApi",
      },
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronCorePlugin", "NeutronL3Agent",
        "NeutronOvsAgent", "NeutronSriovHostConfig", "OVNController", "OVNDBs", "OpenDaylightOvs",
      },
    },
    ["services/neutron-opendaylight-sriov.yaml"] = {
      on = {
        "ComputeNeutronCorePlugin", "NeutronSriovAgent",
      },
      off = {
        "NeutronSriovHostConfig",
      },
    },
    ["services/neutron-opendaylight.yaml"] = {
      on = {
        "OpenDaylightApi",
      },
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronL3Agent", "NeutronOvsAgent",
        "OVNController", "OVNDBs", "OpenDaylightOvs",
      },
    },
    ["services/neutron-ovn-dvr-ha.yaml"] = {
      on = {
        "OVNController", "OVNDBs", "OVNMetadataAgent",
      },
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronL3Agent", "ComputeNeutronMetadataAgent",
        "ComputeNeutronOvsAgent", "NeutronDhcpAgent", "NeutronL3Agent", "NeutronMetadataAgent",
        "NeutronOvsAgent",
      },
    },
    ["services/neutron-ovn-ha.yaml"] = {
      on = {
        "OVNController", "OVNDBs", "OVNMetadataAgent",
      },
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronDhcpAgent", "NeutronL3Agent",
        "NeutronMetadataAgent", "NeutronOvsAgent",
      },
    },
    ["services/neutron-ovn-sriov.yaml"] = {
      on = {
        "NeutronDhcpAgent", "NeutronSriovAgent",
      },
      off = {
        "NeutronSriovHostConfig",
      },
    },
    ["services/neutron-ovs-dpdk.yaml"] = {
      on = {
        "ComputeNeutronOvsDpdk",
      },
    },
    ["services/neutron-ovs-dvr.yaml"] = {
      on = {
        "ComputeNeutronL3Agent", "ComputeNeutronMetadataAgent",
      },
    },
    ["services/neutron-ovs-hw-offload.yaml"] = {
      off = {
        "NeutronSriovHostConfig",
      },
    },
    ["services/neutron-sfc-opendaylight.yaml"] = {
      on = {
        "NeutronSfcApi",
      },
    },
    ["services/neutron-sriov.yaml"] = {
      on = {
        "NeutronSriovAgent",
      },
      off = {
        "NeutronSriovHostConfig",
      },
    },
    ["services/novajoin.yaml"] = {
      on = {
        "Novajoin",
      },
    },
    ["services/octavia.yaml"] = {
      on = {
        "OctaviaApi", "OctaviaDeploymentConfig", "OctaviaHealthManager", "OctaviaHousekeeping",
        "OctaviaWorker",
      },
    },
    ["services/ptp.yaml"] = {
      off = {
        "Ntp", "Ptp",
      },
    },
    ["services/qdr.yaml"] = {
      on = {
        "Qdr",
      },
    },
    ["services/sahara.yaml"] = {
      on = {
        "SaharaApi", "SaharaEngine",
      },
    },
    ["services/sensu-client.yaml"] = {
      on = {
        "SensuClient",
      },
    },
    ["services/skydive-environment.yaml"] = {
      on = {
        "SkydiveAgent", "SkydiveAnalyzer",
      },
    },
    ["services/tacker.yaml"] = {
      on = {
        "Tacker",
      },
    },
    ["services/tempest.yaml"] = {
      on = {
        "Tempest",
      },
    },
    ["services/undercloud-aodh.yaml"] = {
      on = {
        "UndercloudAodhApi", "UndercloudAodhEvaluator", "UndercloudAodhListener", "UndercloudAodhNotifier",
      },
    },
    ["services/undercloud-ceilometer.yaml"] = {
      on = {
        "UndercloudCeilometerAgentCentral", "UndercloudCeilometerAgentIpmi",
        "UndercloudCeilometerAgentNotification",
      },
    },
    ["services/undercloud-cinder.yaml"] = {
      on = {
        "UndercloudCinderApi", "UndercloudCinderScheduler", "UndercloudCinderVolume",
      },
    },
    ["services/undercloud-gnocchi.yaml"] = {
      on = {
        "UndercloudGnocchiApi", "UndercloudGnocchiMetricd", "UndercloudGnocchiStatsd", "UndercloudRedis",
      },
    },
    ["services/undercloud-haproxy.yaml"] = {
      on = {
        "UndercloudHAProxy",
      },
    },
    ["services/undercloud-keepalived.yaml"] = {
      on = {
        "UndercloudKeepalived",
      },
    },
    ["services/undercloud-panko.yaml"] = {
      on = {
        "UndercloudPankoApi",
      },
    },
    ["services/vpp.yaml"] = {
      off = {
        "Vpp",
      },
    },
    ["services/zaqar.yaml"] = {
      on = {
        "MongoDb", "Zaqar",
      },
    },
    ["ssl/enable-internal-tls.yaml"] = {
      on = {
        "IpaClient",
      },
      off = {
        "CertmongerUser", "HAProxyInternalTLS", "TLSProxyBase",
      },
    },
    ["stdout-logging.yaml"] = {
      on = {
        "Logging::BarbicanApi", "Logging::GlanceApi", "Logging::HAProxy", "Logging::HeatApi",
        "Logging::HeatApiCfn", "Logging::HeatEngine", "Logging::Keystone", "Logging::NeutronApi",
        "Logging::NeutronCommon", "Logging::NovaApi", "Logging::NovaCommon", "Logging::NovaLibvirt",
        "Logging::NovaPlacement", "Logging::PankoApi", "RsyslogSidecar",
      },
    },
    ["storage-environment-external.yaml"] = {
      on = {
        "CephExternal",
      },
      off = {
        "CephClient", "CephMon", "CephOSD",
      },
    },
    ["storage-environment.yaml"] = {
      on = {
        "CephClient", "CephMgr", "CephMon", "CephOSD",
      },
    },
    ["storage/cinder-netapp-config.yaml"] = {
      off = {
        "CinderBackendNetApp",
      },
    },
    ["storage/enable-ceph.yaml"] = {
      on = {
        "CephClient", "CephMgr", "CephMon", "CephOSD",
      },
    },
    ["storage/external-ceph.yaml"] = {
      on = {
        "CephExternal",
      },
    },
    ["swift-external.yaml"] = {
      off = {
        "ExternalSwiftProxy", "SwiftProxy", "SwiftRingBuilder", "SwiftStorage",
      },
    },
    ["undercloud.yaml"] = {
      on = {
        "Tmpwatch",
      },
      off = {
        "DockerRegistry",
      },
    },
    ["veritas-hyperscale/cinder-veritas-hyperscale-config.yaml"] = {
      off = {
        "CinderBackendVRTSHyperScale",
      },
    },
    ["veritas-hyperscale/veritas-hyperscale-config.yaml"] = {
      off = {
        "VRTSHyperScale",
      },
    },
  },
}

R.rocky = {
  release = "rocky",
  tht_version = "9.4.1",
  common_version = "9.6.1",
  ml2_default = "openvswitch",
  storage_registry = {
    ["OS::TripleO::Services::CephClient"] = "../docker/services/ceph-ansible/ceph-client.yaml",
    ["OS::TripleO::Services::CephMgr"] = "../docker/services/ceph-ansible/ceph-mgr.yaml",
    ["OS::TripleO::Services::CephMon"] = "../docker/services/ceph-ansible/ceph-mon.yaml",
    ["OS::TripleO::Services::CephOSD"] = "../docker/services/ceph-ansible/ceph-osd.yaml",
  },
  fixed = {
  },
  env_files = {
    "auditd.yaml",
    "barbican-backend-dogtag.yaml",
    "barbican-backend-kmip.yaml",
    "barbican-backend-pkcs11.yaml",
    "barbican-backend-simple-crypto.yaml",
    "baremetal-services.yaml",
    "cadf.yaml",
    "cavium-liquidio.yaml",
    "ceph-ansible/ceph-ansible-external.yaml",
    "ceph-ansible/ceph-ansible-per-role.yaml",
    "ceph-ansible/ceph-ansible.yaml",
    "ceph-ansible/ceph-mds.yaml",
    "ceph-ansible/ceph-rbdmirror.yaml",
    "ceph-ansible/ceph-rgw.yaml",
    "cinder-backup.yaml",
    "cinder-dellemc-unity-config.yaml",
    "cinder-dellemc-vmax-iscsi-config.yaml",
    "cinder-dellemc-vnx-config.yaml",
    "cinder-dellemc-xtremio-iscsi-config.yaml",
    "cinder-dellps-config.yaml",
    "cinder-dellsc-config.yaml",
    "cinder-hpelefthand-config.yaml",
    "cinder-iser.yaml",
    "cinder-netapp-config.yaml",
    "cinder-nvmeof-config.yaml",
    "cinder-pure-config.yaml",
    "cinder-scaleio-config.yaml",
    "composable-roles/monolithic-ha.yaml",
    "composable-roles/monolithic-nonha.yaml",
    "composable-roles/standalone.yaml",
    "compute-instanceha.yaml",
    "compute-real-time-example.yaml",
    "computealt.yaml",
    "config-debug.yaml",
    "config-download-environment.yaml",
    "containerized-control-plane-dellemc-scaleio.yaml",
    "debug.yaml",
    "deployed-server-bootstrap-environment-centos.yaml",
    "deployed-server-bootstrap-environment-rhel.yaml",
    "deployed-server-deployed-neutron-ports.yaml",
    "deployed-server-environment.yaml",
    "deployed-server-noop-ctlplane.yaml",
    "deployed-server-pacemaker-environment.yaml",
    "designate-config-ha.yaml",
    "designate-config.yaml",
    "disable-config-download-environment.yaml",
    "disable-panko.yaml",
    "disable-telemetry.yaml",
    "disable-workflow-tasks.yaml",
    "docker-ha.yaml",
    "docker-network.yaml",
    "docker-uc-light.yaml",
    "docker.yaml",
    "enable-designate.yaml",
    "enable-internal-tls.yaml",
    "enable-swap-partition.yaml",
    "enable-swap.yaml",
    "enable-tls.yaml",
    "enable_congress.yaml",
    "enable_tacker.yaml",
    "enable_tempest.yaml",
    "external-loadbalancer-vip-v6.yaml",
    "external-loadbalancer-vip.yaml",
    "fixed-ip-vips-v6.yaml",
    "fixed-ip-vips.yaml",
    "horizon_password_validation.yaml",
    "host-config-and-reboot.yaml",
    "hyperconverged-ceph.yaml",
    "inject-trust-anchor-hiera.yaml",
    "inject-trust-anchor.yaml",
    "ips-from-pool-all.yaml",
    "ips-from-pool-ctlplane.yaml",
    "ips-from-pool.yaml",
    "ipsec.yaml",
    "kubernetes.yaml",
    "lifecycle/ffwd-upgrade-converge.yaml",
    "lifecycle/ffwd-upgrade-prepare.yaml",
    "lifecycle/undercloud-upgrade-prepare.yaml",
    "lifecycle/update-converge.yaml",
    "lifecycle/update-prepare.yaml",
    "lifecycle/upgrade-converge.yaml",
    "lifecycle/upgrade-prepare.yaml",
    "logging-environment.yaml",
    "login-defs.yaml",
    "low-memory-usage.yaml",
    "manila-cephfsganesha-config.yaml",
    "manila-cephfsnative-config.yaml",
    "manila-isilon-config.yaml",
    "manila-netapp-config.yaml",
    "manila-unity-config.yaml",
    "manila-vmax-config.yaml",
    "manila-vnx-config.yaml",
    "messaging/rpc-qdrouterd-notify-rabbitmq-hybrid.yaml",
    "messaging/rpc-rabbitmq-notify-rabbitmq-shared.yaml",
    "metrics/collect-read-rabbitmq.yaml",
    "metrics/collectd-standalone.yaml",
    "metrics/collectd-write-qdr.yaml",
    "mongodb-nojournal.yaml",
    "monitoring-environment.yaml",
    "net-bond-with-vlans-no-external.yaml",
    "net-bond-with-vlans-v6.yaml",
    "net-bond-with-vlans.yaml",
    "net-dpdkbond-with-vlans.yaml",
    "net-multiple-nics-v6.yaml",
    "net-multiple-nics.yaml",
    "net-noop.yaml",
    "net-single-nic-linux-bridge-with-vlans.yaml",
    "net-single-nic-with-vlans-no-external.yaml",
    "net-single-nic-with-vlans-v6.yaml",
    "net-single-nic-with-vlans.yaml",
    "network-environment-v6.yaml",
    "network-environment.yaml",
    "network-isolation-no-tunneling.yaml",
    "network-isolation-v6.yaml",
    "network-isolation.yaml",
    "network-management-v6.yaml",
    "network-management.yaml",
    "networking/neutron-midonet.yaml",
    "networks-disable.yaml",
    "neutron-bgpvpn-bagpipe.yaml",
    "neutron-bgpvpn.yaml",
    "neutron-l2gw.yaml",
    "neutron-linuxbridge.yaml",
    "neutron-midonet.yaml",
    "neutron-ml2-ansible.yaml",
    "neutron-ml2-bigswitch.yaml",
    "neutron-ml2-cisco-n1kv.yaml",
    "neutron-ml2-cisco-nexus-ucsm.yaml",
    "neutron-ml2-cisco-vts.yaml",
    "neutron-ml2-fujitsu-cfab.yaml",
    "neutron-ml2-fujitsu-fossw.yaml",
    "neutron-ml2-mlnx-sdn.yaml",
    "neutron-ml2-ovn-dvr-ha.yaml",
    "neutron-ml2-ovn-ha.yaml",
    "neutron-ml2-ovn-hw-offload.yaml",
    "neutron-ml2-vpp.yaml",
    "neutron-nsx.yaml",
    "neutron-nuage-config.yaml",
    "neutron-ovs-dpdk.yaml",
    "neutron-ovs-dvr.yaml",
    "neutron-plumgrid.yaml",
    "neutron-sfc.yaml",
    "neutron-sriov.yaml",
    "no-tls-endpoints-public-ip.yaml",
    "nonha-arch.yaml",
    "noop-deploy-steps.yaml",
    "nova-api-policy.yaml",
    "nova-nuage-config.yaml",
    "nsx-config.yaml",
    "odl-dscp-marking-inheritance.yaml",
    "openshift-cns.yaml",
    "openshift.yaml",
    "overcloud-baremetal.yaml",
    "overcloud-services.yaml",
    "overcloud-steps.yaml",
    "ovs-dpdk-permissions.yaml",
    "ovs-hw-offload.yaml",
    "predictable-placement/custom-domain.yaml",
    "predictable-placement/custom-hostnames.yaml",
    "public-tls-undercloud.yaml",
    "puppet-pacemaker-no-restart.yaml",
    "puppet-pacemaker.yaml",
    "puppet-tenant-vlan.yaml",
    "rhsm.yaml",
    "securetty.yaml",
    "services-baremetal/barbican.yaml",
    "services-baremetal/cinder-backup.yaml",
    "services-baremetal/collectd.yaml",
    "services-baremetal/congress.yaml",
    "services-baremetal/ec2-api.yaml",
    "services-baremetal/etcd.yaml",
    "services-baremetal/fluentd.yaml",
    "services-baremetal/ironic-inspector.yaml",
    "services-baremetal/ironic.yaml",
    "services-baremetal/manila.yaml",
    "services-baremetal/mistral.yaml",
    "services-baremetal/neutron-bgpvpn-opendaylight.yaml",
    "services-baremetal/neutron-l2gw-opendaylight.yaml",
    "services-baremetal/neutron-lbaasv2.yaml",
    "services-baremetal/neutron-ml2-cisco-vts.yaml",
    "services-baremetal/neutron-opendaylight-dpdk.yaml",
    "services-baremetal/neutron-opendaylight-hw-offload.yaml",
    "services-baremetal/neutron-opendaylight-sriov.yaml",
    "services-baremetal/neutron-opendaylight.yaml",
    "services-baremetal/neutron-ovn-dvr-ha.yaml",
    "services-baremetal/neutron-ovn-ha.yaml",
    "services-baremetal/neutron-ovn-hw-offload.yaml",
    "services-baremetal/neutron-ovs-dpdk.yaml",
    "services-baremetal/neutron-ovs-hw-offload.yaml",
    "services-baremetal/neutron-sriov.yaml",
    "services-baremetal/octavia.yaml",
    "services-baremetal/sahara.yaml",
    "services-baremetal/sensu-client.yaml",
    "services-baremetal/tacker.yaml",
    "services-baremetal/undercloud-aodh.yaml",
    "services-baremetal/undercloud-ceilometer.yaml",
    "services-baremetal/undercloud-cinder.yaml",
    "services-baremetal/undercloud-gnocchi.yaml",
    "services-baremetal/undercloud-haproxy.yaml",
    "services-baremetal/undercloud-keepalived.yaml",
    "services-baremetal/undercloud-panko.yaml",
    "services-baremetal/zaqar.yaml",
    "services/barbican.yaml",
    "services/cinder-backup.yaml",
    "services/collectd.yaml",
    "services/congress.yaml",
    "services/ec2-api.yaml",
    "services/etcd.yaml",
    "services/fluentd.yaml",
    "services/haproxy-internal-tls-certmonger.yaml",
    "services/haproxy-public-tls-certmonger.yaml",
    "services/ironic-inspector.yaml",
    "services/ironic.yaml",
    "services/keystone_domain_specific_ldap_backend.yaml",
    "services/manila.yaml",
    "services/masquerade-networks.yaml",
    "services/mistral.yaml",
    "services/neutron-bgpvpn-opendaylight.yaml",
    "services/neutron-l2gw-opendaylight.yaml",
    "services/neutron-lbaasv2.yaml",
    "services/neutron-ml2-ansible.yaml",
    "services/neutron-ml2-cisco-vts.yaml",
    "services/neutron-nsx-lbaasv2.yaml",
    "services/neutron-opendaylight-dpdk.yaml",
    "services/neutron-opendaylight-hw-offload.yaml",
    "services/neutron-opendaylight-sriov.yaml",
    "services/neutron-opendaylight.yaml",
    "services/neutron-ovn-dvr-ha.yaml",
    "services/neutron-ovn-ha.yaml",
    "services/neutron-ovn-hw-offload.yaml",
    "services/neutron-ovn-sriov.yaml",
    "services/neutron-ovs-dpdk.yaml",
    "services/neutron-ovs-dvr.yaml",
    "services/neutron-ovs-hw-offload.yaml",
    "services/neutron-sfc-opendaylight.yaml",
    "services/neutron-sriov.yaml",
    "services/novajoin.yaml",
    "services/octavia.yaml",
    "services/ptp.yaml",
    "services/qdr.yaml",
    "services/sahara.yaml",
    "services/sensu-client.yaml",
    "services/skydive-environment.yaml",
    "services/tacker.yaml",
    "services/tempest.yaml",
    "services/tripleo-ui.yaml",
    "services/undercloud-aodh.yaml",
    "services/undercloud-ceilometer.yaml",
    "services/undercloud-cinder.yaml",
    "services/undercloud-gnocchi.yaml",
    "services/undercloud-haproxy.yaml",
    "services/undercloud-keepalived.yaml",
    "services/undercloud-panko.yaml",
    "services/update-odl.yaml",
    "services/vpp.yaml",
    "services/zaqar-swift-backend.yaml",
    "services/zaqar.yaml",
    "split-stack-consistent-hostname-format.yaml",
    "sshd-banner.yaml",
    "ssl/enable-internal-tls.yaml",
    "ssl/enable-tls.yaml",
    "ssl/inject-trust-anchor-hiera.yaml",
    "ssl/inject-trust-anchor.yaml",
    "ssl/no-tls-endpoints-public.yaml",
    "ssl/tls-endpoints-public-dns.yaml",
    "ssl/tls-endpoints-public-ip.yaml",
    "ssl/tls-everywhere-endpoints-dns.yaml",
    "standalone.yaml",
    "standalone/standalone-overcloud.yaml",
    "standalone/standalone-tripleo.yaml",
    "stdout-logging.yaml",
    "storage-environment-external.yaml",
    "storage-environment.yaml",
    "storage/cinder-netapp-config.yaml",
    "storage/cinder-nfs.yaml",
    "storage/glance-nfs.yaml",
    "storage/nova-nfs.yaml",
    "swift-external.yaml",
    "tls-endpoints-public-dns.yaml",
    "tls-endpoints-public-ip.yaml",
    "tls-everywhere-endpoints-dns.yaml",
    "tripleo-validations.yaml",
    "tuned-ceph-filestore-hci.yaml",
    "undercloud.yaml",
    "updates/update-from-192_0_2-subnet.yaml",
    "updates/update-from-ceph-newton.yaml",
    "updates/update-from-deployed-server-newton.yaml",
    "updates/update-from-keystone-admin-internal-api.yaml",
    "updates/update-from-overcloud-compute-hostnames.yaml",
    "updates/update-from-publicvip-on-ctlplane.yaml",
    "use-dns-for-vips.yaml",
    "veritas-hyperscale/cinder-veritas-hyperscale-config.yaml",
    "veritas-hyperscale/veritas-hyperscale-config.yaml",
  },
  roles = {
    { name = "Controller", count = 1, services = {
      "Aide", "AodhApi", "AodhEvaluator", "AodhListener", "AodhNotifier", "AuditD", "BarbicanApi",
      "BarbicanBackendSimpleCrypto", "BarbicanBackendDogtag", "BarbicanBackendKmip",
      "BarbicanBackendPkcs11Crypto", "CACerts", "CeilometerAgentCentral", "CeilometerAgentNotification",
      "CephExternal", "CephMds", "CephMgr", "CephMon", "CephRbdMirror", "CephRgw", "CertmongerUser",
      "CinderApi", "CinderBackendDellPs", "CinderBackendDellSc", "CinderBackendDellEMCUnity",
      "CinderBackendDellEMCVMAXISCSI", "CinderBackendDellEMCVNX", "CinderBackendDellEMCXTREMIOISCSI",
      "CinderBackendNetApp", "CinderBackendPure", "CinderBackendScaleIO", "CinderBackendVRTSHyperScale",
      "CinderBackendNVMeOF", "CinderBackup", "CinderHPELeftHandISCSI", "CinderScheduler", "CinderVolume",
      "Clustercheck", "Collectd", "Congress", "ContainerImagePrepare", "DesignateApi", "DesignateCentral",
      "DesignateProducer", "DesignateWorker", "DesignateMDNS", "DesignateSink", "Docker", "Ec2Api", "Etcd",
      "ExternalSwiftProxy", "Fluentd", "GlanceApi", "GlanceRegistry", "GnocchiApi", "GnocchiMetricd",
      "GnocchiStatsd", "HAproxy", "HeatApi", "HeatApiCloudwatch", "HeatApiCfn", "HeatEngine", "Horizon",
      "IpaClient", "Ipsec", "IronicApi", "IronicConductor", "IronicInspector", "IronicPxe",
      "IronicNeutronAgent", "Iscsid", "Keepalived", "Kernel", "Keystone", "LoginDefs", "ManilaApi",
      "ManilaBackendCephFs", "ManilaBackendIsilon", "ManilaBackendNetapp", "ManilaBackendUnity",
      "ManilaBackendVNX", "ManilaBackendVMAX", "ManilaScheduler", "ManilaShare", "Memcached", "MetricsQdr",
      "MistralApi", "MistralEngine", "MistralExecutor", "MistralEventEngine", "MongoDb", "MySQL",
      "MySQLClient", "NeutronApi", "NeutronBgpVpnApi", "NeutronSfcApi", "NeutronCorePlugin",
      "NeutronDhcpAgent", "NeutronL2gwAgent", "NeutronL2gwApi", "NeutronL3Agent", "NeutronLbaasv2Agent",
      "NeutronLbaasv2Api", "NeutronLinuxbridgeAgent", "NeutronMetadataAgent", "NeutronML2FujitsuCfab",
      "NeutronML2FujitsuFossw", "NeutronOvsAgent", "NeutronVppAgent", "NovaApi", "NovaConductor",
      "NovaConsoleauth", "NovaIronic", "NovaMetadata", "NovaPlacement", "NovaScheduler", "NovaVncProxy",
      "Ntp", "ContainersLogrotateCrond", "OctaviaApi", "OctaviaDeploymentConfig", "OctaviaHealthManager",
      "OctaviaHousekeeping", "OctaviaWorker", "OpenDaylightApi", "OpenDaylightOvs", "OpenStackClients",
      "OVNDBs", "OVNController", "Pacemaker", "PankoApi", "OsloMessagingRpc", "OsloMessagingNotify", "Redis",
      "Rhsm", "RsyslogSidecar", "SaharaApi", "SaharaEngine", "Securetty", "SensuClient", "SkydiveAgent",
      "SkydiveAnalyzer", "Snmp", "Sshd", "SwiftProxy", "SwiftDispersion", "SwiftRingBuilder", "SwiftStorage",
      "Tacker", "Timezone", "TripleoFirewall", "TripleoPackages", "Tuned", "Vpp", "Zaqar", "Ptp", "Xinetd",
    } },
    { name = "Compute", count = 1, services = {
      "Aide", "AuditD", "CACerts", "CephClient", "CephExternal", "CertmongerUser", "Collectd",
      "ComputeCeilometerAgent", "ComputeNeutronCorePlugin", "ComputeNeutronL3Agent",
      "ComputeNeutronMetadataAgent", "ComputeNeutronOvsAgent", "Docker", "Fluentd", "IpaClient", "Ipsec",
      "Iscsid", "Kernel", "LoginDefs", "MetricsQdr", "MySQLClient", "NeutronBgpVpnBagpipe",
      "NeutronLinuxbridgeAgent", "NeutronVppAgent", "NovaCompute", "NovaLibvirt", "NovaLibvirtGuests",
      "NovaMigrationTarget", "Ntp", "ContainersLogrotateCrond", "OpenDaylightOvs", "Rhsm", "RsyslogSidecar",
      "Securetty", "SensuClient", "SkydiveAgent", "Snmp", "Sshd", "Timezone", "TripleoFirewall",
      "TripleoPackages", "Tuned", "Vpp", "OVNController", "OVNMetadataAgent", "Ptp",
    } },
    { name = "BlockStorage", count = 0, services = {
      "Aide", "AuditD", "BlockStorageCinderVolume", "CACerts", "CertmongerUser",
      "CinderBackendVRTSHyperScale", "Collectd", "Docker", "Fluentd", "IpaClient", "Ipsec", "Iscsid",
      "Kernel", "LoginDefs", "MetricsQdr", "MySQLClient", "Ntp", "ContainersLogrotateCrond", "Rhsm",
      "RsyslogSidecar", "Securetty", "SensuClient", "Snmp", "Sshd", "Timezone", "TripleoFirewall",
      "TripleoPackages", "Tuned", "Ptp",
    } },
    { name = "ObjectStorage", count = 0, services = {
      "Aide", "AuditD", "CACerts", "CertmongerUser", "Collectd", "Docker", "Fluentd", "IpaClient", "Ipsec",
      "Kernel", "LoginDefs", "MetricsQdr", "MySQLClient", "Ntp", "ContainersLogrotateCrond", "Rhsm",
      "RsyslogSidecar", "Securetty", "SensuClient", "Snmp", "Sshd", "SwiftRingBuilder", "SwiftStorage",
      "Timezone", "TripleoFirewall", "TripleoPackages", "Tuned", "Ptp",
    } },
    { name = "CephStorage", count = 0, services = {
      "Aide", "AuditD", "CACerts", "CephOSD", "CertmongerUser", "Collectd", "Docker", "Fluentd", "IpaClient",
      "Ipsec", "Kernel", "LoginDefs", "MetricsQdr", "MySQLClient", "Ntp", "ContainersLogrotateCrond", "Rhsm",
      "RsyslogSidecar", "Securetty", "SensuClient", "Snmp", "Sshd", "Timezone", "TripleoFirewall",
      "TripleoPackages", "Tuned", "Ptp",
    } },
  },
  registry_off = {
    "Aide", "Apache", "AuditD", "BarbicanApi", "BarbicanBackendDogtag", "BarbicanBackendKmip",
    "BarbicanBackendPkcs11Crypto", "BarbicanBackendSimpleCrypto", "CACerts", "CephClient", "CephExternal",
    "CephMds", "CephMgr", "CephMon", "CephNfs", "CephOSD", "CephRbdMirror", "CephRgw", "CertmongerUser",
    "CinderBackendDellEMCUnity", "CinderBackendDellEMCVMAXISCSI", "CinderBackendDellEMCVNX",
    "CinderBackendDellEMCXTREMIOISCSI", "CinderBackendDellPs", "CinderBackendDellSc", "CinderBackendNVMeOF",
    "CinderBackendNetApp", "CinderBackendPure", "CinderBackendScaleIO", "CinderBackendVRTSHyperScale",
    "CinderBackup", "CinderHPELeftHandISCSI", "Clustercheck", "Collectd", "ComputeInstanceHA",
    "ComputeNeutronCorePluginNuage", "ComputeNeutronL3Agent", "ComputeNeutronMetadataAgent",
    "ComputeNeutronOvsDpdk", "Congress", "ContainerImagePrepare", "DesignateApi", "DesignateCentral",
    "DesignateMDNS", "DesignateProducer", "DesignateSink", "DesignateWorker", "Docker", "DockerRegistry",
    "Ec2Api", "Etcd", "ExternalSwiftProxy", "Fluentd", "GlanceRegistry", "HAProxyInternalTLS",
    "HAProxyPublicTLS", "HeatApiCloudwatch", "IpaClient", "Ipsec", "IronicApi", "IronicConductor",
    "IronicInspector", "IronicNeutronAgent", "IronicPxe", "Kernel", "LiquidioCompute",
    "Logging::NovaLibvirt", "LoginDefs", "ManilaApi", "ManilaBackendCephFs", "ManilaBackendIsilon",
    "ManilaBackendNetapp", "ManilaBackendUnity", "ManilaBackendVMAX", "ManilaBackendVNX", "ManilaScheduler",
    "ManilaShare", "MasqueradeNetworks", "MetricsQdr", "MistralApi", "MistralEngine", "MistralEventEngine",
    "MistralExecutor", "MongoDb", "MySQLClient", "NeutronBgpVpnApi", "NeutronBgpVpnBagpipe",
    "NeutronCorePluginML2Nuage", "NeutronCorePluginML2OVN", "NeutronCorePluginMidonet",
    "NeutronCorePluginNuage", "NeutronCorePluginPlumgrid", "NeutronL2gwAgent", "NeutronL2gwApi",
    "NeutronLbaasv2Agent", "NeutronLbaasv2Api", "NeutronLinuxbridgeAgent", "NeutronML2FujitsuCfab",
    "NeutronML2FujitsuFossw", "NeutronSfcApi", "NeutronSriovAgent", "NeutronSriovHostConfig",
    "NeutronVppAgent", "NovaIronic", "NovaLibvirtGuests", "Novajoin", "Ntp", "OVNController", "OVNDBs",
    "OVNMetadataAgent", "OctaviaApi", "OctaviaDeploymentConfig", "OctaviaHealthManager",
    "OctaviaHousekeeping", "OctaviaWorker", "OpenDaylightApi", "OpenDaylightOvs", "OpenShift::GlusterFS",
    "OpenShift::Infra", "OpenShift::Master", "OpenShift::Worker", "OpenStackClients", "Pacemaker",
    "PacemakerRemote", "Ptp", "Qdr", "RabbitMQ", "Rhsm", "RsyslogSidecar", "SELinux", "SaharaApi",
    "SaharaEngine", "Securetty", "SensuClient", "SkydiveAgent", "SkydiveAnalyzer", "Snmp", "SwiftDispersion",
    "TLSProxyBase", "Tacker", "Tempest", "Timezone", "Tmpwatch", "TripleoFirewall", "TripleoPackages",
    "TripleoUI", "TripleoValidations", "Tuned", "UndercloudUpgrade", "VRTSHyperScale", "Vpp", "Zaqar",
  },
  env_services = {
    ["auditd.yaml"] = {
      off = {
        "AuditD",
      },
    },
    ["barbican-backend-dogtag.yaml"] = {
      off = {
        "BarbicanBackendDogtag",
      },
    },
    ["barbican-backend-kmip.yaml"] = {
      off = {
        "BarbicanBackendKmip",
      },
    },
    ["barbican-backend-pkcs11.yaml"] = {
      off = {
        "BarbicanBackendPkcs11Crypto",
      },
    },
    ["barbican-backend-simple-crypto.yaml"] = {
      off = {
        "BarbicanBackendSimpleCrypto",
      },
    },
    ["baremetal-services.yaml"] = {
      off = {
        "AodhApi", "AodhEvaluator", "AodhListener", "AodhNotifier", "BlockStorageCinderVolume",
        "CeilometerAgentCentral", "CeilometerAgentIpmi", "CeilometerAgentNotification", "CinderApi",
        "CinderScheduler", "CinderVolume", "ComputeCeilometerAgent", "ComputeNeutronOvsAgent",
        "ContainersLogrotateCrond", "Docker", "GlanceApi", "GnocchiApi", "GnocchiMetricd", "GnocchiStatsd",
        "HAproxy", "HeatApi", "HeatApiCfn", "HeatEngine", "Horizon", "Iscsid", "Keystone", "Memcached",
        "Multipathd", "MySQL", "NeutronApi", "NeutronCorePlugin", "NeutronDhcpAgent", "NeutronL3Agent",
        "NeutronMetadataAgent", "NeutronOvsAgent", "NeutronServer", "NeutronSriovHostConfig", "NovaApi",
        "NovaCompute", "NovaConductor", "NovaConsoleauth", "NovaLibvirt", "NovaMetadata",
        "NovaMigrationTarget", "NovaPlacement", "NovaScheduler", "NovaVncProxy", "PankoApi", "Qdr",
        "RabbitMQ", "Redis", "Sshd", "SwiftDispersion", "SwiftProxy", "SwiftRingBuilder", "SwiftStorage",
      },
    },
    ["cavium-liquidio.yaml"] = {
      on = {
        "NeutronMetadataAgent",
      },
      off = {
        "LiquidioCompute",
      },
    },
    ["ceph-ansible/ceph-ansible-external.yaml"] = {
      on = {
        "CephExternal",
      },
    },
    ["ceph-ansible/ceph-ansible-per-role.yaml"] = {
      on = {
        "CephClient", "CephMgr", "CephMon", "CephOSD",
      },
    },
    ["ceph-ansible/ceph-ansible.yaml"] = {
      on = {
        "CephClient", "CephMgr", "CephMon", "CephOSD",
      },
    },
    ["ceph-ansible/ceph-mds.yaml"] = {
      on = {
        "CephMds",
      },
    },
    ["ceph-ansible/ceph-rbdmirror.yaml"] = {
      on = {
        "CephRbdMirror",
      },
    },
    ["ceph-ansible/ceph-rgw.yaml"] = {
      on = {
        "CephRgw",
      },
      off = {
        "SwiftProxy", "SwiftRingBuilder", "SwiftStorage",
      },
    },
    ["cinder-backup.yaml"] = {
      on = {
        "CinderBackup",
      },
    },
    ["cinder-dellemc-unity-config.yaml"] = {
      off = {
        "CinderBackendDellEMCUnity",
      },
    },
    ["cinder-dellemc-vmax-iscsi-config.yaml"] = {
      off = {
        "CinderBackendDellEMCVMAXISCSI",
      },
    },
    ["cinder-dellemc-vnx-config.yaml"] = {
      off = {
        "CinderBackendDellEMCVNX",
      },
    },
    ["cinder-dellemc-xtremio-iscsi-config.yaml"] = {
      off = {
        "CinderBackendDellEMCXTREMIOIscsi",
      },
    },
    ["cinder-dellps-config.yaml"] = {
      off = {
        "CinderBackendDellPs",
      },
    },
    ["cinder-dellsc-config.yaml"] = {
      off = {
        "CinderBackendDellSc",
      },
    },
    ["cinder-hpelefthand-config.yaml"] = {
      off = {
        "CinderHPELeftHandISCSI",
      },
    },
    ["cinder-netapp-config.yaml"] = {
      off = {
        "CinderBackendNetApp",
      },
    },
    ["cinder-nvmeof-config.yaml"] = {
      off = {
        "CinderBackendNVMeOF",
      },
    },
    ["cinder-pure-config.yaml"] = {
      off = {
        "CinderBackendPure",
      },
    },
    ["cinder-scaleio-config.yaml"] = {
      off = {
        "CinderBackendScaleIO",
      },
    },
    ["compute-instanceha.yaml"] = {
      off = {
        "ComputeInstanceHA",
      },
    },
    ["computealt.yaml"] = {
      off = {
        "CollectdAlt", "ComputeCeilometerAgentAlt", "ComputeNeutronOvsAgentAlt", "FluentdAlt", "IscsidAlt",
        "NovaComputeAlt", "NovaLibvirtAlt", "NovaMigrationTargetAlt", "OVNControllerAlt", "SensuClientAlt",
      },
    },
    ["disable-config-download-environment.yaml"] = {
      off = {
        "BootParams",
      },
    },
    ["disable-panko.yaml"] = {
      off = {
        "PankoApi",
      },
    },
    ["disable-telemetry.yaml"] = {
      off = {
        "AodhApi", "AodhEvaluator", "AodhListener", "AodhNotifier", "CeilometerAgentCentral",
        "CeilometerAgentIpmi", "CeilometerAgentNotification", "ComputeCeilometerAgent", "GnocchiApi",
        "GnocchiMetricd", "GnocchiStatsd", "PankoApi",
      },
    },
    ["docker-ha.yaml"] = {
      on = {
        "CinderVolume", "Clustercheck", "HAproxy", "MySQL", "OsloMessagingNotify", "OsloMessagingRpc",
        "Redis",
      },
      off = {
        "Keepalived", "Pacemaker", "PacemakerRemote",
      },
    },
    ["docker-uc-light.yaml"] = {
      on = {
        "ContainersLogrotateCrond", "HeatApi", "HeatApiCfn", "HeatEngine", "Keystone", "Memcached",
        "MistralApi", "MistralEngine", "MistralExecutor", "MySQL", "NeutronApi", "NeutronCorePlugin",
        "NeutronDhcpAgent", "NeutronServer", "OsloMessagingNotify", "OsloMessagingRpc", "SwiftProxy",
        "SwiftRingBuilder", "SwiftStorage", "Zaqar",
      },
      off = {
        "Docker",
      },
    },
    ["docker.yaml"] = {
      on = {
        "AodhApi", "AodhEvaluator", "AodhListener", "AodhNotifier", "CeilometerAgentCentral",
        "CeilometerAgentIpmi", "CeilometerAgentNotification", "CinderApi", "CinderScheduler", "CinderVolume",
        "ComputeCeilometerAgent", "ComputeNeutronOvsAgent", "ContainersLogrotateCrond", "GlanceApi",
        "GnocchiApi", "GnocchiMetricd", "GnocchiStatsd", "HAproxy", "HeatApi", "HeatApiCfn", "HeatEngine",
        "Horizon", "Iscsid", "Keepalived", "Keystone", "Memcached", "Multipathd", "MySQL", "NeutronApi",
        "NeutronCorePlugin", "NeutronDhcpAgent", "NeutronL3Agent", "NeutronMetadataAgent", "NeutronOvsAgent",
        "NeutronServer", "NovaApi", "NovaCompute", "NovaConductor", "NovaConsoleauth", "NovaLibvirt",
        "NovaMetadata", "NovaMigrationTarget", "NovaPlacement", "NovaScheduler", "NovaVncProxy",
        "OsloMessagingNotify", "OsloMessagingRpc", "PankoApi", "Qdr", "RabbitMQ", "Redis", "Sshd",
        "SwiftProxy", "SwiftRingBuilder", "SwiftStorage", "Tempest",
      },
      off = {
        "Docker", "NeutronSriovHostConfig", "SwiftDispersion",
      },
    },
    ["enable-designate.yaml"] = {
      on = {
        "DesignateApi", "DesignateCentral", "DesignateMDNS", "DesignateProducer", "DesignateWorker",
      },
    },
    ["enable-internal-tls.yaml"] = {
      off = {
        "CertmongerUser", "HAProxyInternalTLS", "TLSProxyBase",
      },
    },
    ["enable_congress.yaml"] = {
      on = {
        "Congress",
      },
    },
    ["enable_tacker.yaml"] = {
      on = {
        "Tacker",
      },
    },
    ["enable_tempest.yaml"] = {
      on = {
        "Tempest",
      },
    },
    ["ipsec.yaml"] = {
      on = {
        "Ipsec",
      },
    },
    ["kubernetes.yaml"] = {
      on = {
        "Kubernetes::Master", "Kubernetes::Worker",
      },
      off = {
        "Docker",
      },
    },
    ["lifecycle/ffwd-upgrade-prepare.yaml"] = {
      off = {
        "Core", "FluentdClient", "VipHosts",
      },
    },
    ["lifecycle/undercloud-upgrade-prepare.yaml"] = {
      on = {
        "UndercloudUpgrade",
      },
    },
    ["logging-environment.yaml"] = {
      on = {
        "Fluentd",
      },
    },
    ["login-defs.yaml"] = {
      off = {
        "LoginDefs",
      },
    },
    ["manila-cephfsganesha-config.yaml"] = {
      on = {
        "CephNfs", "ManilaApi", "ManilaScheduler", "ManilaShare",
      },
      off = {
        "ManilaBackendCephFs",
      },
    },
    ["manila-cephfsnative-config.yaml"] = {
      on = {
        "ManilaApi", "ManilaScheduler", "ManilaShare",
      },
      off = {
        "ManilaBackendCephFs",
      },
    },
    ["manila-isilon-config.yaml"] = {
      on = {
        "ManilaApi", "ManilaScheduler", "ManilaShare",
      },
      off = {
        "ManilaBackendIsilon",
      },
    },
    ["manila-netapp-config.yaml"] = {
      on = {
        "ManilaApi", "ManilaScheduler", "ManilaShare",
      },
      off = {
        "ManilaBackendNetapp",
      },
    },
    ["manila-unity-config.yaml"] = {
      on = {
        "ManilaApi", "ManilaScheduler", "ManilaShare",
      },
      off = {
        "ManilaBackendUnity",
      },
    },
    ["manila-vmax-config.yaml"] = {
      on = {
        "ManilaApi", "ManilaScheduler", "ManilaShare",
      },
      off = {
        "ManilaBackendVMAX",
      },
    },
    ["manila-vnx-config.yaml"] = {
      on = {
        "ManilaApi", "ManilaScheduler", "ManilaShare",
      },
      off = {
        "ManilaBackendVNX",
      },
    },
    ["messaging/rpc-qdrouterd-notify-rabbitmq-hybrid.yaml"] = {
      on = {
        "OsloMessagingNotify", "OsloMessagingRpc",
      },
    },
    ["messaging/rpc-rabbitmq-notify-rabbitmq-shared.yaml"] = {
      on = {
        "OsloMessagingNotify", "OsloMessagingRpc",
      },
    },
    ["metrics/collectd-standalone.yaml"] = {
      on = {
        "Collectd",
      },
    },
    ["metrics/collectd-write-qdr.yaml"] = {
      on = {
        "Collectd", "MetricsQdr",
      },
    },
    ["monitoring-environment.yaml"] = {
      on = {
        "SensuClient",
      },
    },
    ["networking/neutron-midonet.yaml"] = {
      on = {
        "NeutronCorePlugin",
      },
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronL3Agent", "NeutronOvsAgent",
      },
    },
    ["neutron-bgpvpn-bagpipe.yaml"] = {
      on = {
        "NeutronBgpVpnApi",
      },
      off = {
        "NeutronBgpVpnBagpipe",
      },
    },
    ["neutron-bgpvpn.yaml"] = {
      on = {
        "NeutronBgpVpnApi",
      },
    },
    ["neutron-l2gw.yaml"] = {
      on = {
        "NeutronL2gwApi",
      },
      off = {
        "NeutronL2gwAgent",
      },
    },
    ["neutron-linuxbridge.yaml"] = {
      off = {
        "ComputeNeutronOvsAgent", "NeutronLinuxbridgeAgent", "NeutronOvsAgent",
      },
    },
    ["neutron-midonet.yaml"] = {
      on = {
        "NeutronCorePlugin",
      },
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronL3Agent", "NeutronOvsAgent",
      },
    },
    ["neutron-ml2-ansible.yaml"] = {
      off = {
        "NeutronCorePlugin",
      },
    },
    ["neutron-ml2-bigswitch.yaml"] = {
      off = {
        "ComputeNeutronOvsAgent", "NeutronL3Agent",
      },
    },
    ["neutron-ml2-cisco-nexus-ucsm.yaml"] = {
      off = {
        "ComputeNeutronCorePlugin",
      },
    },
    ["neutron-ml2-cisco-vts.yaml"] = {
      on = {
        "ComputeNeutronCorePlugin", "NeutronCorePlugin",
      },
    },
    ["neutron-ml2-fujitsu-cfab.yaml"] = {
      off = {
        "NeutronML2FujitsuCfab",
      },
    },
    ["neutron-ml2-fujitsu-fossw.yaml"] = {
      off = {
        "NeutronML2FujitsuFossw",
      },
    },
    ["neutron-ml2-mlnx-sdn.yaml"] = {
      on = {
        "NeutronCorePlugin",
      },
    },
    ["neutron-ml2-ovn-dvr-ha.yaml"] = {
      on = {
        "NeutronCorePlugin", "OVNController", "OVNDBs",
      },
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronL3Agent", "ComputeNeutronMetadataAgent",
        "ComputeNeutronOvsAgent", "NeutronDhcpAgent", "NeutronL3Agent", "NeutronMetadataAgent",
        "NeutronOvsAgent",
      },
    },
    ["neutron-ml2-ovn-ha.yaml"] = {
      on = {
        "NeutronCorePlugin", "OVNController", "OVNDBs", "OVNMetadataAgent",
      },
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronDhcpAgent", "NeutronL3Agent",
        "NeutronMetadataAgent", "NeutronOvsAgent",
      },
    },
    ["neutron-ml2-ovn-hw-offload.yaml"] = {
      on = {
        "NeutronCorePlugin", "OVNController", "OVNDBs",
      },
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronDhcpAgent", "NeutronL3Agent",
        "NeutronMetadataAgent", "NeutronOvsAgent", "NeutronSriovHostConfig",
      },
    },
    ["neutron-ml2-vpp.yaml"] = {
      on = {
        "Etcd",
      },
      off = {
        "ComputeNeutronOvsAgent", "NeutronOvsAgent", "NeutronVppAgent", "Vpp",
      },
    },
    ["neutron-nsx.yaml"] = {
      on = {
        "NeutronCorePlugin",
      },
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronDhcpAgent", "NeutronL3Agent",
        "NeutronMetadataAgent", "NeutronOvsAgent",
      },
    },
    ["neutron-nuage-config.yaml"] = {
      off = {
        "ComputeNeutronOvsAgent", "NeutronDhcpAgent", "NeutronL3Agent", "NeutronMetadataAgent",
        "NeutronOvsAgent",
      },
    },
    ["neutron-ovs-dpdk.yaml"] = {
      on = {
        "ComputeNeutronOvsDpdk",
      },
    },
    ["neutron-ovs-dvr.yaml"] = {
      on = {
        "ComputeNeutronL3Agent", "ComputeNeutronMetadataAgent",
      },
    },
    ["neutron-plumgrid.yaml"] = {
      on = {
        "NeutronCorePlugin",
      },
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronDhcpAgent", "NeutronL3Agent",
        "NeutronMetadataAgent", "NeutronOvsAgent",
      },
    },
    ["neutron-sfc.yaml"] = {
      off = {
        "NeutronSfcApi",
      },
    },
    ["neutron-sriov.yaml"] = {
      on = {
        "NeutronSriovAgent",
      },
      off = {
        "NeutronSriovHostConfig",
      },
    },
    ["nonha-arch.yaml"] = {
      on = {
        "CinderVolume", "HAproxy", "MySQL", "RabbitMQ", "Redis",
      },
      off = {
        "Keepalived", "Pacemaker", "PacemakerRemote",
      },
    },
    ["nova-nuage-config.yaml"] = {
      on = {
        "ComputeNeutronCorePlugin",
      },
    },
    ["nsx-config.yaml"] = {
      on = {
        "NeutronCorePluginNSX",
      },
    },
    ["openshift-cns.yaml"] = {
      on = {
        "OpenShift::GlusterFS",
      },
    },
    ["openshift.yaml"] = {
      on = {
        "HAproxy", "Keepalived", "OpenShift::Infra", "OpenShift::Master", "OpenShift::Worker",
      },
      off = {
        "Docker",
      },
    },
    ["public-tls-undercloud.yaml"] = {
      off = {
        "HAProxyPublicTLS",
      },
    },
    ["puppet-pacemaker.yaml"] = {
      off = {
        "CinderVolume", "HAproxy", "Keepalived", "MySQL", "Pacemaker", "PacemakerRemote", "RabbitMQ",
        "Redis",
      },
    },
    ["rhsm.yaml"] = {
      on = {
        "Rhsm",
      },
    },
    ["securetty.yaml"] = {
      off = {
        "Securetty",
      },
    },
    ["services-baremetal/barbican.yaml"] = {
      off = {
        "BarbicanApi",
      },
    },
    ["services-baremetal/cinder-backup.yaml"] = {
      off = {
        "CinderBackup",
      },
    },
    ["services-baremetal/collectd.yaml"] = {
      off = {
        "Collectd",
      },
    },
    ["services-baremetal/congress.yaml"] = {
      off = {
        "Congress",
      },
    },
    ["services-baremetal/ec2-api.yaml"] = {
      off = {
        "Ec2Api",
      },
    },
    ["services-baremetal/etcd.yaml"] = {
      off = {
        "Etcd",
      },
    },
    ["services-baremetal/fluentd.yaml"] = {
      off = {
        "Fluentd",
      },
    },
    ["services-baremetal/ironic-inspector.yaml"] = {
      off = {
        "IronicInspector",
      },
    },
    ["services-baremetal/ironic.yaml"] = {
      off = {
        "IronicApi", "IronicConductor", "IronicNeutronAgent", "NovaIronic",
      },
    },
    ["services-baremetal/manila.yaml"] = {
      off = {
        "ManilaApi", "ManilaScheduler", "ManilaShare",
      },
    },
    ["services-baremetal/mistral.yaml"] = {
      off = {
        "MistralApi", "MistralEngine", "MistralEventEngine", "MistralExecutor",
      },
    },
    ["services-baremetal/neutron-bgpvpn-opendaylight.yaml"] = {
      off = {
        "NeutronBgpVpnApi",
      },
    },
    ["services-baremetal/neutron-l2gw-opendaylight.yaml"] = {
      off = {
        "NeutronL2gwApi",
      },
    },
    ["services-baremetal/neutron-lbaasv2.yaml"] = {
      off = {
        "NeutronLbaasv2Agent", "NeutronLbaasv2Api",
      },
    },
    ["services-baremetal/neutron-ml2-cisco-vts.yaml"] = {
      on = {
        "ComputeNeutronCorePlugin", "NeutronCorePlugin",
      },
      off = {
        "NeutronCorePluginVTS",
      },
    },
    ["services-baremetal/neutron-opendaylight-hw-offload.yaml"] = {
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronCorePlugin", "NeutronL3Agent",
        "NeutronOvsAgent", "NeutronSriovHostConfig", "OVNController", "OVNDBs", "OpenDaylightApi",
        "OpenDaylightOvs",
      },
    },
    ["services-baremetal/neutron-opendaylight-sriov.yaml"] = {
      off = {
        "ComputeNeutronCorePlugin", "NeutronSriovAgent",
      },
    },
    ["services-baremetal/neutron-opendaylight.yaml"] = {
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronL3Agent", "NeutronOvsAgent",
        "OVNController", "OVNDBs", "OpenDaylightApi", "OpenDaylightOvs",
      },
    },
    ["services-baremetal/neutron-ovn-dvr-ha.yaml"] = {
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronL3Agent", "ComputeNeutronMetadataAgent",
        "ComputeNeutronOvsAgent", "NeutronDhcpAgent", "NeutronL3Agent", "NeutronMetadataAgent",
        "NeutronOvsAgent", "OVNController", "OVNDBs",
      },
    },
    ["services-baremetal/neutron-ovn-ha.yaml"] = {
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronDhcpAgent", "NeutronL3Agent",
        "NeutronMetadataAgent", "NeutronOvsAgent", "OVNController", "OVNDBs", "OVNMetadataAgent",
      },
    },
    ["services-baremetal/neutron-ovn-hw-offload.yaml"] = {
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronDhcpAgent", "NeutronL3Agent",
        "NeutronMetadataAgent", "NeutronOvsAgent", "NeutronSriovHostConfig", "OVNController", "OVNDBs",
        "OVNMetadataAgent",
      },
    },
    ["services-baremetal/neutron-ovs-dpdk.yaml"] = {
      off = {
        "ComputeNeutronOvsDpdk",
      },
    },
    ["services-baremetal/neutron-ovs-hw-offload.yaml"] = {
      off = {
        "NeutronSriovHostConfig",
      },
    },
    ["services-baremetal/neutron-sriov.yaml"] = {
      off = {
        "NeutronSriovAgent", "NeutronSriovHostConfig",
      },
    },
    ["services-baremetal/octavia.yaml"] = {
      off = {
        "OctaviaApi", "OctaviaDeploymentConfig", "OctaviaHealthManager", "OctaviaHousekeeping",
        "OctaviaWorker",
      },
    },
    ["services-baremetal/sahara.yaml"] = {
      off = {
        "SaharaApi", "SaharaEngine",
      },
    },
    ["services-baremetal/sensu-client.yaml"] = {
      off = {
        "SensuClient",
      },
    },
    ["services-baremetal/tacker.yaml"] = {
      off = {
        "Tacker",
      },
    },
    ["services-baremetal/undercloud-aodh.yaml"] = {
      off = {
        "UndercloudAodhApi", "UndercloudAodhEvaluator", "UndercloudAodhListener", "UndercloudAodhNotifier",
      },
    },
    ["services-baremetal/undercloud-ceilometer.yaml"] = {
      off = {
        "UndercloudCeilometerAgentCentral", "UndercloudCeilometerAgentIpmi",
        "UndercloudCeilometerAgentNotification",
      },
    },
    ["services-baremetal/undercloud-cinder.yaml"] = {
      off = {
        "UndercloudCinderApi", "UndercloudCinderScheduler", "UndercloudCinderVolume",
      },
    },
    ["services-baremetal/undercloud-gnocchi.yaml"] = {
      off = {
        "UndercloudGnocchiApi", "UndercloudGnocchiMetricd", "UndercloudGnocchiStatsd", "UndercloudRedis",
      },
    },
    ["services-baremetal/undercloud-haproxy.yaml"] = {
      off = {
        "UndercloudHAProxy",
      },
    },
    ["services-baremetal/undercloud-keepalived.yaml"] = {
      off = {
        "UndercloudKeepalived",
      },
    },
    ["services-baremetal/undercloud-panko.yaml"] = {
      off = {
        "UndercloudPankoApi",
      },
    },
    ["services-baremetal/zaqar.yaml"] = {
      off = {
        "MongoDb", "Zaqar",
      },
    },
    ["services/barbican.yaml"] = {
      on = {
        "BarbicanApi",
      },
    },
    ["services/cinder-backup.yaml"] = {
      on = {
        "CinderBackup",
      },
    },
    ["services/collectd.yaml"] = {
      on = {
        "Collectd",
      },
    },
    ["services/congress.yaml"] = {
      on = {
        "Congress",
      },
    },
    ["services/ec2-api.yaml"] = {
      on = {
        "Ec2Api",
      },
    },
    ["services/etcd.yaml"] = {
      on = {
        "Etcd",
      },
    },
    ["services/fluentd.yaml"] = {
      on = {
        "Fluentd",
      },
    },
    ["services/haproxy-internal-tls-certmonger.yaml"] = {
      off = {
        "HAProxyInternalTLS",
      },
    },
    ["services/haproxy-public-tls-certmonger.yaml"] = {
      off = {
        "HAProxyPublicTLS",
      },
    },
    ["services/ironic-inspector.yaml"] = {
      on = {
        "IronicInspector",
      },
    },
    ["services/ironic.yaml"] = {
      on = {
        "IronicApi", "IronicConductor", "IronicNeutronAgent", "IronicPxe", "NovaIronic",
      },
    },
    ["services/manila.yaml"] = {
      on = {
        "ManilaApi", "ManilaScheduler", "ManilaShare",
      },
    },
    ["services/masquerade-networks.yaml"] = {
      off = {
        "MasqueradeNetworks",
      },
    },
    ["services/mistral.yaml"] = {
      on = {
        "MistralApi", "MistralEngine", "MistralEventEngine", "MistralExecutor",
      },
    },
    ["services/neutron-bgpvpn-opendaylight.yaml"] = {
      on = {
        "NeutronBgpVpnApi",
      },
    },
    ["services/neutron-l2gw-opendaylight.yaml"] = {
      on = {
        "NeutronL2gwApi",
      },
    },
    ["services/neutron-lbaasv2.yaml"] = {
      on = {
        "NeutronLbaasv2Api",
      },
    },
    ["services/neutron-ml2-ansible.yaml"] = {
      on = {
        "NeutronCorePlugin",
      },
    },
    ["services/neutron-ml2-cisco-vts.yaml"] = {
      on = {
        "ComputeNeutronCorePlugin", "NeutronCorePlugin", "NeutronCorePluginVTS",
      },
    },
    ["services/neutron-nsx-lbaasv2.yaml"] = {
      on = {
        "NeutronLbaasv2Api",
      },
    },
    ["services/neutron-opendaylight-hw-offload.yaml"] = {
      on = {
        "OpenDaylightApi",
      },
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronCorePlugin", "NeutronL3Agent",
        "NeutronOvsAgent", "NeutronSriovHostConfig", "OVNController", "OVNDBs", "OpenDaylightOvs",
      },
    },
    ["services/neutron-opendaylight-sriov.yaml"] = {
      on = {
        "ComputeNeutronCorePlugin", "NeutronSriovAgent",
      },
      off = {
        "NeutronSriovHostConfig",
      },
    },
    ["services/neutron-opendaylight.yaml"] = {
      on = {
        "OpenDaylightApi",
      },
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronL3Agent", "NeutronOvsAgent",
        "OVNController", "OVNDBs", "OpenDaylightOvs",
      },
    },
    ["services/neutron-ovn-dvr-ha.yaml"] = {
      on = {
        "OVNController", "OVNDBs", "OVNMetadataAgent",
      },
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronL3Agent", "ComputeNeutronMetadataAgent",
        "ComputeNeutronOvsAgent", "NeutronDhcpAgent", "NeutronL3Agent", "NeutronMetadataAgent",
        "NeutronOvsAgent",
      },
    },
    ["services/neutron-ovn-ha.yaml"] = {
      on = {
        "OVNController", "OVNDBs", "OVNMetadataAgent",
      },
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronDhcpAgent", "NeutronL3Agent",
        "NeutronMetadataAgent", "NeutronOvsAgent",
      },
    },
    ["services/neutron-ovn-hw-offload.yaml"] = {
      on = {
        "OVNController", "OVNDBs", "OVNMetadataAgent",
      },
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronDhcpAgent", "NeutronL3Agent",
        "NeutronMetadataAgent", "NeutronOvsAgent", "NeutronSriovHostConfig",
      },
    },
    ["services/neutron-ovn-sriov.yaml"] = {
      on = {
        "NeutronDhcpAgent", "NeutronSriovAgent",
      },
      off = {
        "NeutronSriovHostConfig",
      },
    },
    ["services/neutron-ovs-dpdk.yaml"] = {
      on = {
        "ComputeNeutronOvsDpdk",
      },
    },
    ["services/neutron-ovs-dvr.yaml"] = {
      on = {
        "ComputeNeutronL3Agent", "ComputeNeutronMetadataAgent",
      },
    },
    ["services/neutron-ovs-hw-offload.yaml"] = {
      off = {
        "NeutronSriovHostConfig",
      },
    },
    ["services/neutron-sfc-opendaylight.yaml"] = {
      on = {
        "NeutronSfcApi",
      },
    },
    ["services/neutron-sriov.yaml"] = {
      on = {
        "NeutronSriovAgent",
      },
      off = {
        "NeutronSriovHostConfig",
      },
    },
    ["services/novajoin.yaml"] = {
      on = {
        "Novajoin",
      },
    },
    ["services/octavia.yaml"] = {
      on = {
        "OctaviaApi", "OctaviaDeploymentConfig", "OctaviaHealthManager", "OctaviaHousekeeping",
        "OctaviaWorker",
      },
    },
    ["services/ptp.yaml"] = {
      off = {
        "Ntp", "Ptp",
      },
    },
    ["services/qdr.yaml"] = {
      on = {
        "Qdr",
      },
    },
    ["services/sahara.yaml"] = {
      on = {
        "SaharaApi", "SaharaEngine",
      },
    },
    ["services/sensu-client.yaml"] = {
      on = {
        "SensuClient",
      },
    },
    ["services/skydive-environment.yaml"] = {
      on = {
        "SkydiveAgent", "SkydiveAnalyzer",
      },
    },
    ["services/tacker.yaml"] = {
      on = {
        "Tacker",
      },
    },
    ["services/tempest.yaml"] = {
      on = {
        "Tempest",
      },
    },
    ["services/tripleo-ui.yaml"] = {
      on = {
        "TripleoUI",
      },
    },
    ["services/undercloud-aodh.yaml"] = {
      on = {
        "AodhApi", "AodhEvaluator", "AodhListener", "AodhNotifier",
      },
    },
    ["services/undercloud-ceilometer.yaml"] = {
      on = {
        "CeilometerAgentCentral", "CeilometerAgentIpmi", "CeilometerAgentNotification",
      },
    },
    ["services/undercloud-cinder.yaml"] = {
      on = {
        "CinderApi", "CinderScheduler", "CinderVolume",
      },
    },
    ["services/undercloud-gnocchi.yaml"] = {
      on = {
        "GnocchiApi", "GnocchiMetricd", "GnocchiStatsd", "Redis",
      },
    },
    ["services/undercloud-haproxy.yaml"] = {
      on = {
        "HAproxy",
      },
    },
    ["services/undercloud-keepalived.yaml"] = {
      on = {
        "Keepalived",
      },
    },
    ["services/undercloud-panko.yaml"] = {
      on = {
        "PankoApi",
      },
    },
    ["services/vpp.yaml"] = {
      off = {
        "Vpp",
      },
    },
    ["services/zaqar-swift-backend.yaml"] = {
      on = {
        "Zaqar",
      },
      off = {
        "Redis",
      },
    },
    ["services/zaqar.yaml"] = {
      on = {
        "Redis", "Zaqar",
      },
    },
    ["ssl/enable-internal-tls.yaml"] = {
      on = {
        "IpaClient",
      },
      off = {
        "CertmongerUser", "HAProxyInternalTLS", "TLSProxyBase",
      },
    },
    ["standalone.yaml"] = {
      on = {
        "Tmpwatch",
      },
      off = {
        "AodhApi", "AodhEvaluator", "AodhListener", "AodhNotifier", "BarbicanApi", "BarbicanBackendDogtag",
        "BarbicanBackendKmip", "BarbicanBackendPkcs11Crypto", "BarbicanBackendSimpleCrypto",
        "CeilometerAgentCentral", "CeilometerAgentNotification", "ComputeCeilometerAgent", "Congress",
        "DesignateApi", "DesignateCentral", "DesignateMDNS", "DesignateProducer", "DesignateSink",
        "DesignateWorker", "GnocchiApi", "GnocchiMetricd", "GnocchiStatsd", "HAproxy", "HeatApi",
        "HeatApiCfn", "HeatApiCloudwatch", "HeatEngine", "IronicApi", "IronicConductor", "IronicInspector",
        "IronicNeutronAgent", "IronicPxe", "Keepalived", "Kubernetes::Master", "Kubernetes::Worker",
        "ManilaApi", "ManilaBackendCephFs", "ManilaBackendIsilon", "ManilaBackendNetapp",
        "ManilaBackendUnity", "ManilaBackendVMAX", "ManilaBackendVNX", "ManilaScheduler", "ManilaShare",
        "MistralApi", "MistralEngine", "MistralEventEngine", "MistralExecutor", "OpenStackClients",
        "PankoApi", "SELinux", "SaharaApi", "SaharaEngine", "Tacker", "Zaqar",
      },
    },
    ["standalone/standalone-overcloud.yaml"] = {
      off = {
        "AodhApi", "AodhEvaluator", "AodhListener", "AodhNotifier", "BarbicanApi", "BarbicanBackendDogtag",
        "BarbicanBackendKmip", "BarbicanBackendPkcs11Crypto", "BarbicanBackendSimpleCrypto",
        "CeilometerAgentCentral", "CeilometerAgentNotification", "ComputeCeilometerAgent", "Congress",
        "DesignateApi", "DesignateCentral", "DesignateMDNS", "DesignateProducer", "DesignateSink",
        "DesignateWorker", "GnocchiApi", "GnocchiMetricd", "GnocchiStatsd", "HeatApi", "HeatApiCfn",
        "HeatApiCloudwatch", "HeatEngine", "IronicApi", "IronicConductor", "IronicInspector",
        "IronicNeutronAgent", "IronicPxe", "Kubernetes::Master", "Kubernetes::Worker", "ManilaApi",
        "ManilaBackendCephFs", "ManilaBackendIsilon", "ManilaBackendNetapp", "ManilaBackendUnity",
        "ManilaBackendVMAX", "ManilaBackendVNX", "ManilaScheduler", "ManilaShare", "MistralApi",
        "MistralEngine", "MistralEventEngine", "MistralExecutor", "OpenStackClients", "PankoApi", "SELinux",
        "SaharaApi", "SaharaEngine", "Tacker", "Zaqar",
      },
    },
    ["standalone/standalone-tripleo.yaml"] = {
      on = {
        "Tmpwatch",
      },
      off = {
        "AodhApi", "AodhEvaluator", "AodhListener", "AodhNotifier", "BarbicanApi", "BarbicanBackendDogtag",
        "BarbicanBackendKmip", "BarbicanBackendPkcs11Crypto", "BarbicanBackendSimpleCrypto",
        "CeilometerAgentCentral", "CeilometerAgentNotification", "ComputeCeilometerAgent", "Congress",
        "ContainerImagePrepare", "DesignateApi", "DesignateCentral", "DesignateMDNS", "DesignateProducer",
        "DesignateSink", "DesignateWorker", "DockerRegistry", "GnocchiApi", "GnocchiMetricd",
        "GnocchiStatsd", "HAproxy", "HeatApi", "HeatApiCfn", "HeatApiCloudwatch", "HeatEngine", "IronicApi",
        "IronicConductor", "IronicInspector", "IronicNeutronAgent", "IronicPxe", "Keepalived",
        "Kubernetes::Master", "Kubernetes::Worker", "ManilaApi", "ManilaBackendCephFs",
        "ManilaBackendIsilon", "ManilaBackendNetapp", "ManilaBackendUnity", "ManilaBackendVMAX",
        "ManilaBackendVNX", "ManilaScheduler", "ManilaShare", "MistralApi", "MistralEngine",
        "MistralEventEngine", "MistralExecutor", "OpenStackClients", "PankoApi", "SELinux", "SaharaApi",
        "SaharaEngine", "Tacker", "Zaqar",
      },
    },
    ["stdout-logging.yaml"] = {
      on = {
        "Logging::BarbicanApi", "Logging::GlanceApi", "Logging::HAProxy", "Logging::HeatApi",
        "Logging::HeatApiCfn", "Logging::HeatEngine", "Logging::Keystone", "Logging::NeutronApi",
        "Logging::NeutronCommon", "Logging::NovaApi", "Logging::NovaCommon", "Logging::NovaLibvirt",
        "Logging::NovaMetadata", "Logging::NovaPlacement", "Logging::PankoApi", "RsyslogSidecar",
      },
    },
    ["storage-environment-external.yaml"] = {
      on = {
        "CephExternal",
      },
      off = {
        "CephClient", "CephMon", "CephOSD",
      },
    },
    ["storage-environment.yaml"] = {
      on = {
        "CephClient", "CephMgr", "CephMon", "CephOSD",
      },
    },
    ["storage/cinder-netapp-config.yaml"] = {
      off = {
        "CinderBackendNetApp",
      },
    },
    ["swift-external.yaml"] = {
      off = {
        "ExternalSwiftProxy", "SwiftProxy", "SwiftRingBuilder", "SwiftStorage",
      },
    },
    ["tripleo-validations.yaml"] = {
      off = {
        "TripleoValidations",
      },
    },
    ["undercloud.yaml"] = {
      on = {
        "Tmpwatch",
      },
      off = {
        "AodhApi", "AodhEvaluator", "AodhListener", "AodhNotifier", "CeilometerAgentCentral",
        "CeilometerAgentIpmi", "CeilometerAgentNotification", "CinderApi", "CinderScheduler", "CinderVolume",
        "ContainerImagePrepare", "DockerRegistry", "GnocchiApi", "GnocchiMetricd", "GnocchiStatsd",
        "HAproxy", "Keepalived", "OpenStackClients", "PankoApi", "Redis", "SELinux",
      },
    },
    ["veritas-hyperscale/cinder-veritas-hyperscale-config.yaml"] = {
      off = {
        "CinderBackendVRTSHyperScale",
      },
    },
    ["veritas-hyperscale/veritas-hyperscale-config.yaml"] = {
      off = {
        "VRTSHyperScale",
      },
    },
  },
}

R.stein = {
  release = "stein",
  tht_version = "10.6.2",
  common_version = "10.8.2",
  ml2_default = "ovn",
  storage_registry = {
    ["OS::TripleO::Services::CephClient"] = "../deployment/ceph-ansible/ceph-client.yaml",
    ["OS::TripleO::Services::CephMgr"] = "../deployment/ceph-ansible/ceph-mgr.yaml",
    ["OS::TripleO::Services::CephMon"] = "../deployment/ceph-ansible/ceph-mon.yaml",
    ["OS::TripleO::Services::CephOSD"] = "../deployment/ceph-ansible/ceph-osd.yaml",
  },
  fixed = {
    ["services/neutron-opendaylight.yaml"] = [==[
# A Heat environment that can be used to deploy OpenDaylight with L3 DVR using Docker containers
resource_registry:
  OS::TripleO::Services::NeutronOvsAgent: OS::Heat::None
  OS::TripleO::Services::ComputeNeutronOvsAgent: OS::Heat::None
  OS::TripleO::Services::ComputeNeutronCorePlugin: OS::Heat::None
  OS::TripleO::Services::OVNDBs: OS::Heat::None
  OS::TripleO::Services::OVNController: OS::Heat::None
  OS::TripleO::Services::OpenDaylightApi: ../../deployment/deprecated/opendaylight/opendaylight-api-container-puppet.yaml
  # FIXME(bogdando): switch it, once it is containerized
  OS::TripleO::Services::OpenDaylightOvs: ../../deployment/deprecated/opendaylight/opendaylight-ovs-baremetal-puppet.yaml
  OS::TripleO::Services::NeutronL3Agent: OS::Heat::None
  OS::TripleO::Docker::NeutronMl2PluginBase: ../../puppet/services/neutron-plugin-ml2-odl.yaml

parameter_defaults:
  NeutronEnableForceMetadata: true
  NeutronPluginExtensions: 'port_security'
  NeutronMechanismDrivers: 'opendaylight_v2'
  NeutronServicePlugins: 'odl-router_v2,trunk'
  NeutronNetworkType: 'vxlan'
  NeutronTypeDrivers: 'vlan,flat,vxlan'
]==],
  },
  env_files = {
    "auditd.yaml",
    "barbican-backend-dogtag.yaml",
    "barbican-backend-kmip.yaml",
    "barbican-backend-pkcs11-atos.yaml",
    "barbican-backend-pkcs11-thales.yaml",
    "barbican-backend-pkcs11.yaml",
    "barbican-backend-simple-crypto.yaml",
    "cadf.yaml",
    "cavium-liquidio.yaml",
    "ceph-ansible/ceph-ansible-external.yaml",
    "ceph-ansible/ceph-ansible-per-role.yaml",
    "ceph-ansible/ceph-ansible.yaml",
    "ceph-ansible/ceph-mds.yaml",
    "ceph-ansible/ceph-rbdmirror.yaml",
    "ceph-ansible/ceph-rgw.yaml",
    "cinder-backup.yaml",
    "cinder-dellemc-unity-config.yaml",
    "cinder-dellemc-vmax-iscsi-config.yaml",
    "cinder-dellemc-vnx-config.yaml",
    "cinder-dellemc-xtremio-iscsi-config.yaml",
    "cinder-dellps-config.yaml",
    "cinder-dellsc-config.yaml",
    "cinder-hpelefthand-config.yaml",
    "cinder-iser.yaml",
    "cinder-netapp-config.yaml",
    "cinder-nvmeof-config.yaml",
    "cinder-pure-config.yaml",
    "cinder-scaleio-config.yaml",
    "cinder-volume-active-active.yaml",
    "composable-roles/monolithic-ha.yaml",
    "composable-roles/monolithic-nonha.yaml",
    "composable-roles/standalone.yaml",
    "compute-instanceha.yaml",
    "compute-real-time-example.yaml",
    "computealt.yaml",
    "config-debug.yaml",
    "config-download-environment.yaml",
    "container-image-prepare-debug.yaml",
    "containerized-control-plane-dellemc-scaleio.yaml",
    "debug.yaml",
    "deployed-server-bootstrap-environment-centos.yaml",
    "deployed-server-bootstrap-environment-rhel.yaml",
    "deployed-server-deployed-neutron-ports.yaml",
    "deployed-server-environment.yaml",
    "deployed-server-noop-ctlplane.yaml",
    "designate-config-ha.yaml",
    "designate-config.yaml",
    "disable-config-download-environment.yaml",
    "disable-panko.yaml",
    "disable-telemetry.yaml",
    "docker-ha.yaml",
    "docker-network.yaml",
    "docker-uc-light.yaml",
    "docker.yaml",
    "enable-designate.yaml",
    "enable-federation-openidc.yaml",
    "enable-swap-partition.yaml",
    "enable-swap.yaml",
    "enable_tacker.yaml",
    "enable_tempest.yaml",
    "external-loadbalancer-vip-v6-all.yaml",
    "external-loadbalancer-vip-v6.yaml",
    "external-loadbalancer-vip.yaml",
    "fixed-ip-vips-v6.yaml",
    "fixed-ip-vips.yaml",
    "horizon_password_validation.yaml",
    "host-config-and-reboot.yaml",
    "hyperconverged-ceph.yaml",
    "ips-from-pool-all.yaml",
    "ips-from-pool-ctlplane.yaml",
    "ips-from-pool.yaml",
    "ipsec.yaml",
    "kubernetes.yaml",
    "lifecycle/ffwd-upgrade-converge.yaml",
    "lifecycle/ffwd-upgrade-prepare.yaml",
    "lifecycle/undercloud-upgrade-prepare.yaml",
    "lifecycle/update-converge.yaml",
    "lifecycle/update-prepare.yaml",
    "lifecycle/upgrade-converge.yaml",
    "lifecycle/upgrade-prepare.yaml",
    "logging-environment.yaml",
    "login-defs.yaml",
    "low-memory-usage.yaml",
    "manila-cephfsganesha-config.yaml",
    "manila-cephfsnative-config.yaml",
    "manila-isilon-config.yaml",
    "manila-netapp-config.yaml",
    "manila-unity-config.yaml",
    "manila-vmax-config.yaml",
    "manila-vnx-config.yaml",
    "messaging/rpc-qdrouterd-notify-rabbitmq-hybrid.yaml",
    "messaging/rpc-rabbitmq-notify-rabbitmq-shared.yaml",
    "metrics/collect-read-rabbitmq.yaml",
    "metrics/collectd-standalone.yaml",
    "metrics/collectd-write-qdr.yaml",
    "monitoring-environment.yaml",
    "net-2-linux-bonds-with-vlans.yaml",
    "net-bond-with-vlans-no-external.yaml",
    "net-bond-with-vlans-v6.yaml",
    "net-bond-with-vlans.yaml",
    "net-dpdkbond-with-vlans.yaml",
    "net-multiple-nics-v6.yaml",
    "net-multiple-nics.yaml",
    "net-noop.yaml",
    "net-single-nic-linux-bridge-with-vlans.yaml",
    "net-single-nic-with-vlans-no-external.yaml",
    "net-single-nic-with-vlans-v6.yaml",
    "net-single-nic-with-vlans.yaml",
    "network-environment-v6-all.yaml",
    "network-environment-v6.yaml",
    "network-environment.yaml",
    "network-isolation-no-tunneling.yaml",
    "network-isolation-v6-all.yaml",
    "network-isolation-v6.yaml",
    "network-isolation.yaml",
    "network-management-v6.yaml",
    "network-management.yaml",
    "networking/neutron-midonet.yaml",
    "networks-disable.yaml",
    "neutron-bgpvpn-bagpipe.yaml",
    "neutron-bgpvpn.yaml",
    "neutron-l2gw.yaml",
    "neutron-linuxbridge.yaml",
    "neutron-midonet.yaml",
    "neutron-ml2-ansible.yaml",
    "neutron-ml2-bigswitch.yaml",
    "neutron-ml2-cisco-n1kv.yaml",
    "neutron-ml2-cisco-nexus-ucsm.yaml",
    "neutron-ml2-cisco-vts.yaml",
    "neutron-ml2-fujitsu-cfab.yaml",
    "neutron-ml2-fujitsu-fossw.yaml",
    "neutron-ml2-mlnx-sdn.yaml",
    "neutron-ml2-ovn-dvr-ha.yaml",
    "neutron-ml2-ovn-ha.yaml",
    "neutron-ml2-vpp.yaml",
    "neutron-nsx.yaml",
    "neutron-nuage-config.yaml",
    "neutron-ovs-dpdk.yaml",
    "neutron-ovs-dvr.yaml",
    "neutron-plumgrid.yaml",
    "neutron-sfc.yaml",
    "neutron-sriov.yaml",
    "nonha-arch.yaml",
    "noop-deploy-steps.yaml",
    "nova-api-policy.yaml",
    "nova-az-config.yaml",
    "nova-nuage-config.yaml",
    "nsx-config.yaml",
    "odl-dscp-marking-inheritance.yaml",
    "openshift-cns.yaml",
    "openshift.yaml",
    "overcloud-baremetal.yaml",
    "overcloud-services.yaml",
    "overcloud-steps.yaml",
    "ovs-dpdk-permissions.yaml",
    "ovs-hw-offload.yaml",
    "podman.yaml",
    "predictable-placement/custom-domain.yaml",
    "predictable-placement/custom-hostnames.yaml",
    "public-tls-undercloud.yaml",
    "puppet-tenant-vlan.yaml",
    "rhsm.yaml",
    "securetty.yaml",
    "services-baremetal/barbican.yaml",
    "services-baremetal/cinder-backup.yaml",
    "services-baremetal/collectd.yaml",
    "services-baremetal/ec2-api.yaml",
    "services-baremetal/etcd.yaml",
    "services-baremetal/fluentd.yaml",
    "services-baremetal/manila.yaml",
    "services-baremetal/mistral.yaml",
    "services-baremetal/neutron-bgpvpn-opendaylight.yaml",
    "services-baremetal/neutron-l2gw-opendaylight.yaml",
    "services-baremetal/neutron-lbaasv2.yaml",
    "services-baremetal/neutron-ml2-cisco-vts.yaml",
    "services-baremetal/neutron-opendaylight-dpdk.yaml",
    "services-baremetal/neutron-opendaylight-sriov.yaml",
    "services-baremetal/neutron-opendaylight.yaml",
    "services-baremetal/neutron-ovn-dvr-ha.yaml",
    "services-baremetal/neutron-ovn-ha.yaml",
    "services-baremetal/neutron-ovs-dpdk.yaml",
    "services-baremetal/neutron-sriov.yaml",
    "services-baremetal/octavia.yaml",
    "services-baremetal/sensu-client.yaml",
    "services-baremetal/tacker.yaml",
    "services-baremetal/undercloud-ceilometer.yaml",
    "services-baremetal/undercloud-cinder.yaml",
    "services-baremetal/undercloud-gnocchi.yaml",
    "services-baremetal/undercloud-haproxy.yaml",
    "services-baremetal/undercloud-panko.yaml",
    "services/barbican.yaml",
    "services/cinder-backup.yaml",
    "services/collectd.yaml",
    "services/ec2-api.yaml",
    "services/etcd.yaml",
    "services/fluentd.yaml",
    "services/haproxy-internal-tls-certmonger.yaml",
    "services/haproxy-public-tls-certmonger.yaml",
    "services/ironic-inspector.yaml",
    "services/ironic-overcloud.yaml",
    "services/ironic.yaml",
    "services/keystone_domain_specific_ldap_backend.yaml",
    "services/manila.yaml",
    "services/masquerade-networks.yaml",
    "services/mistral.yaml",
    "services/neutron-bgpvpn-opendaylight.yaml",
    "services/neutron-l2gw-opendaylight.yaml",
    "services/neutron-lbaasv2.yaml",
    "services/neutron-ml2-ansible.yaml",
    "services/neutron-ml2-cisco-vts.yaml",
    "services/neutron-nsx-lbaasv2.yaml",
    "services/neutron-opendaylight-dpdk.yaml",
    "services/neutron-opendaylight-sriov.yaml",
    "services/neutron-opendaylight.yaml",
    "services/neutron-ovn-dpdk.yaml",
    "services/neutron-ovn-dvr-ha.yaml",
    "services/neutron-ovn-ha.yaml",
    "services/neutron-ovn-sriov.yaml",
    "services/neutron-ovn-standalone.yaml",
    "services/neutron-ovs-dpdk.yaml",
    "services/neutron-ovs-dvr.yaml",
    "services/neutron-ovs.yaml",
    "services/neutron-sfc-opendaylight.yaml",
    "services/neutron-sfc-ovn.yaml",
    "services/neutron-sriov.yaml",
    "services/novajoin.yaml",
    "services/octavia.yaml",
    "services/ptp.yaml",
    "services/qdr.yaml",
    "services/sahara.yaml",
    "services/sensu-client.yaml",
    "services/skydive-environment.yaml",
    "services/tacker.yaml",
    "services/tempest.yaml",
    "services/tripleo-ui.yaml",
    "services/undercloud-aodh.yaml",
    "services/undercloud-ceilometer.yaml",
    "services/undercloud-cinder.yaml",
    "services/undercloud-gnocchi.yaml",
    "services/undercloud-haproxy.yaml",
    "services/undercloud-keepalived.yaml",
    "services/undercloud-panko.yaml",
    "services/update-odl.yaml",
    "services/vpp.yaml",
    "services/zaqar-swift-backend.yaml",
    "services/zaqar.yaml",
    "split-stack-consistent-hostname-format.yaml",
    "sshd-banner.yaml",
    "ssl/enable-internal-tls.yaml",
    "ssl/enable-tls.yaml",
    "ssl/inject-trust-anchor-hiera.yaml",
    "ssl/inject-trust-anchor.yaml",
    "ssl/no-tls-endpoints-public-ip.yaml",
    "ssl/tls-endpoints-public-dns.yaml",
    "ssl/tls-endpoints-public-ip.yaml",
    "ssl/tls-everywhere-endpoints-dns.yaml",
    "standalone.yaml",
    "standalone/standalone-overcloud.yaml",
    "standalone/standalone-tripleo.yaml",
    "stdout-logging.yaml",
    "storage-environment-external.yaml",
    "storage-environment.yaml",
    "storage/cinder-netapp-config.yaml",
    "storage/cinder-nfs.yaml",
    "storage/glance-nfs.yaml",
    "storage/nova-nfs.yaml",
    "swift-external.yaml",
    "tripleo-validations.yaml",
    "tuned-ceph-filestore-hci.yaml",
    "undercloud.yaml",
    "updates/update-from-192_0_2-subnet.yaml",
    "updates/update-from-ceph-newton.yaml",
    "updates/update-from-deployed-server-newton.yaml",
    "updates/update-from-keystone-admin-internal-api.yaml",
    "updates/update-from-ml2-ovs-from-rocky.yaml",
    "updates/update-from-overcloud-compute-hostnames.yaml",
    "updates/update-from-publicvip-on-ctlplane.yaml",
    "use-dns-for-vips.yaml",
    "veritas-hyperscale/cinder-veritas-hyperscale-config.yaml",
    "veritas-hyperscale/veritas-hyperscale-config.yaml",
  },
  roles = {
    { name = "Controller", count = 1, services = {
      "Aide", "AodhApi", "AodhEvaluator", "AodhListener", "AodhNotifier", "AuditD", "BarbicanApi",
      "BarbicanBackendSimpleCrypto", "BarbicanBackendDogtag", "BarbicanBackendKmip",
      "BarbicanBackendPkcs11Crypto", "BootParams", "CACerts", "CeilometerAgentCentral",
      "CeilometerAgentNotification", "CephExternal", "CephMds", "CephMgr", "CephMon", "CephRbdMirror",
      "CephRgw", "CertmongerUser", "CinderApi", "CinderBackendDellPs", "CinderBackendDellSc",
      "CinderBackendDellEMCUnity", "CinderBackendDellEMCVMAXISCSI", "CinderBackendDellEMCVNX",
      "CinderBackendDellEMCXTREMIOISCSI", "CinderBackendNetApp", "CinderBackendPure", "CinderBackendScaleIO",
      "CinderBackendVRTSHyperScale", "CinderBackendNVMeOF", "CinderBackup", "CinderHPELeftHandISCSI",
      "CinderScheduler", "CinderVolume", "Clustercheck", "Collectd", "ContainerImagePrepare", "DesignateApi",
      "DesignateCentral", "DesignateProducer", "DesignateWorker", "DesignateMDNS", "DesignateSink", "Docker",
      "Ec2Api", "Etcd", "ExternalSwiftProxy", "Fluentd", "GlanceApi", "GnocchiApi", "GnocchiMetricd",
      "GnocchiStatsd", "HAproxy", "HeatApi", "HeatApiCloudwatch", "HeatApiCfn", "HeatEngine", "Horizon",
      "IpaClient", "Ipsec", "IronicApi", "IronicConductor", "IronicInspector", "IronicPxe",
      "IronicNeutronAgent", "Iscsid", "Keepalived", "Kernel", "Keystone", "LoginDefs", "ManilaApi",
      "ManilaBackendCephFs", "ManilaBackendIsilon", "ManilaBackendNetapp", "ManilaBackendUnity",
      "ManilaBackendVNX", "ManilaBackendVMAX", "ManilaScheduler", "ManilaShare", "Memcached", "MetricsQdr",
      "MistralApi", "MistralEngine", "MistralExecutor", "MistralEventEngine", "MySQL", "MySQLClient",
      "NeutronApi", "NeutronBgpVpnApi", "NeutronSfcApi", "NeutronCorePlugin", "NeutronDhcpAgent",
      "NeutronL2gwAgent", "NeutronL2gwApi", "NeutronL3Agent", "NeutronLbaasv2Agent", "NeutronLbaasv2Api",
      "NeutronLinuxbridgeAgent", "NeutronMetadataAgent", "NeutronML2FujitsuCfab", "NeutronML2FujitsuFossw",
      "NeutronOvsAgent", "NeutronVppAgent", "NovaApi", "NovaConductor", "NovaConsoleauth", "NovaIronic",
      "NovaMetadata", "NovaPlacement", "NovaScheduler", "NovaVncProxy", "ContainersLogrotateCrond",
      "OctaviaApi", "OctaviaDeploymentConfig", "OctaviaHealthManager", "OctaviaHousekeeping",
      "OctaviaWorker", "OpenDaylightApi", "OpenDaylightOvs", "OpenStackClients", "OVNDBs", "OVNController",
      "Pacemaker", "PankoApi", "OsloMessagingRpc", "OsloMessagingNotify", "Podman", "Redis", "Rhsm",
      "RsyslogSidecar", "SaharaApi", "SaharaEngine", "Securetty", "SensuClient", "SkydiveAgent",
      "SkydiveAnalyzer", "Snmp", "Sshd", "SwiftProxy", "SwiftDispersion", "SwiftRingBuilder", "SwiftStorage",
      "Tacker", "Timesync", "Timezone", "TripleoFirewall", "TripleoPackages", "Tuned", "Vpp", "Zaqar",
    } },
    { name = "Compute", count = 1, services = {
      "Aide", "AuditD", "BootParams", "CACerts", "CephClient", "CephExternal", "CertmongerUser", "Collectd",
      "ComputeCeilometerAgent", "ComputeNeutronCorePlugin", "ComputeNeutronL3Agent",
      "ComputeNeutronMetadataAgent", "ComputeNeutronOvsAgent", "Docker", "Fluentd", "IpaClient", "Ipsec",
      "Iscsid", "Kernel", "LoginDefs", "MetricsQdr", "MySQLClient", "NeutronBgpVpnBagpipe",
      "NeutronLinuxbridgeAgent", "NeutronVppAgent", "NovaCompute", "NovaLibvirt", "NovaLibvirtGuests",
      "NovaMigrationTarget", "ContainersLogrotateCrond", "OpenDaylightOvs", "Podman", "Rhsm",
      "RsyslogSidecar", "Securetty", "SensuClient", "SkydiveAgent", "Snmp", "Sshd", "Timesync", "Timezone",
      "TripleoFirewall", "TripleoPackages", "Tuned", "Vpp", "OVNController", "OVNMetadataAgent",
    } },
    { name = "BlockStorage", count = 0, services = {
      "Aide", "AuditD", "BlockStorageCinderVolume", "BootParams", "CACerts", "CertmongerUser",
      "CinderBackendVRTSHyperScale", "Collectd", "Docker", "Fluentd", "IpaClient", "Ipsec", "Iscsid",
      "Kernel", "LoginDefs", "MetricsQdr", "MySQLClient", "ContainersLogrotateCrond", "Podman", "Rhsm",
      "RsyslogSidecar", "Securetty", "SensuClient", "Snmp", "Sshd", "Timesync", "Timezone",
      "TripleoFirewall", "TripleoPackages", "Tuned",
    } },
    { name = "ObjectStorage", count = 0, services = {
      "Aide", "AuditD", "BootParams", "CACerts", "CertmongerUser", "Collectd", "Docker", "Fluentd",
      "IpaClient", "Ipsec", "Kernel", "LoginDefs", "MetricsQdr", "MySQLClient", "ContainersLogrotateCrond",
      "Podman", "Rhsm", "RsyslogSidecar", "Securetty", "SensuClient", "Snmp", "Sshd", "SwiftRingBuilder",
      "SwiftStorage", "Timesync", "Timezone", "TripleoFirewall", "TripleoPackages", "Tuned", "Ptp",
    } },
    { name = "CephStorage", count = 0, services = {
      "Aide", "AuditD", "BootParams", "CACerts", "CephOSD", "CertmongerUser", "Collectd", "Docker",
      "Fluentd", "IpaClient", "Ipsec", "Kernel", "LoginDefs", "MetricsQdr", "MySQLClient",
      "ContainersLogrotateCrond", "Podman", "Rhsm", "RsyslogSidecar", "Securetty", "SensuClient", "Snmp",
      "Sshd", "Timesync", "Timezone", "TripleoFirewall", "TripleoPackages", "Tuned",
    } },
  },
  registry_off = {
    "Aide", "AuditD", "BarbicanApi", "BarbicanBackendDogtag", "BarbicanBackendKmip",
    "BarbicanBackendPkcs11Crypto", "BarbicanBackendSimpleCrypto", "CACerts", "CephClient", "CephExternal",
    "CephMds", "CephMgr", "CephMon", "CephNfs", "CephOSD", "CephRbdMirror", "CephRgw", "CertmongerUser",
    "CinderBackendDellEMCUnity", "CinderBackendDellEMCVMAXISCSI", "CinderBackendDellEMCVNX",
    "CinderBackendDellEMCXTREMIOISCSI", "CinderBackendDellPs", "CinderBackendDellSc", "CinderBackendNVMeOF",
    "CinderBackendNetApp", "CinderBackendPure", "CinderBackendScaleIO", "CinderBackendVRTSHyperScale",
    "CinderBackup", "CinderHPELeftHandISCSI", "Clustercheck", "Collectd", "ComputeInstanceHA",
    "ComputeNeutronCorePlugin", "ComputeNeutronCorePluginNuage", "ComputeNeutronL3Agent",
    "ComputeNeutronMetadataAgent", "ComputeNeutronOvsAgent", "ComputeNeutronOvsDpdk", "DesignateApi",
    "DesignateCentral", "DesignateMDNS", "DesignateProducer", "DesignateSink", "DesignateWorker",
    "DockerRegistry", "Ec2Api", "Etcd", "ExternalSwiftProxy", "Fluentd", "HAProxyInternalTLS", "IpaClient",
    "Ipsec", "IronicApi", "IronicConductor", "IronicInspector", "IronicNeutronAgent", "IronicPxe",
    "LiquidioCompute", "Logging::NovaLibvirt", "LoginDefs", "ManilaApi", "ManilaBackendCephFs",
    "ManilaBackendIsilon", "ManilaBackendNetapp", "ManilaBackendUnity", "ManilaBackendVMAX",
    "ManilaBackendVNX", "ManilaScheduler", "ManilaShare", "MasqueradeNetworks", "MetricsQdr", "MistralApi",
    "MistralEngine", "MistralEventEngine", "MistralExecutor", "NeutronBgpVpnApi", "NeutronBgpVpnBagpipe",
    "NeutronCorePluginML2Nuage", "NeutronCorePluginML2OVN", "NeutronCorePluginMidonet",
    "NeutronCorePluginNuage", "NeutronCorePluginPlumgrid", "NeutronDhcpAgent", "NeutronL2gwAgent",
    "NeutronL2gwApi", "NeutronL3Agent", "NeutronLbaasv2Agent", "NeutronLbaasv2Api",
    "NeutronLinuxbridgeAgent", "NeutronML2FujitsuCfab", "NeutronML2FujitsuFossw", "NeutronMetadataAgent",
    "NeutronNuageVrs", "NeutronOvsAgent", "NeutronSfcApi", "NeutronSriovAgent", "NeutronSriovHostConfig",
    "NeutronVppAgent", "NovaAZConfig", "NovaIronic", "Novajoin", "OctaviaApi", "OctaviaDeploymentConfig",
    "OctaviaHealthManager", "OctaviaHousekeeping", "OctaviaWorker", "OpenDaylightApi", "OpenDaylightOvs",
    "OpenShift::GlusterFS", "OpenShift::Infra", "OpenShift::Master", "OpenShift::Worker", "OpenStackClients",
    "Pacemaker", "PacemakerRemote", "Podman", "Ptp", "Qdr", "RabbitMQ", "Rhsm", "RsyslogSidecar", "SELinux",
    "SaharaApi", "SaharaEngine", "Securetty", "SensuClient", "SkydiveAgent", "SkydiveAnalyzer",
    "SwiftDispersion", "TLSProxyBase", "Tacker", "Tempest", "Tmpwatch", "TripleoUI", "TripleoValidations",
    "UndercloudUpgrade", "VRTSHyperScale", "Vpp", "Xinetd", "Zaqar",
  },
  env_services = {
    ["auditd.yaml"] = {
      off = {
        "AuditD",
      },
    },
    ["barbican-backend-dogtag.yaml"] = {
      on = {
        "BarbicanBackendDogtag",
      },
    },
    ["barbican-backend-kmip.yaml"] = {
      on = {
        "BarbicanBackendKmip",
      },
    },
    ["barbican-backend-pkcs11-atos.yaml"] = {
      on = {
        "BarbicanBackendPkcs11Crypto",
      },
    },
    ["barbican-backend-pkcs11-thales.yaml"] = {
      on = {
        "BarbicanBackendPkcs11Crypto",
      },
    },
    ["barbican-backend-pkcs11.yaml"] = {
      on = {
        "BarbicanBackendPkcs11Crypto",
      },
    },
    ["barbican-backend-simple-crypto.yaml"] = {
      on = {
        "BarbicanBackendSimpleCrypto",
      },
    },
    ["cavium-liquidio.yaml"] = {
      on = {
        "LiquidioCompute",
      },
    },
    ["ceph-ansible/ceph-ansible-external.yaml"] = {
      on = {
        "CephExternal",
      },
    },
    ["ceph-ansible/ceph-ansible-per-role.yaml"] = {
      on = {
        "CephClient", "CephMgr", "CephMon", "CephOSD",
      },
    },
    ["ceph-ansible/ceph-ansible.yaml"] = {
      on = {
        "CephClient", "CephMgr", "CephMon", "CephOSD",
      },
    },
    ["ceph-ansible/ceph-mds.yaml"] = {
      on = {
        "CephMds",
      },
    },
    ["ceph-ansible/ceph-rbdmirror.yaml"] = {
      on = {
        "CephRbdMirror",
      },
    },
    ["ceph-ansible/ceph-rgw.yaml"] = {
      on = {
        "CephRgw",
      },
      off = {
        "SwiftProxy", "SwiftRingBuilder", "SwiftStorage",
      },
    },
    ["cinder-backup.yaml"] = {
      on = {
        "CinderBackup",
      },
    },
    ["cinder-dellemc-unity-config.yaml"] = {
      on = {
        "CinderBackendDellEMCUnity",
      },
    },
    ["cinder-dellemc-vmax-iscsi-config.yaml"] = {
      on = {
        "CinderBackendDellEMCVMAXISCSI",
      },
    },
    ["cinder-dellemc-vnx-config.yaml"] = {
      on = {
        "CinderBackendDellEMCVNX",
      },
    },
    ["cinder-dellemc-xtremio-iscsi-config.yaml"] = {
      on = {
        "CinderBackendDellEMCXTREMIOIscsi",
      },
    },
    ["cinder-dellps-config.yaml"] = {
      on = {
        "CinderBackendDellPs",
      },
    },
    ["cinder-dellsc-config.yaml"] = {
      on = {
        "CinderBackendDellSc",
      },
    },
    ["cinder-hpelefthand-config.yaml"] = {
      on = {
        "CinderHPELeftHandISCSI",
      },
    },
    ["cinder-netapp-config.yaml"] = {
      on = {
        "CinderBackendNetApp",
      },
    },
    ["cinder-nvmeof-config.yaml"] = {
      on = {
        "CinderBackendNVMeOF",
      },
    },
    ["cinder-pure-config.yaml"] = {
      on = {
        "CinderBackendPure",
      },
    },
    ["cinder-scaleio-config.yaml"] = {
      on = {
        "CinderBackendScaleIO",
      },
    },
    ["cinder-volume-active-active.yaml"] = {
      on = {
        "CinderVolume", "Etcd",
      },
    },
    ["compute-instanceha.yaml"] = {
      off = {
        "ComputeInstanceHA",
      },
    },
    ["computealt.yaml"] = {
      on = {
        "ComputeCeilometerAgentAlt", "ComputeNeutronOvsAgentAlt", "IscsidAlt", "NovaComputeAlt",
        "NovaLibvirtAlt", "NovaMigrationTargetAlt",
      },
      off = {
        "CollectdAlt", "FluentdAlt", "OVNControllerAlt", "SensuClientAlt",
      },
    },
    ["disable-panko.yaml"] = {
      off = {
        "PankoApi",
      },
    },
    ["disable-telemetry.yaml"] = {
      off = {
        "AodhApi", "AodhEvaluator", "AodhListener", "AodhNotifier", "CeilometerAgentCentral",
        "CeilometerAgentIpmi", "CeilometerAgentNotification", "ComputeCeilometerAgent", "GnocchiApi",
        "GnocchiMetricd", "GnocchiStatsd", "PankoApi",
      },
    },
    ["docker-ha.yaml"] = {
      on = {
        "CinderVolume", "Clustercheck", "HAproxy", "MySQL", "OVNDBs", "OsloMessagingNotify",
        "OsloMessagingRpc", "Redis",
      },
      off = {
        "Keepalived", "Pacemaker", "PacemakerRemote",
      },
    },
    ["docker-uc-light.yaml"] = {
      on = {
        "ContainersLogrotateCrond", "Docker", "HeatApi", "HeatApiCfn", "HeatEngine", "Keystone", "Memcached",
        "MistralApi", "MistralEngine", "MistralExecutor", "MySQL", "NeutronApi", "NeutronCorePlugin",
        "NeutronDhcpAgent", "NeutronServer", "OsloMessagingNotify", "OsloMessagingRpc", "SwiftProxy",
        "SwiftRingBuilder", "SwiftStorage", "Zaqar",
      },
    },
    ["docker.yaml"] = {
      on = {
        "Docker",
      },
    },
    ["enable-designate.yaml"] = {
      on = {
        "DesignateApi", "DesignateCentral", "DesignateMDNS", "DesignateProducer", "DesignateWorker",
      },
    },
    ["enable_tacker.yaml"] = {
      on = {
        "Tacker",
      },
    },
    ["enable_tempest.yaml"] = {
      on = {
        "Tempest",
      },
    },
    ["external-loadbalancer-vip-v6-all.yaml"] = {
      off = {
        "HAproxy",
      },
    },
    ["external-loadbalancer-vip-v6.yaml"] = {
      off = {
        "HAproxy",
      },
    },
    ["external-loadbalancer-vip.yaml"] = {
      off = {
        "HAproxy",
      },
    },
    ["ipsec.yaml"] = {
      on = {
        "Ipsec",
      },
    },
    ["kubernetes.yaml"] = {
      on = {
        "Docker", "Kubernetes::Master", "Kubernetes::Worker",
      },
    },
    ["lifecycle/ffwd-upgrade-prepare.yaml"] = {
      off = {
        "Core", "FluentdClient", "MongoDb", "VipHosts",
      },
    },
    ["lifecycle/undercloud-upgrade-prepare.yaml"] = {
      on = {
        "UndercloudUpgrade",
      },
    },
    ["lifecycle/upgrade-prepare.yaml"] = {
      off = {
        "MongoDb",
      },
    },
    ["logging-environment.yaml"] = {
      on = {
        "Fluentd",
      },
    },
    ["login-defs.yaml"] = {
      on = {
        "LoginDefs",
      },
    },
    ["manila-cephfsganesha-config.yaml"] = {
      on = {
        "CephNfs", "ManilaApi", "ManilaBackendCephFs", "ManilaScheduler", "ManilaShare",
      },
    },
    ["manila-cephfsnative-config.yaml"] = {
      on = {
        "ManilaApi", "ManilaBackendCephFs", "ManilaScheduler", "ManilaShare",
      },
    },
    ["manila-isilon-config.yaml"] = {
      on = {
        "ManilaApi", "ManilaBackendIsilon", "ManilaScheduler", "ManilaShare",
      },
    },
    ["manila-netapp-config.yaml"] = {
      on = {
        "ManilaApi", "ManilaBackendNetapp", "ManilaScheduler", "ManilaShare",
      },
    },
    ["manila-unity-config.yaml"] = {
      on = {
        "ManilaApi", "ManilaBackendUnity", "ManilaScheduler", "ManilaShare",
      },
    },
    ["manila-vmax-config.yaml"] = {
      on = {
        "ManilaApi", "ManilaBackendVMAX", "ManilaScheduler", "ManilaShare",
      },
    },
    ["manila-vnx-config.yaml"] = {
      on = {
        "ManilaApi", "ManilaBackendVNX", "ManilaScheduler", "ManilaShare",
      },
    },
    ["messaging/rpc-qdrouterd-notify-rabbitmq-hybrid.yaml"] = {
      on = {
        "OsloMessagingNotify", "OsloMessagingRpc",
      },
    },
    ["messaging/rpc-rabbitmq-notify-rabbitmq-shared.yaml"] = {
      on = {
        "OsloMessagingNotify", "OsloMessagingRpc",
      },
    },
    ["metrics/collectd-standalone.yaml"] = {
      on = {
        "Collectd",
      },
    },
    ["metrics/collectd-write-qdr.yaml"] = {
      on = {
        "Collectd", "MetricsQdr",
      },
    },
    ["monitoring-environment.yaml"] = {
      on = {
        "SensuClient",
      },
    },
    ["networking/neutron-midonet.yaml"] = {
      on = {
        "NeutronCorePlugin",
      },
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronL3Agent", "NeutronOvsAgent",
      },
    },
    ["neutron-bgpvpn-bagpipe.yaml"] = {
      on = {
        "NeutronBgpVpnApi", "NeutronBgpVpnBagpipe",
      },
    },
    ["neutron-bgpvpn.yaml"] = {
      on = {
        "NeutronBgpVpnApi",
      },
    },
    ["neutron-l2gw.yaml"] = {
      on = {
        "NeutronL2gwAgent", "NeutronL2gwApi",
      },
    },
    ["neutron-linuxbridge.yaml"] = {
      off = {
        "ComputeNeutronOvsAgent", "NeutronLinuxbridgeAgent", "NeutronOvsAgent",
      },
    },
    ["neutron-midonet.yaml"] = {
      on = {
        "NeutronCorePlugin",
      },
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronL3Agent", "NeutronOvsAgent",
      },
    },
    ["neutron-ml2-ansible.yaml"] = {
      on = {
        "NeutronCorePlugin",
      },
    },
    ["neutron-ml2-bigswitch.yaml"] = {
      off = {
        "ComputeNeutronOvsAgent", "NeutronL3Agent",
      },
    },
    ["neutron-ml2-cisco-nexus-ucsm.yaml"] = {
      off = {
        "ComputeNeutronCorePlugin",
      },
    },
    ["neutron-ml2-cisco-vts.yaml"] = {
      on = {
        "ComputeNeutronCorePlugin", "NeutronCorePlugin",
      },
    },
    ["neutron-ml2-fujitsu-cfab.yaml"] = {
      off = {
        "NeutronML2FujitsuCfab",
      },
    },
    ["neutron-ml2-fujitsu-fossw.yaml"] = {
      off = {
        "NeutronML2FujitsuFossw",
      },
    },
    ["neutron-ml2-mlnx-sdn.yaml"] = {
      on = {
        "NeutronCorePlugin",
      },
    },
    ["neutron-ml2-ovn-dvr-ha.yaml"] = {
      on = {
        "NeutronCorePlugin", "OVNController", "OVNDBs",
      },
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronL3Agent", "ComputeNeutronMetadataAgent",
        "ComputeNeutronOvsAgent", "NeutronDhcpAgent", "NeutronL3Agent", "NeutronMetadataAgent",
        "NeutronOvsAgent",
      },
    },
    ["neutron-ml2-ovn-ha.yaml"] = {
      on = {
        "NeutronCorePlugin", "OVNController", "OVNDBs", "OVNMetadataAgent",
      },
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronDhcpAgent", "NeutronL3Agent",
        "NeutronMetadataAgent", "NeutronOvsAgent",
      },
    },
    ["neutron-ml2-vpp.yaml"] = {
      on = {
        "Etcd",
      },
      off = {
        "ComputeNeutronOvsAgent", "NeutronOvsAgent", "NeutronVppAgent", "Vpp",
      },
    },
    ["neutron-nsx.yaml"] = {
      on = {
        "NeutronCorePlugin",
      },
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronDhcpAgent", "NeutronL3Agent",
        "NeutronMetadataAgent", "NeutronOvsAgent",
      },
    },
    ["neutron-nuage-config.yaml"] = {
      off = {
        "ComputeNeutronOvsAgent", "NeutronDhcpAgent", "NeutronL3Agent", "NeutronMetadataAgent",
        "NeutronOvsAgent",
      },
    },
    ["neutron-ovs-dpdk.yaml"] = {
      on = {
        "ComputeNeutronOvsDpdk",
      },
    },
    ["neutron-ovs-dvr.yaml"] = {
      on = {
        "ComputeNeutronL3Agent", "ComputeNeutronMetadataAgent", "ComputeNeutronOvsAgent", "NeutronApi",
        "NeutronCorePlugin", "NeutronDhcpAgent", "NeutronL3Agent", "NeutronMetadataAgent", "NeutronOvsAgent",
        "NeutronServer",
      },
      off = {
        "OVNController", "OVNDBs", "OVNMetadataAgent",
      },
    },
    ["neutron-plumgrid.yaml"] = {
      on = {
        "NeutronCorePlugin",
      },
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronDhcpAgent", "NeutronL3Agent",
        "NeutronMetadataAgent", "NeutronOvsAgent",
      },
    },
    ["neutron-sfc.yaml"] = {
      on = {
        "NeutronSfcApi",
      },
    },
    ["neutron-sriov.yaml"] = {
      on = {
        "NeutronSriovAgent",
      },
      off = {
        "NeutronSriovHostConfig",
      },
    },
    ["nonha-arch.yaml"] = {
      on = {
        "CinderVolume", "HAproxy", "Keepalived", "MySQL", "RabbitMQ", "Redis",
      },
      off = {
        "Pacemaker", "PacemakerRemote",
      },
    },
    ["nova-az-config.yaml"] = {
      on = {
        "NovaAZConfig",
      },
    },
    ["nova-nuage-config.yaml"] = {
      on = {
        "ComputeNeutronCorePlugin",
      },
    },
    ["nsx-config.yaml"] = {
      on = {
        "NeutronCorePluginNSX",
      },
    },
    ["openshift-cns.yaml"] = {
      on = {
        "OpenShift::GlusterFS",
      },
    },
    ["openshift.yaml"] = {
      on = {
        "HAproxy", "Keepalived", "OpenShift::Infra", "OpenShift::Master", "OpenShift::Worker", "Podman",
      },
    },
    ["podman.yaml"] = {
      on = {
        "Podman",
      },
    },
    ["public-tls-undercloud.yaml"] = {
      on = {
        "HAProxyPublicTLS",
      },
    },
    ["rhsm.yaml"] = {
      on = {
        "Rhsm",
      },
    },
    ["securetty.yaml"] = {
      on = {
        "Securetty",
      },
    },
    ["services-baremetal/barbican.yaml"] = {
      on = {
        "BarbicanApi",
      },
    },
    ["services-baremetal/cinder-backup.yaml"] = {
      on = {
        "CinderBackup",
      },
    },
    ["services-baremetal/collectd.yaml"] = {
      on = {
        "Collectd",
      },
    },
    ["services-baremetal/ec2-api.yaml"] = {
      on = {
        "Ec2Api",
      },
    },
    ["services-baremetal/etcd.yaml"] = {
      on = {
        "Etcd",
      },
    },
    ["services-baremetal/fluentd.yaml"] = {
      on = {
        "Fluentd",
      },
    },
    ["services-baremetal/manila.yaml"] = {
      on = {
        "ManilaApi", "ManilaScheduler", "ManilaShare",
      },
    },
    ["services-baremetal/mistral.yaml"] = {
      on = {
        "MistralApi", "MistralEngine", "MistralEventEngine", "MistralExecutor",
      },
    },
    ["services-baremetal/neutron-bgpvpn-opendaylight.yaml"] = {
      on = {
        "NeutronBgpVpnApi",
      },
    },
    ["services-baremetal/neutron-l2gw-opendaylight.yaml"] = {
      on = {
        "NeutronL2gwApi",
      },
    },
    ["services-baremetal/neutron-lbaasv2.yaml"] = {
      on = {
        "NeutronLbaasv2Api",
      },
      off = {
        "NeutronLbaasv2Agent",
      },
    },
    ["services-baremetal/neutron-ml2-cisco-vts.yaml"] = {
      on = {
        "ComputeNeutronCorePlugin", "NeutronCorePlugin", "NeutronCorePluginVTS",
      },
    },
    ["services-baremetal/neutron-opendaylight-sriov.yaml"] = {
      on = {
        "NeutronSriovAgent",
      },
      off = {
        "ComputeNeutronCorePlugin",
      },
    },
    ["services-baremetal/neutron-opendaylight.yaml"] = {
      on = {
        "OpenDaylightApi",
      },
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronL3Agent", "NeutronOvsAgent",
        "OVNController", "OVNDBs", "OpenDaylightOvs",
      },
    },
    ["services-baremetal/neutron-ovn-dvr-ha.yaml"] = {
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronL3Agent", "ComputeNeutronMetadataAgent",
        "ComputeNeutronOvsAgent", "NeutronDhcpAgent", "NeutronL3Agent", "NeutronMetadataAgent",
        "NeutronOvsAgent", "OVNController", "OVNDBs",
      },
    },
    ["services-baremetal/neutron-ovn-ha.yaml"] = {
      on = {
        "OVNController", "OVNDBs", "OVNMetadataAgent",
      },
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronDhcpAgent", "NeutronL3Agent",
        "NeutronMetadataAgent", "NeutronOvsAgent",
      },
    },
    ["services-baremetal/neutron-ovs-dpdk.yaml"] = {
      on = {
        "ComputeNeutronOvsDpdk",
      },
    },
    ["services-baremetal/neutron-sriov.yaml"] = {
      on = {
        "NeutronSriovAgent",
      },
      off = {
        "NeutronSriovHostConfig",
      },
    },
    ["services-baremetal/octavia.yaml"] = {
      on = {
        "OctaviaApi", "OctaviaDeploymentConfig", "OctaviaHealthManager", "OctaviaHousekeeping",
        "OctaviaWorker",
      },
    },
    ["services-baremetal/sensu-client.yaml"] = {
      on = {
        "SensuClient",
      },
    },
    ["services-baremetal/tacker.yaml"] = {
      on = {
        "Tacker",
      },
    },
    ["services-baremetal/undercloud-ceilometer.yaml"] = {
      on = {
        "UndercloudCeilometerAgentCentral", "UndercloudCeilometerAgentIpmi",
        "UndercloudCeilometerAgentNotification",
      },
    },
    ["services-baremetal/undercloud-cinder.yaml"] = {
      on = {
        "UndercloudCinderApi", "UndercloudCinderScheduler", "UndercloudCinderVolume",
      },
    },
    ["services-baremetal/undercloud-gnocchi.yaml"] = {
      on = {
        "UndercloudGnocchiApi", "UndercloudGnocchiMetricd", "UndercloudGnocchiStatsd", "UndercloudRedis",
      },
    },
    ["services-baremetal/undercloud-haproxy.yaml"] = {
      on = {
        "UndercloudHAProxy",
      },
    },
    ["services-baremetal/undercloud-panko.yaml"] = {
      on = {
        "UndercloudPankoApi",
      },
    },
    ["services/barbican.yaml"] = {
      on = {
        "BarbicanApi",
      },
    },
    ["services/cinder-backup.yaml"] = {
      on = {
        "CinderBackup",
      },
    },
    ["services/collectd.yaml"] = {
      on = {
        "Collectd",
      },
    },
    ["services/ec2-api.yaml"] = {
      on = {
        "Ec2Api",
      },
    },
    ["services/etcd.yaml"] = {
      on = {
        "Etcd",
      },
    },
    ["services/fluentd.yaml"] = {
      on = {
        "Fluentd",
      },
    },
    ["services/haproxy-internal-tls-certmonger.yaml"] = {
      on = {
        "HAProxyInternalTLS",
      },
    },
    ["services/haproxy-public-tls-certmonger.yaml"] = {
      on = {
        "HAProxyPublicTLS",
      },
    },
    ["services/ironic-inspector.yaml"] = {
      on = {
        "IronicInspector",
      },
    },
    ["services/ironic-overcloud.yaml"] = {
      on = {
        "IronicApi", "IronicConductor", "IronicNeutronAgent", "IronicPxe", "NeutronDhcpAgent", "NovaIronic",
      },
    },
    ["services/ironic.yaml"] = {
      on = {
        "IronicApi", "IronicConductor", "IronicNeutronAgent", "IronicPxe", "NovaIronic",
      },
    },
    ["services/manila.yaml"] = {
      on = {
        "ManilaApi", "ManilaScheduler", "ManilaShare",
      },
    },
    ["services/masquerade-networks.yaml"] = {
      off = {
        "MasqueradeNetworks",
      },
    },
    ["services/mistral.yaml"] = {
      on = {
        "MistralApi", "MistralEngine", "MistralEventEngine", "MistralExecutor",
      },
    },
    ["services/neutron-bgpvpn-opendaylight.yaml"] = {
      on = {
        "NeutronBgpVpnApi",
      },
    },
    ["services/neutron-l2gw-opendaylight.yaml"] = {
      on = {
        "NeutronL2gwApi",
      },
    },
    ["services/neutron-lbaasv2.yaml"] = {
      on = {
        "NeutronLbaasv2Api",
      },
    },
    ["services/neutron-ml2-ansible.yaml"] = {
      on = {
        "NeutronCorePlugin",
      },
    },
    ["services/neutron-ml2-cisco-vts.yaml"] = {
      on = {
        "ComputeNeutronCorePlugin", "NeutronCorePlugin", "NeutronCorePluginVTS",
      },
    },
    ["services/neutron-nsx-lbaasv2.yaml"] = {
      on = {
        "NeutronLbaasv2Api",
      },
    },
    ["services/neutron-opendaylight-sriov.yaml"] = {
      on = {
        "ComputeNeutronCorePlugin", "NeutronSriovAgent",
      },
      off = {
        "NeutronSriovHostConfig",
      },
    },
    ["services/neutron-opendaylight.yaml"] = {
      on = {
        "OpenDaylightApi",
      },
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronL3Agent", "NeutronOvsAgent",
        "OVNController", "OVNDBs", "OpenDaylightOvs",
      },
    },
    ["services/neutron-ovn-dpdk.yaml"] = {
      on = {
        "ComputeNeutronOvsDpdk",
      },
    },
    ["services/neutron-ovn-dvr-ha.yaml"] = {
      on = {
        "OVNController", "OVNDBs", "OVNMetadataAgent",
      },
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronL3Agent", "ComputeNeutronMetadataAgent",
        "ComputeNeutronOvsAgent", "NeutronDhcpAgent", "NeutronL3Agent", "NeutronMetadataAgent",
        "NeutronOvsAgent",
      },
    },
    ["services/neutron-ovn-ha.yaml"] = {
      on = {
        "OVNController", "OVNDBs", "OVNMetadataAgent",
      },
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronOvsAgent", "NeutronDhcpAgent", "NeutronL3Agent",
        "NeutronMetadataAgent", "NeutronOvsAgent",
      },
    },
    ["services/neutron-ovn-sriov.yaml"] = {
      on = {
        "NeutronDhcpAgent", "NeutronSriovAgent",
      },
      off = {
        "NeutronSriovHostConfig",
      },
    },
    ["services/neutron-ovn-standalone.yaml"] = {
      on = {
        "OVNController", "OVNDBs", "OVNMetadataAgent",
      },
      off = {
        "ComputeNeutronCorePlugin", "ComputeNeutronL3Agent", "ComputeNeutronMetadataAgent",
        "ComputeNeutronOvsAgent", "NeutronDhcpAgent", "NeutronL3Agent", "NeutronMetadataAgent",
        "NeutronOvsAgent",
      },
    },
    ["services/neutron-ovs-dpdk.yaml"] = {
      on = {
        "ComputeNeutronOvsDpdk",
      },
    },
    ["services/neutron-ovs-dvr.yaml"] = {
      on = {
        "ComputeNeutronL3Agent", "ComputeNeutronMetadataAgent", "ComputeNeutronOvsAgent", "NeutronApi",
        "NeutronCorePlugin", "NeutronDhcpAgent", "NeutronL3Agent", "NeutronMetadataAgent", "NeutronOvsAgent",
        "NeutronServer",
      },
      off = {
        "OVNController", "OVNDBs", "OVNMetadataAgent",
      },
    },
    ["services/neutron-ovs.yaml"] = {
      on = {
        "ComputeNeutronOvsAgent", "NeutronApi", "NeutronCorePlugin", "NeutronDhcpAgent", "NeutronL3Agent",
        "NeutronMetadataAgent", "NeutronOvsAgent", "NeutronServer",
      },
      off = {
        "OVNController", "OVNDBs", "OVNMetadataAgent",
      },
    },
    ["services/neutron-sfc-opendaylight.yaml"] = {
      on = {
        "NeutronSfcApi",
      },
    },
    ["services/neutron-sfc-ovn.yaml"] = {
      on = {
        "NeutronSfcApi",
      },
    },
    ["services/neutron-sriov.yaml"] = {
      on = {
        "NeutronSriovAgent",
      },
      off = {
        "NeutronSriovHostConfig",
      },
    },
    ["services/novajoin.yaml"] = {
      on = {
        "Novajoin",
      },
    },
    ["services/octavia.yaml"] = {
      on = {
        "OctaviaApi", "OctaviaDeploymentConfig", "OctaviaHealthManager", "OctaviaHousekeeping",
        "OctaviaWorker",
      },
    },
    ["services/ptp.yaml"] = {
      on = {
        "Ptp", "Timesync",
      },
      off = {
        "Ntp",
      },
    },
    ["services/qdr.yaml"] = {
      on = {
        "Qdr",
      },
    },
    ["services/sahara.yaml"] = {
      on = {
        "SaharaApi", "SaharaEngine",
      },
    },
    ["services/sensu-client.yaml"] = {
      on = {
        "SensuClient",
      },
    },
    ["services/skydive-environment.yaml"] = {
      on = {
        "SkydiveAgent", "SkydiveAnalyzer",
      },
    },
    ["services/tacker.yaml"] = {
      on = {
        "Tacker",
      },
    },
    ["services/tempest.yaml"] = {
      on = {
        "Tempest",
      },
    },
    ["services/tripleo-ui.yaml"] = {
      on = {
        "TripleoUI",
      },
    },
    ["services/undercloud-aodh.yaml"] = {
      on = {
        "AodhApi", "AodhEvaluator", "AodhListener", "AodhNotifier",
      },
    },
    ["services/undercloud-ceilometer.yaml"] = {
      on = {
        "CeilometerAgentCentral", "CeilometerAgentIpmi", "CeilometerAgentNotification",
      },
    },
    ["services/undercloud-cinder.yaml"] = {
      on = {
        "CinderApi", "CinderScheduler", "CinderVolume",
      },
    },
    ["services/undercloud-gnocchi.yaml"] = {
      on = {
        "GnocchiApi", "GnocchiMetricd", "GnocchiStatsd", "Redis",
      },
    },
    ["services/undercloud-haproxy.yaml"] = {
      on = {
        "HAproxy",
      },
    },
    ["services/undercloud-keepalived.yaml"] = {
      on = {
        "Keepalived",
      },
    },
    ["services/undercloud-panko.yaml"] = {
      on = {
        "PankoApi",
      },
    },
    ["services/vpp.yaml"] = {
      off = {
        "Vpp",
      },
    },
    ["services/zaqar-swift-backend.yaml"] = {
      on = {
        "Zaqar",
      },
      off = {
        "Redis",
      },
    },
    ["services/zaqar.yaml"] = {
      on = {
        "Redis", "Zaqar",
      },
    },
    ["ssl/enable-internal-tls.yaml"] = {
      on = {
        "HAProxyInternalTLS", "IpaClient", "TLSProxyBase",
      },
      off = {
        "CertmongerUser",
      },
    },
    ["standalone.yaml"] = {
      on = {
        "OpenStackClients", "SELinux", "Tmpwatch",
      },
      off = {
        "AodhApi", "AodhEvaluator", "AodhListener", "AodhNotifier", "BarbicanApi", "BarbicanBackendDogtag",
        "BarbicanBackendKmip", "BarbicanBackendPkcs11Crypto", "BarbicanBackendSimpleCrypto",
        "CeilometerAgentCentral", "CeilometerAgentNotification", "ComputeCeilometerAgent", "DesignateApi",
        "DesignateCentral", "DesignateMDNS", "DesignateProducer", "DesignateSink", "DesignateWorker",
        "GnocchiApi", "GnocchiMetricd", "GnocchiStatsd", "HAproxy", "HeatApi", "HeatApiCfn",
        "HeatApiCloudwatch", "HeatEngine", "IronicApi", "IronicConductor", "IronicInspector",
        "IronicNeutronAgent", "IronicPxe", "Keepalived", "Kubernetes::Master", "Kubernetes::Worker",
        "ManilaApi", "ManilaBackendCephFs", "ManilaBackendIsilon", "ManilaBackendNetapp",
        "ManilaBackendUnity", "ManilaBackendVMAX", "ManilaBackendVNX", "ManilaScheduler", "ManilaShare",
        "MistralApi", "MistralEngine", "MistralEventEngine", "MistralExecutor", "PankoApi", "Redis",
        "SaharaApi", "SaharaEngine", "Tacker", "Zaqar",
      },
    },
    ["standalone/standalone-overcloud.yaml"] = {
      on = {
        "OpenStackClients", "SELinux",
      },
      off = {
        "AodhApi", "AodhEvaluator", "AodhListener", "AodhNotifier", "BarbicanApi", "BarbicanBackendDogtag",
        "BarbicanBackendKmip", "BarbicanBackendPkcs11Crypto", "BarbicanBackendSimpleCrypto",
        "CeilometerAgentCentral", "CeilometerAgentNotification", "ComputeCeilometerAgent", "DesignateApi",
        "DesignateCentral", "DesignateMDNS", "DesignateProducer", "DesignateSink", "DesignateWorker",
        "GnocchiApi", "GnocchiMetricd", "GnocchiStatsd", "HeatApi", "HeatApiCfn", "HeatApiCloudwatch",
        "HeatEngine", "IronicApi", "IronicConductor", "IronicInspector", "IronicNeutronAgent", "IronicPxe",
        "Kubernetes::Master", "Kubernetes::Worker", "ManilaApi", "ManilaBackendCephFs",
        "ManilaBackendIsilon", "ManilaBackendNetapp", "ManilaBackendUnity", "ManilaBackendVMAX",
        "ManilaBackendVNX", "ManilaScheduler", "ManilaShare", "MistralApi", "MistralEngine",
        "MistralEventEngine", "MistralExecutor", "PankoApi", "SaharaApi", "SaharaEngine", "Tacker", "Zaqar",
      },
    },
    ["standalone/standalone-tripleo.yaml"] = {
      on = {
        "ContainerImagePrepare", "DockerRegistry", "OVNDBs", "OpenStackClients", "Podman", "Rsyslog",
        "SELinux", "Tmpwatch",
      },
      off = {
        "AodhApi", "AodhEvaluator", "AodhListener", "AodhNotifier", "BarbicanApi", "BarbicanBackendDogtag",
        "BarbicanBackendKmip", "BarbicanBackendPkcs11Crypto", "BarbicanBackendSimpleCrypto",
        "CeilometerAgentCentral", "CeilometerAgentNotification", "ComputeCeilometerAgent", "DesignateApi",
        "DesignateCentral", "DesignateMDNS", "DesignateProducer", "DesignateSink", "DesignateWorker",
        "GnocchiApi", "GnocchiMetricd", "GnocchiStatsd", "HAproxy", "HeatApi", "HeatApiCfn",
        "HeatApiCloudwatch", "HeatEngine", "IronicApi", "IronicConductor", "IronicInspector",
        "IronicNeutronAgent", "IronicPxe", "Keepalived", "Kubernetes::Master", "Kubernetes::Worker",
        "ManilaApi", "ManilaBackendCephFs", "ManilaBackendIsilon", "ManilaBackendNetapp",
        "ManilaBackendUnity", "ManilaBackendVMAX", "ManilaBackendVNX", "ManilaScheduler", "ManilaShare",
        "MistralApi", "MistralEngine", "MistralEventEngine", "MistralExecutor", "PankoApi", "Redis",
        "SaharaApi", "SaharaEngine", "Tacker", "Zaqar",
      },
    },
    ["stdout-logging.yaml"] = {
      on = {
        "Logging::BarbicanApi", "Logging::GlanceApi", "Logging::HAProxy", "Logging::HeatApi",
        "Logging::HeatApiCfn", "Logging::HeatEngine", "Logging::Keystone", "Logging::NeutronApi",
        "Logging::NeutronCommon", "Logging::NovaApi", "Logging::NovaCommon", "Logging::NovaLibvirt",
        "Logging::NovaMetadata", "Logging::NovaPlacement", "Logging::PankoApi", "RsyslogSidecar",
      },
    },
    ["storage-environment-external.yaml"] = {
      on = {
        "CephExternal",
      },
      off = {
        "CephClient", "CephMon", "CephOSD",
      },
    },
    ["storage-environment.yaml"] = {
      on = {
        "CephClient", "CephMgr", "CephMon", "CephOSD",
      },
    },
    ["storage/cinder-netapp-config.yaml"] = {
      on = {
        "CinderBackendNetApp",
      },
    },
    ["swift-external.yaml"] = {
      off = {
        "ExternalSwiftProxy", "SwiftProxy", "SwiftRingBuilder", "SwiftStorage",
      },
    },
    ["tripleo-validations.yaml"] = {
      off = {
        "TripleoValidations",
      },
    },
    ["undercloud.yaml"] = {
      on = {
        "ComputeNeutronOvsAgent", "ContainerImagePrepare", "DockerRegistry", "MySQL", "NeutronCorePlugin",
        "NeutronDhcpAgent", "NeutronL3Agent", "NeutronMetadataAgent", "NeutronOvsAgent", "OpenStackClients",
        "OsloMessagingNotify", "OsloMessagingRpc", "Podman", "Rsyslog", "SELinux", "Tmpwatch",
      },
      off = {
        "AodhApi", "AodhEvaluator", "AodhListener", "AodhNotifier", "CeilometerAgentCentral",
        "CeilometerAgentIpmi", "CeilometerAgentNotification", "CinderApi", "CinderScheduler", "CinderVolume",
        "Clustercheck", "GnocchiApi", "GnocchiMetricd", "GnocchiStatsd", "HAproxy", "Keepalived",
        "Pacemaker", "PacemakerRemote", "PankoApi", "Redis",
      },
    },
    ["veritas-hyperscale/cinder-veritas-hyperscale-config.yaml"] = {
      on = {
        "CinderBackendVRTSHyperScale",
      },
    },
    ["veritas-hyperscale/veritas-hyperscale-config.yaml"] = {
      off = {
        "VRTSHyperScale",
      },
    },
  },
}

R.master = R.stein

return R
