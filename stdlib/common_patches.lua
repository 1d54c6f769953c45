--- Apex's common patches: upstream changes every deploy of a release gets,
--- whatever its scenario (Apex ships them as config/deploy/common-patches.yaml
--- and merges them into global_params.patches; see patches.merge_common).
--- Data only, per OpenStack release; a release without an entry has none.
--- A `--patches-file` in Apex's format replaces this list (patches.load_patches_file).
---@type table<string, {undercloud: apex.Patch[], overcloud: apex.Patch[]}>
return {
  master = {
    undercloud = {
      { ["change-id"] = "I2e0a40d7902f592e4b7bd727f57048111e0bea36", project = "openstack/tripleo-common" },
      { ["change-id"] = "Iaa2276aadae351fbc138de258c51d786f69e4395", project = "openstack/tripleo-common" },
      { ["change-id"] = "I8d1db69d520da069099f919f286e6a553dd645a5", project = "openstack/tripleo-heat-templates" },
      { ["change-id"] = "Ia51a825d11bd9b94d0110f13cdf2a6bbcedf6194", project = "openstack/tripleo-common" },
    },
    overcloud = {
      { ["change-id"] = "Ie988ba6a2d444a614e97c0edf5fce24b23970310", project = "openstack/puppet-tripleo" },
      { ["change-id"] = "I93e3d355625508fdc42f44bdd358f3ba86fbd8d7", project = "openstack/puppet-tripleo" },
    },
  },
  rocky = {
    undercloud = {
      { ["change-id"] = "I2e0a40d7902f592e4b7bd727f57048111e0bea36", project = "openstack/tripleo-common",
        branch = "master" },
      { ["change-id"] = "Iaa2276aadae351fbc138de258c51d786f69e4395", project = "openstack/tripleo-common",
        branch = "master" },
      { ["change-id"] = "I8d1db69d520da069099f919f286e6a553dd645a5", project = "openstack/tripleo-heat-templates" },
      { ["change-id"] = "Ia51a825d11bd9b94d0110f13cdf2a6bbcedf6194", project = "openstack/tripleo-common" },
    },
    overcloud = {
      { ["change-id"] = "Ie988ba6a2d444a614e97c0edf5fce24b23970310", project = "openstack/puppet-tripleo",
        branch = "master" },
      { ["change-id"] = "I93e3d355625508fdc42f44bdd358f3ba86fbd8d7", project = "openstack/puppet-tripleo",
        branch = "master" },
    },
  },
  queens = {
    undercloud = {
      { ["change-id"] = "I966bf7f6f8d1cbc656abfad59e8bb927e1aa53c2", project = "openstack/tripleo-common" },
    },
    overcloud = {
      { ["change-id"] = "Ie988ba6a2d444a614e97c0edf5fce24b23970310", project = "openstack/puppet-tripleo" },
      { ["change-id"] = "I93e3d355625508fdc42f44bdd358f3ba86fbd8d7", project = "openstack/puppet-tripleo" },
    },
  },
}
