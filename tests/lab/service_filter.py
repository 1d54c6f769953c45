#!/usr/bin/python3
# TripleO's container image service filter, computed from a real THT tree for
# a plan of apex, and compared with the images the plan mirrors:
#
#   service_filter.py THT_DIR COMMON_DIR PLAN_DIR...
#
# (each plan's command from its deploy_command file).
# As tripleo-common's build_service_filter (Stein; Queens' and Rocky's keep
# the services mapped to docker/services, the same set for their registries):
# the services of every role whose count is above 0 (--control-scale and
# --compute-scale for Controller and Compute, else CountDefault), from
# THT's roles_data.yaml as the run leaves it (the Ceph OSD on Controller and
# Compute), minus those the merged resource registry (THT's default
# registry rendered with the roles and networks, then every -e file in
# order) maps to OS::Heat::None or to a puppet/services template. The images
# are tripleo-common's overcloud_containers.yaml.j2 of the release, rendered
# for the plan's neutron driver: those with an enabled service.
#
# Fails (exit 1, naming the plan, service and image) when an image an enabled
# service uses is not mirrored, when a plan mirrors an image for a service
# TripleO does not enable, or when an enabled service is one that only the
# images of another driver serve (an image of another driver's list naming
# it, with no THT parameter of the plan driver's list: OVNController on an
# ML2/OVS deploy); prints "<plan> <mirrored> <needed> <listed>" a line per
# plan otherwise.
import os
import sys

import jinja2
import yaml

SERVICE = "OS::TripleO::Services::"
PREFIX = "NS/centos-binary-"
CEPH_OSD = SERVICE + "CephOSD"


def main():
    tht, common = sys.argv[1:3]
    failed = []
    lists = {}
    for plan in sys.argv[3:]:
        with open(os.path.join(plan, "deploy_command")) as f:
            cmd = f.read().split()
        errors, counts = check(plan, tht, common, cmd, lists)
        failed.extend("%s: %s" % (os.path.basename(plan), e) for e in errors)
        print(os.path.basename(plan), *counts)
    if failed:
        sys.stderr.write("\n".join(failed) + "\n")
        sys.exit(1)


def image_list(common, driver, lists):
    # tripleo-common's list rendered for a driver: short name -> services.
    if driver not in lists:
        path = os.path.join(common, "container-images", "overcloud_containers.yaml.j2")
        with open(path) as f:
            rendered = jinja2.Template(f.read()).render(namespace="NS", name_prefix="centos-binary-",
                                                        name_suffix="", tag="T", neutron_driver=driver)
        out = {}
        for e in yaml.safe_load(rendered)["container_images_template"]:
            name = e["imagename"]
            if name.startswith(PREFIX):
                short = name[len(PREFIX):].rsplit(":", 1)[0]
                if short != "daemon":
                    out[short] = (set(e.get("services") or []), set(e.get("params") or []))
        lists[driver] = out
    return lists[driver]


def base(tht, lists):
    # THT's roles (as the run leaves them) and its default registry, once.
    if "base" not in lists:
        with open(os.path.join(tht, "roles_data.yaml")) as f:
            roles = yaml.safe_load(f)
        for r in roles:
            if r["name"] in ("Controller", "Compute") and CEPH_OSD not in r["ServicesDefault"]:
                r["ServicesDefault"].append(CEPH_OSD)
        with open(os.path.join(tht, "network_data.yaml")) as f:
            networks = yaml.safe_load(f)
        with open(os.path.join(tht, "overcloud-resource-registry-puppet.j2.yaml")) as f:
            text = jinja2.Template(f.read()).render(roles=roles, networks=networks)
        lists["base"] = (roles, yaml.safe_load(text)["resource_registry"])
    return lists["base"]


def check(plan, tht, common, cmd, lists):
    roles, default = base(tht, lists)
    counts = {}
    files = []
    for i, a in enumerate(cmd):
        if a == "--control-scale":
            counts["Controller"] = int(cmd[i + 1])
        elif a == "--compute-scale":
            counts["Compute"] = int(cmd[i + 1])
        elif a == "-e":
            p = cmd[i + 1]
            files.append(p if p.startswith("/") else os.path.join(plan, p))
    registry = dict(default)
    for p in files:
        with open(p) as f:
            doc = yaml.safe_load(f) or {}
        registry.update(doc.get("resource_registry") or {})
    enabled = {}
    for r in roles:
        if counts.get(r["name"], r.get("CountDefault", 0)) > 0:
            for s in r.get("ServicesDefault", []):
                enabled.setdefault(s, r["name"])
    for s, target in registry.items():
        if s in enabled and isinstance(target, str) and (target == "OS::Heat::None" or "puppet/services/" in target):
            del enabled[s]

    with open(os.path.join(plan, "image_list.yaml")) as f:
        listing = yaml.safe_load(f)
    why = listing.get("why") or {}
    mirrored = set(why)
    driver = listing.get("driver")
    listed = {k: v[0] for k, v in image_list(common, driver, lists).items()}
    params = set().union(*(v[1] for v in image_list(common, driver, lists).values()))
    served = set().union(*listed.values())
    needed = {}
    for short, services in listed.items():
        users = sorted(services & set(enabled))
        if users:
            needed[short] = users
    errors = []
    for img, users in sorted(needed.items()):
        if img not in mirrored:
            errors.append("service %s (role %s) uses image %s, which the plan does not mirror"
                          % (users[0], enabled[users[0]], img))
    # Services of other drivers: their images are in no list apex mirrors from.
    for other in (None, "odl", "ovn"):
        if other == driver:
            continue
        for short, (services, img_params) in sorted(image_list(common, other, lists).items()):
            if short in listed or img_params & params:
                continue
            for s in sorted(services & set(enabled) - served):
                errors.append("service %s (role %s) is enabled; only image %s of driver %s serves it"
                              % (s, enabled[s], short, other or "default"))
    if driver != "ovn":
        ovn = sorted(s for s in enabled if s.startswith(SERVICE + "OVN"))
        if ovn:
            errors.append("OVN services enabled for driver %s: %s" % (driver or "default", ", ".join(ovn)))
    for img, reason in sorted(why.items()):
        if reason.startswith("service ") and img not in needed and img in listed:
            errors.append("the plan mirrors %s for %s, which TripleO does not enable" % (img, reason))
        s = reason[len("service "):]
        if reason.startswith("service ") and s not in enabled:
            errors.append("the plan says %s is enabled (for %s); TripleO does not enable it" % (s, img))
    return errors, (len(mirrored), len(needed), len(listed))


main()
