#!/usr/bin/python3
# The lab `openstack overcloud deploy` stand-in's Heat part: renders the
# undercloud's THT as TripleO does at deploy time (THT's own
# tools/process-templates.py with the deploy's roles_data.yaml and
# network_data.yaml), then fetches every -e file and every resource_registry
# target of those files from the rendered templates, failing as Heat does
# ("Could not fetch contents for file://...") on the first it cannot.
#
# usage: tht-resolve WORK_DIR CACHE_DIR THT_DIR... -- <openstack argv>
# The THT root is the first THT_DIR a -e file lies under (the lab holds one
# THT per release), else the first. Renders are cached by the THT tree's
# file list (path, size, mtime) and the roles/network data, at most KEEP.
import hashlib
import os
import shutil
import subprocess
import sys

import yaml

KEEP = 6
DEFAULT_THT = "/usr/share/openstack-tripleo-heat-templates"


def fail(msg):
    print("openstack: " + msg, file=sys.stderr)
    sys.exit(1)


def parse(argv):
    envs, networks, roles = [], None, None
    i = 0
    while i < len(argv):
        a = argv[i]
        nxt = argv[i + 1] if i + 1 < len(argv) else None
        if a in ("-e", "--environment-file"):
            envs.append(nxt)
            i += 2
            continue
        if a.startswith("--environment-file="):
            envs.append(a.split("=", 1)[1])
        elif a.startswith("-e") and len(a) > 2:
            envs.append(a[2:])
        elif a in ("-n", "--networks-file"):
            networks = nxt
            i += 2
            continue
        elif a in ("-r", "--roles-file"):
            roles = nxt
            i += 2
            continue
        i += 1
    return envs, networks, roles


def tree_key(root, extra):
    h = hashlib.sha256(root.encode())
    for d, dirs, files in os.walk(root):
        dirs[:] = sorted(x for x in dirs if not x.startswith("."))
        for f in sorted(files):
            p = os.path.join(d, f)
            st = os.stat(p)
            h.update(("%s %d %d\n" % (os.path.relpath(p, root), st.st_size, st.st_mtime_ns)).encode())
    for path in extra:
        with open(path, "rb") as fh:
            h.update(hashlib.sha256(fh.read()).digest())
    return h.hexdigest()[:24]


def render(root, roles, networks, cache):
    key = tree_key(root, [roles, networks])
    out = os.path.join(cache, key)
    if os.path.isdir(out):
        os.utime(out)
        return out
    os.makedirs(cache, exist_ok=True)
    tmp = out + ".tmp%d" % os.getpid()
    shutil.rmtree(tmp, ignore_errors=True)
    r = subprocess.run(
        [sys.executable, os.path.join(root, "tools/process-templates.py"), "-p", root, "-r", roles,
         "-n", networks, "-o", tmp],
        capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        fail("rendering the templates with %s failed (roles %s, networks %s):\n%s" % (
            os.path.join(root, "tools/process-templates.py"), roles, networks, (r.stderr or r.stdout)[-4000:]))
    os.rename(tmp, out)
    renders = sorted((os.path.getmtime(os.path.join(cache, d)), d) for d in os.listdir(cache)
                     if os.path.isdir(os.path.join(cache, d)) and ".tmp" not in d)
    for _, d in renders[:-KEEP]:
        shutil.rmtree(os.path.join(cache, d), ignore_errors=True)
    return out


def main():
    sep = sys.argv.index("--")
    work, cache, tht_dirs = sys.argv[1], sys.argv[2], sys.argv[3:sep]
    argv = sys.argv[sep + 1:]
    envs, networks, roles = parse(argv)
    in_work = lambda p: p if os.path.isabs(p) else os.path.normpath(os.path.join(work, p))
    envs = [in_work(e) for e in envs if e]
    root = next((d for d in tht_dirs for e in envs if e.startswith(d + "/")), tht_dirs[0])
    roles = in_work(roles) if roles else os.path.join(root, "roles_data.yaml")
    networks = in_work(networks) if networks else os.path.join(root, "network_data.yaml")
    for f in (roles, networks):
        if not os.path.isfile(f):
            fail("Could not fetch contents for file://%s" % f)
    rendered = render(root, roles, networks, cache)

    def plan_path(p):
        # As tripleoclient: a path under the templates dir (or THT's default
        # dir, which stands for it here) is the rendered plan's file.
        for d in (root, DEFAULT_THT):
            if p == d or p.startswith(d + "/"):
                return rendered + p[len(d):]
        return p

    for env in envs:
        got = plan_path(env)
        if not os.path.isfile(got):
            fail("Could not fetch contents for file://%s (environment file)" % env)
        try:
            with open(got) as fh:
                doc = yaml.safe_load(fh) or {}
        except yaml.YAMLError as e:
            fail("environment file %s is not YAML: %s" % (env, e))
        registry = doc.get("resource_registry") if isinstance(doc, dict) else None
        if not isinstance(registry, dict):
            continue
        for name, target in sorted(registry.items()):
            if not isinstance(target, str) or not target.endswith((".yaml", ".yml")):
                continue  # a resource type (OS::Heat::None, ...) or a per-resource section
            t = target[len("file://"):] if target.startswith("file://") else target
            if os.path.isabs(t):
                shown, full = t, plan_path(t)
            else:
                shown = os.path.normpath(os.path.join(os.path.dirname(env), t))
                full = os.path.normpath(os.path.join(os.path.dirname(got), t))
            if not os.path.isfile(full):
                fail("Could not fetch contents for file://%s (resource_registry of %s: %s: %s)" % (
                    shown, env, name, target))


main()
