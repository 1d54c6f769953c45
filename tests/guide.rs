//! The plugin guide's worked example is real: its Lua blocks marked
//! `file=...` are written into an override directory, their test passes, and
//! a plan with the plugin shows its patch.

use std::process::Command;

/// The fenced ```lua file=PATH blocks of a Markdown text.
fn file_blocks(md: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in md.lines() {
        match &mut current {
            None => {
                if let Some(path) = line.strip_prefix("```lua file=") {
                    current = Some((path.trim().to_string(), String::new()));
                }
            }
            Some((path, body)) => {
                if line == "```" {
                    out.push((path.clone(), std::mem::take(body)));
                    current = None;
                } else {
                    body.push_str(line);
                    body.push('\n');
                }
            }
        }
    }
    out
}

#[test]
fn worked_example_runs_its_test_and_changes_the_plan() {
    let md = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/plugin-guide.md"))
        .unwrap();
    let blocks = file_blocks(&md);
    assert_eq!(
        blocks.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
        ["plugins/my_sdn.lua", "tests/my_sdn_test.lua"]
    );
    let d = tempfile::tempdir().unwrap();
    for (path, body) in &blocks {
        let p = d.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    let apex = env!("CARGO_BIN_EXE_apex");
    let lp = d.path().to_str().unwrap();
    let o = Command::new(apex)
        .args(["--lua-path", lp, "test", &format!("{lp}/tests")])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout.lines().any(|l| l == "3 passed, 0 failed"),
        "{stdout}"
    );

    let settings = d.path().join("deploy.yaml");
    std::fs::write(
        &settings,
        "global_params:\n  ha_enabled: true\ndeploy_options:\n  sdn_controller: my_sdn\n",
    )
    .unwrap();
    let tmp = d.path().join("plan");
    let o = Command::new(apex)
        .args([
            "--lua-path",
            lp,
            "deploy",
            "-d",
            settings.to_str().unwrap(),
            "--plan",
            "--tmp-dir",
            tmp.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dockerfile =
        std::fs::read_to_string(tmp.join("containers/neutron-server/Dockerfile")).unwrap();
    assert!(
        dockerfile.contains("RUN yum -y install python-networking-my-sdn\n"),
        "{dockerfile}"
    );
}
