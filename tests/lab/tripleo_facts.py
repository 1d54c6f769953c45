#!/usr/bin/python3
# Writes apex's per-release TripleO facts from the released sources:
#
# images OUT.lua release=DIR...   (DIR: an unpacked tripleo-common archive)
#   stdlib/tripleo_images_releases.lua, from tripleo-common's own
#   container-images/overcloud_containers.yaml.j2 of each release, rendered
#   with jinja2 once per neutron driver as TripleO's prepare does (no driver,
#   odl, ovn). The Ceph daemon and OpenShift images are left out (apex names
#   Ceph's image itself; OpenShift is not deployed).
#
# tht OUT.lua release=THT:RENDERED:COMMON_VERSION...
#   stdlib/tht_releases.lua: THT is an unpacked tripleo-heat-templates
#   archive, RENDERED its render by tools/process-templates.py (its own
#   roles_data.yaml and network_data.yaml); the env files under
#   environments/ (rendered names) and storage-environment.yaml's
#   resource_registry; the services of roles_data.yaml's roles and how the
#   resource registry (overcloud-resource-registry-puppet.yaml, then each env
#   file) switches them on or off, for the image service filter; the
#   release's default ML2 mechanism driver (NeutronMechanismDrivers: the
#   default registry's parameter_defaults, else the default of
#   puppet/services/neutron-plugin-ml2.yaml).
import os
import sys

import jinja2
import yaml

# Env files a release ships broken, and the fix apex applies to its copy of
# the file (installed over THT's, as Apex installs its storage env file):
# Stein's ODL env file still maps OpenDaylightOvs to the puppet/services
# template that Stein moved under deployment/deprecated/opendaylight/.
FIXES = {
    "stein": {
        "services/neutron-opendaylight.yaml": [
            ("../../puppet/services/opendaylight-ovs.yaml",
             "../../deployment/deprecated/opendaylight/opendaylight-ovs-baremetal-puppet.yaml"),
        ],
    },
}

DRIVERS = [("default", None), ("odl", "odl"), ("ovn", "ovn")]
PREFIX = "NS/centos-binary-"


def release_images(src):
    path = os.path.join(src, "container-images", "overcloud_containers.yaml.j2")
    with open(path) as f:
        template = jinja2.Template(f.read())
    seen = {}
    order = []
    for label, driver in DRIVERS:
        text = template.render(namespace="NS", name_prefix="centos-binary-", name_suffix="", tag="T",
                               neutron_driver=driver)
        for e in yaml.safe_load(text)["container_images_template"]:
            name = e["imagename"]
            if not name.startswith(PREFIX):
                continue
            short = name[len(PREFIX):].rsplit(":", 1)[0]
            if short not in seen:
                seen[short] = {"params": e.get("params") or [], "services": e.get("services") or [], "drivers": []}
                order.append(short)
            seen[short]["drivers"].append(label)
    out = []
    for short in sorted(order):
        e = seen[short]
        drivers = ["all"] if len(e["drivers"]) == len(DRIVERS) else e["drivers"]
        out.append((short, e["params"], e["services"], drivers))
    return out


SERVICE = "OS::TripleO::Services::"


def service_off(target):
    # TripleO's service filter (tripleo-common's build_service_filter): a
    # service mapped to OS::Heat::None, or to a non-containerized template
    # under puppet/services, runs no container.
    return target == "OS::Heat::None" or "puppet/services/" in target


def service_map(reg):
    on, off = [], []
    for k, v in (reg or {}).items():
        if k.startswith(SERVICE) and isinstance(v, str):
            (off if service_off(v) else on).append(k[len(SERVICE):])
    return sorted(on), sorted(off)


def wrapped(indent, xs):
    # A Lua list of strings over lines of at most ~110 characters.
    lines, cur = [], ""
    for x in xs:
        item = '"%s", ' % x
        if cur and len(indent) + len(cur) + len(item) > 110:
            lines.append(indent + cur.rstrip())
            cur = ""
        cur += item
    if cur:
        lines.append(indent + cur.rstrip())
    return lines


