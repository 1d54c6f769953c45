//! What apex hands TripleO against the real tripleo-heat-templates of each
//! release: the released THT and tripleo-common archives (PyPI, pinned and
//! cached by `apex_lab::tht`) are unpacked once per test process; THT is
//! rendered with its own `tools/process-templates.py`. The shipped facts
//! (stdlib/tht_releases.lua, stdlib/tripleo_images_releases.lua) must be what
//! the archives say, and the plan of every shipped scenario, on each release,
//! must resolve there as Heat fetches it: every `-e` file and every
//! resource_registry target (the lab stand-in's resolver, which renders with
//! the plan's own network_data.yaml); and the images it mirrors are those
//! TripleO's service filter keeps on that THT (tests/lab/service_filter.py),
//! with no service enabled that only another neutron driver's images serve
//! (no OVN service on Stein but with OVN).

#[path = "common/output.rs"]
mod output;
use output::{read, text};

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const APEX: &str = env!("CARGO_BIN_EXE_apex");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const THT: &str = "/usr/share/openstack-tripleo-heat-templates";

/// The unpacked archives of every release, once per test process.
struct Sources {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

fn sources() -> &'static Sources {
    static S: OnceLock<Sources> = OnceLock::new();
    S.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        for rel in &apex_lab::tht::RELEASES {
            for a in [&rel.tht, &rel.common] {
                let archive = rt
                    .block_on(apex_lab::tht::archive(a))
                    .unwrap_or_else(|e| panic!("{}: {e:#}", a.name));
                apex_lab::tht::install(&archive, a, &root.join(a.name)).unwrap();
            }
        }
        Sources { _dir: dir, root }
    })
}

fn python(args: &[&str]) {
    let out = Command::new("/usr/bin/python3")
        .args(args)
        .output()
        .expect("/usr/bin/python3 (tests/lab/install.sh installs python3-yaml and python3-jinja2)");
    assert!(
        out.status.success(),
        "python3 {args:?}:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn shipped_facts_are_what_each_releases_own_sources_say() {
    let s = sources();
    let out = tempfile::tempdir().unwrap();
    let script = format!("{ROOT}/tests/lab/tripleo_facts.py");
    let mut tht_args = vec![];
    let mut image_args = vec![];
    for rel in &apex_lab::tht::RELEASES {
        let src = s.root.join(rel.tht.name);
        let rendered = out.path().join(format!("rendered-{}", rel.release));
        let src_s = src.to_str().unwrap();
        python(&[
            &format!("{src_s}/tools/process-templates.py"),
            "-p",
            src_s,
            "-r",
            "roles_data.yaml",
            "-n",
            "network_data.yaml",
            "-o",
            rendered.to_str().unwrap(),
        ]);
        let common_version = rel.common.name.rsplit('-').next().unwrap();
        tht_args.push(format!(
            "{}={}:{}:{common_version}",
            rel.release,
            src.display(),
            rendered.display()
        ));
        image_args.push(format!(
            "{}={}",
            rel.release,
            s.root.join(rel.common.name).display()
        ));
    }
    let tht_out = out.path().join("tht_releases.lua");
    let mut a = vec![script.as_str(), "tht", tht_out.to_str().unwrap()];
    a.extend(tht_args.iter().map(String::as_str));
    python(&a);
    let img_out = out.path().join("tripleo_images_releases.lua");
    let mut a = vec![script.as_str(), "images", img_out.to_str().unwrap()];
    a.extend(image_args.iter().map(String::as_str));
    python(&a);
    for (got, shipped) in [
        (&tht_out, "stdlib/tht_releases.lua"),
        (&img_out, "stdlib/tripleo_images_releases.lua"),
    ] {
        assert!(
            read(got) == read(format!("{ROOT}/{shipped}")),
            "{shipped} is not what the released sources say (regenerate it with tests/lab/tripleo_facts.py; diff {} {ROOT}/{shipped})",
            got.display()
        );
    }
}

/// Plans `scenario` (a path) with the site's THT at `tht` into `tmp`.
fn plan(scenario: &Path, tht: &Path, tmp: &Path) -> String {
    let site = tmp.with_extension("site-settings.yaml");
    std::fs::write(
        &site,
        format!("undercloud:\n  tht_dir: {}\n", tht.display()),
    )
    .unwrap();
    let out = Command::new(APEX)
        .env_remove("APEX_LUA_PATH")
        .args(["deploy", "--plan", "--tmp-dir"])
        .arg(tmp)
        .arg("-s")
        .arg(&site)
        .arg(scenario)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "plan of {}:\n{}{}",
        scenario.display(),
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

#[test]
fn every_shipped_scenario_resolves_in_the_rendered_tht_of_each_release() {
    let s = sources();
    let work = tempfile::tempdir().unwrap();
    let resolver = format!("{ROOT}/lab/src/tht_resolve.py");
    let cache = work.path().join("rendered");
    let mut scenarios: Vec<PathBuf> = std::fs::read_dir(format!("{ROOT}/scripts/scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    scenarios.sort();
    assert!(scenarios.len() >= 9, "{scenarios:?}");
    for (rel_index, rel) in apex_lab::tht::RELEASES.iter().enumerate() {
        // The undercloud's THT of the release (apex installs its own files over it, as the run does).
        let tht = work.path().join(format!("tht-{}", rel.release));
        let archive = apex_lab::tht::cache_dir().join(format!("{}.tar.gz", rel.tht.name));
        apex_lab::tht::install(&archive, &rel.tht, &tht).unwrap();
        assert!(s.root.join(rel.tht.name).is_dir());
        let os_version = if rel.release == "stein" {
            "master"
        } else {
            rel.release
        };
        // Plan every scenario first (each in its own tmp dir, with one
        // overcloud SSH key copied in, so none is generated again).
        let mut plans = Vec::new();
        for path in &scenarios {
            let name = path.file_stem().unwrap().to_str().unwrap().to_string();
            let body = read(path);
            let i = body
                .find("os_version = \"")
                .expect("a scenario names its os_version");
            let end = i + body[i + 14..].find('"').unwrap() + 15;
            let scenario = work.path().join(format!("{name}-{}.lua", rel.release));
            std::fs::write(
                &scenario,
                format!(
                    "{}os_version = \"{os_version}\"{}",
                    &body[..i],
                    &body[end..]
                ),
            )
            .unwrap();
            let tmp = work.path().join(format!("plan-{name}-{}", rel.release));
            if let Some(key) = plans
                .first()
                .map(|(_, t): &(String, PathBuf)| t.join("overcloud_ssh"))
            {
                std::fs::create_dir_all(tmp.join("overcloud_ssh")).unwrap();
                for f in std::fs::read_dir(&key).unwrap() {
                    let f = f.unwrap().file_name();
                    std::fs::copy(key.join(&f), tmp.join("overcloud_ssh").join(&f)).unwrap();
                }
            }
            let summary = plan(&scenario, &tht, &tmp);
            assert!(
                !summary.contains("not known offline"),
                "{name} on {}: {summary}",
                rel.release
            );
            assert!(
                summary.contains(&format!(
                    "THT assumed: tripleo-heat-templates {} ({}",
                    rel.version, rel.release
                )),
                "{name} on {}: {summary}",
                rel.release
            );
            plans.push((name, tmp));
        }
        // What the runs install into THT (plan files named by a THT -e
        // path), once: the same file from every scenario that ships it.
        for (name, tmp) in &plans {
            let cmd = read(tmp.join("deploy_command"));
            for w in cmd.split_whitespace().collect::<Vec<_>>().windows(2) {
                let base = w[1].rsplit('/').next().unwrap();
                if w[0] == "-e"
                    && w[1].starts_with(tht.to_str().unwrap())
                    && tmp.join(base).is_file()
                {
                    let new = read(tmp.join(base));
                    let marker = PathBuf::from(format!("{}.apex-installed", w[1]));
                    if marker.exists() {
                        // The same but for the header line naming the scenario.
                        let body = |t: &str| t.lines().skip(1).collect::<Vec<_>>().join("\n");
                        assert_eq!(
                            body(&read(w[1])),
                            body(&new),
                            "{name}: {base} differs between scenarios"
                        );
                    } else {
                        std::fs::write(w[1], new).unwrap();
                        std::fs::write(&marker, "").unwrap();
                    }
                }
            }
        }
        for (name, tmp) in &plans {
            let cmd = read(tmp.join("deploy_command"));
            let args: Vec<&str> = cmd.split_whitespace().collect();
            let out = Command::new("/usr/bin/python3")
                .arg(&resolver)
                .arg(tmp)
                .arg(&cache)
                .arg(&tht)
                .arg("--")
                .args(&args)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{name} on {} ({}): {}",
                rel.release,
                rel.version,
                text(&out.stderr)
            );
            assert!(
                !cmd.contains(THT),
                "{name}: the site's THT dir is used: {cmd}"
            );
            // Stein's THT defaults to OVN: ML2/OVS for every other SDN
            // (resolved above; the service filter below finds no OVN service).
            assert_eq!(
                cmd.contains("/environments/services/neutron-ovs.yaml"),
                rel.release == "stein" && !name.contains("-ovn-"),
                "{name} on {}: {cmd}",
                rel.release
            );
        }
        // TripleO's service filter on this THT, for every plan at once:
        // every image an enabled service uses is mirrored, and only those
        // (besides the patched and plugin-named ones).
        let out = Command::new("/usr/bin/python3")
            .arg(format!("{ROOT}/tests/lab/service_filter.py"))
            .arg(&tht)
            .arg(s.root.join(rel.common.name))
            .args(plans.iter().map(|(_, tmp)| tmp))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "on {}: images of the enabled services:\n{}",
            rel.release,
            text(&out.stderr)
        );
        let lines = text(&out.stdout);
        assert_eq!(lines.lines().count(), plans.len(), "{lines}");
        for line in lines.lines() {
            let n: Vec<usize> = line
                .split_whitespace()
                .skip(1)
                .map(|n| n.parse().unwrap())
                .collect();
            // mirrored, needed by the services, listed for the driver
            assert!(
                n.len() == 3 && n[1] > 20 && n[0] < n[2],
                "on {}: {line}",
                rel.release
            );
        }
        let renders = std::fs::read_dir(&cache).unwrap().count();
        assert!(
            renders <= 3 * (rel_index + 1),
            "{renders} renders of THT so far"
        );
    }
}

#[test]
fn a_feature_the_release_does_not_have_is_refused_at_plan_time() {
    let dir = tempfile::tempdir().unwrap();
    let settings = |os: &str| {
        let p = dir.path().join(format!("congress-{os}.yaml"));
        std::fs::write(
            &p,
            format!(
                "global_params: {{ha_enabled: false}}\ndeploy_options: {{os_version: {os}, sdn_controller: false, congress: true}}\n"
            ),
        )
        .unwrap();
        p
    };
    for os in ["master", "stein"] {
        let tmp = dir.path().join(format!("plan-{os}"));
        let out = Command::new(APEX)
            .env_remove("APEX_LUA_PATH")
            .args(["deploy", "--plan", "--tmp-dir"])
            .arg(&tmp)
            .arg("-d")
            .arg(settings(os))
            .output()
            .unwrap();
        let err = text(&out.stderr);
        assert!(!out.status.success(), "congress on {os} planned");
        let release = if os == "master" {
            "stein; os_version master"
        } else {
            "stein"
        };
        assert!(
            err.contains(&format!(
                "deploy_options.congress needs environments/services/congress.yaml, which tripleo-heat-templates 10.6.2 ({release}) does not have"
            )),
            "{err}"
        );
        assert!(!tmp.exists(), "nothing is written: {}", tmp.display());
    }
    let tmp = dir.path().join("plan-queens");
    let out = Command::new(APEX)
        .env_remove("APEX_LUA_PATH")
        .args(["deploy", "--plan", "--tmp-dir"])
        .arg(&tmp)
        .arg("-d")
        .arg(settings("queens"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(read(tmp.join("deploy_command")).contains("/environments/services/congress.yaml"));
    // Queens' own image list: congress-api is mirrored, as Queens names it.
    assert!(read(tmp.join("image_list.yaml")).contains("centos-binary-congress-api:"));
}