def ml2_default(tht, rendered):
    # What NeutronMechanismDrivers is when no env file sets it: Stein's default
    # registry sets it (to ovn), Queens and Rocky leave the template's default.
    with open(os.path.join(rendered, "overcloud-resource-registry-puppet.yaml")) as f:
        value = (yaml.safe_load(f).get("parameter_defaults") or {}).get("NeutronMechanismDrivers")
    if value is None:
        with open(os.path.join(tht, "puppet", "services", "neutron-plugin-ml2.yaml")) as f:
            value = yaml.safe_load(f)["parameters"]["NeutronMechanismDrivers"]["default"]
    if isinstance(value, list):
        value = ",".join(value)
    return str(value)


def lua_list(xs):
    return "{ " + ", ".join('"%s"' % x for x in xs) + " }" if xs else "{}"


def tht_facts(out, args):
    lines = [
        "--- Facts about the tripleo-heat-templates (THT) of each TripleO release apex",
        "--- deploys, from the released THT source archives on PyPI rendered with",
        "--- THT's own tools/process-templates.py (its roles_data.yaml and",
        "--- network_data.yaml): the env files under environments/ (rendered names:",
        "--- a `.j2.yaml` source is listed as the `.yaml` TripleO renders) and",
        "--- storage-environment.yaml's resource_registry (relative to environments/,",
        "--- as THT writes it). `master` is Stein's THT, the release closest to Apex's",
        "--- master of spring 2019. Written by tests/lab/tripleo_facts.py; a test",
        "--- renders each archive and compares.",
        "---",
        "--- `ml2_default` is the mechanism driver neutron gets when no env file sets",
        "--- one. Stein made it OVN: its default registry runs the OVN services",
        "--- (OVNDBs, OVNController, OVNMetadataAgent) and maps the OVS, DHCP, L3 and",
        "--- metadata agents to OS::Heat::None. OPNFV Apex deploys master (Stein's THT)",
        "--- without environments/services/neutron-ovs.yaml, so its nosdn deploys get",
        "--- OVN and its ODL deploys keep OVNMetadataAgent (Stein's ODL env file only",
        "--- switches OVNDBs and OVNController off), with none of those images",
        "--- mirrored. apex is right on purpose: on a release whose default is OVN,",
        "--- a deploy whose neutron driver is not OVN names neutron-ovs.yaml before",
        "--- its SDN's env files (apex.tht.neutron_files).",
        "---@class apex.ThtRelease",
        "---@field release string        the TripleO release whose THT this is",
        "---@field tht_version string    tripleo-heat-templates on PyPI",
        "---@field common_version string tripleo-common of the same release day (its image list)",
        "---@field ml2_default string   NeutronMechanismDrivers when no env file sets it (ovn, openvswitch)",
        "---@field env_files string[]    environments/*, rendered names, sorted",
        "---@field storage_registry table<string, string>  storage-environment.yaml's resource_registry",
        "---@field fixed table<string, string>  env files the release ships broken (relative to environments/) ->",
        "---  the text apex installs instead: THT's file with the fix (a resource_registry target that moved)",
        "---@field roles {name: string, count: integer, services: string[]}[]  roles_data.yaml: each role's",
        "---  CountDefault and ServicesDefault (names without OS::TripleO::Services::)",
        "---@field registry_off string[]  services the default resource registry maps to OS::Heat::None or",
        "---  puppet/services (no container)",
        "---@field env_services table<string, {on: string[], off: string[]}>  per env file (relative to",
        "---  environments/): the services its resource_registry maps to a container template (on) or off",
        "",
        "---@type table<string, apex.ThtRelease>",
        "local R = {}",
        "",
    ]
    for arg in args:
        release, _, rest = arg.partition("=")
        tht, rendered, common = rest.split(":")
        version = os.path.basename(tht.rstrip("/")).rsplit("-", 1)[1]
        envs = sorted(os.path.relpath(os.path.join(d, f), os.path.join(rendered, "environments"))
                      for d, _, files in os.walk(os.path.join(rendered, "environments"))
                      for f in files if f.endswith(".yaml"))
        with open(os.path.join(rendered, "environments", "storage-environment.yaml")) as f:
            reg = yaml.safe_load(f)["resource_registry"]
        lines.append("R.%s = {" % release)
        lines.append('  release = "%s",' % release)
        lines.append('  tht_version = "%s",' % version)
        lines.append('  common_version = "%s",' % common)
        lines.append('  ml2_default = "%s",' % ml2_default(tht, rendered))
        lines.append("  storage_registry = {")
        for k in sorted(reg):
            lines.append('    ["%s"] = "%s",' % (k, reg[k]))
        lines.append("  },")
        lines.append("  fixed = {")
        for path, subs in sorted(FIXES.get(release, {}).items()):
            with open(os.path.join(rendered, "environments", path)) as f:
                text = f.read()
            for old, new in subs:
                assert old in text, "%s %s: %s not in it" % (release, path, old)
                text = text.replace(old, new)
            lines.append('    ["%s"] = [==[\n%s]==],' % (path, text))
        lines.append("  },")
        lines.append("  env_files = {")
        for e in envs:
            lines.append('    "%s",' % e)
        lines.append("  },")
        with open(os.path.join(tht, "roles_data.yaml")) as f:
            roles = yaml.safe_load(f)
        lines.append("  roles = {")
        for r in roles:
            lines.append('    { name = "%s", count = %d, services = {' % (r["name"], int(r.get("CountDefault") or 0)))
            lines.extend(wrapped("      ", [x[len(SERVICE):] for x in r.get("ServicesDefault") or []
                                            if x.startswith(SERVICE)]))
            lines.append("    } },")
        lines.append("  },")
        with open(os.path.join(rendered, "overcloud-resource-registry-puppet.yaml")) as f:
            _, off = service_map(yaml.safe_load(f)["resource_registry"])
        lines.append("  registry_off = {")
        lines.extend(wrapped("    ", off))
        lines.append("  },")
        lines.append("  env_services = {")
        for e in envs:
            with open(os.path.join(rendered, "environments", e)) as f:
                try:
                    doc = yaml.safe_load(f)
                except yaml.YAMLError:
                    continue
            on, off = service_map(doc.get("resource_registry") if isinstance(doc, dict) else None)
            if not on and not off:
                continue
            lines.append('    ["%s"] = {' % e)
            for label, xs in (("on", on), ("off", off)):
                if xs:
                    lines.append("      %s = {" % label)
                    lines.extend(wrapped("        ", xs))
                    lines.append("      },")
            lines.append("    },")
        lines.append("  },")
        lines.append("}")
        lines.append("")
    lines.append("R.master = R.stein")
    lines.append("")
    lines.append("return R")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    if sys.argv[1] == "tht":
        return tht_facts(sys.argv[2], sys.argv[3:])
    assert sys.argv[1] == "images", "usage: tripleo_facts.py images|tht OUT.lua ..."
    del sys.argv[1]
    out = sys.argv[1]
    lines = [
        "--- TripleO's container images per release, as facts: each release's",
        "--- tripleo-common container-images/overcloud_containers.yaml.j2 (the list",
        "--- TripleO's own prepare uses) rendered for no SDN driver, odl and ovn:",
        "--- the image's short name (upstream <namespace>/centos-binary-<image>), the",
        "--- THT parameters naming it, the TripleO services that use it, and the",
        "--- neutron drivers whose set includes it (all, default, odl, ovn). Written by",
        "--- tests/lab/tripleo_facts.py; a test renders the archives and compares.",
        "--- `master` is not here: its list is apex.tripleo_images (spring 2019).",
        "return {",
    ]
    for arg in sys.argv[2:]:
        release, _, src = arg.partition("=")
        version = os.path.basename(src.rstrip("/")).rsplit("-", 1)[1]
        lines.append("  %s = {" % release)
        lines.append('    common_version = "%s",' % version)
        lines.append("    images = {")
        for short, params, services, drivers in release_images(src):
            lines.append('      { image = "%s", params = %s, services = %s, drivers = %s },' % (
                short, lua_list(params), lua_list(services), lua_list(drivers)))
        lines.append("    },")
        lines.append("  },")
    lines.append("}")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


main()
