//! Writing plugins and scenarios: scaffolds that pass their own tests and
//! change the plan, and the errors an author meets.

use std::path::Path;
use std::process::{Command, Output};

fn apex(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_apex"))
        .args(args)
        .env_remove("APEX_LUA_PATH")
        .output()
        .expect("run apex")
}

/// `apex --lua-path LP deploy -d SETTINGS --plan --tmp-dir TMP`.
fn plan_with(lp: &Path, settings: &Path, tmp: &Path) -> Output {
    apex(&[
        "--lua-path",
        s(lp),
        "deploy",
        "-d",
        s(settings),
        "--plan",
        "--tmp-dir",
        s(tmp),
    ])
}

fn out(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const SETTINGS: &str = "global_params:\n  ha_enabled: false\ndeploy_options:\n  sdn_controller: mysdn\n  ceph: false\n";

#[test]
fn scaffolded_plugin_passes_its_test_and_changes_the_plan() {
    let d = tempfile::tempdir().unwrap();
    // The override dir does not exist yet: scaffolding makes it.
    let lp = d.path().join("my/lua");
    let o = apex(&["--lua-path", s(&lp), "plugins", "new", "mysdn"]);
    assert!(o.status.success(), "{}", out(&o));

    let o = apex(&["--lua-path", s(&lp), "test", s(&lp.join("tests"))]);
    assert!(o.status.success(), "{}", out(&o));
    // Only results: the plans the tests make print nothing here.
    let stdout = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", out(&o));
    assert!(
        lines[..3].iter().all(|l| l.starts_with("ok   ")),
        "{stdout}"
    );
    assert_eq!(lines[3], "3 passed, 0 failed", "{stdout}");
    // -v lets what the tests print through.
    let o = apex(&["--lua-path", s(&lp), "-v", "test", s(&lp.join("tests"))]);
    assert!(o.status.success(), "{}", out(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("Plan for scenario"), "{stdout}");
    assert!(stdout.ends_with("3 passed, 0 failed\n"), "{stdout}");

    let settings = d.path().join("deploy.yaml");
    write(&settings, SETTINGS);
    let tmp = d.path().join("plan");
    let o = plan_with(&lp, &settings, &tmp);
    assert!(o.status.success(), "{}", out(&o));
    let dockerfile =
        std::fs::read_to_string(tmp.join("containers/neutron-server/Dockerfile")).unwrap();
    assert!(
        dockerfile.contains("RUN yum -y install python-networking-mysdn\n"),
        "{dockerfile}"
    );
    let cmd = std::fs::read_to_string(tmp.join("deploy_command")).unwrap();
    assert!(
        cmd.contains("environments/services/neutron-mysdn.yaml"),
        "{cmd}"
    );

    let o = apex(&["--lua-path", s(&lp), "plugins"]);
    assert!(
        out(&o).contains(&format!("[{}]", lp.join("plugins/mysdn.lua").display())),
        "{}",
        out(&o)
    );

    // Scaffolding never overwrites an author's file.
    let o = apex(&["--lua-path", s(&lp), "plugins", "new", "mysdn"]);
    assert!(!o.status.success());
    assert!(
        out(&o).contains("already exists; not overwriting it"),
        "{}",
        out(&o)
    );
}

#[test]
fn scaffolded_scenario_plans_and_passes_its_test() {
    let d = tempfile::tempdir().unwrap();
    let o = apex(&["--lua-path", s(d.path()), "scenarios", "new", "my-lab"]);
    assert!(o.status.success(), "{}", out(&o));
    let o = apex(&[
        "--lua-path",
        s(d.path()),
        "test",
        s(&d.path().join("tests")),
    ]);
    assert!(o.status.success(), "{}", out(&o));
    let tmp = d.path().join("plan");
    let o = apex(&[
        "--lua-path",
        s(d.path()),
        "deploy",
        "my-lab",
        "--plan",
        "--tmp-dir",
        s(&tmp),
    ]);
    assert!(o.status.success(), "{}", out(&o));
    assert!(tmp.join("deploy_command").is_file());
    let o = apex(&["--lua-path", s(d.path()), "scenarios"]);
    assert!(out(&o).contains("my-lab"), "{}", out(&o));
}

#[test]
fn unknown_sdn_controller_lists_plugins_and_where_they_were_searched() {
    let d = tempfile::tempdir().unwrap();
    let lp = d.path().join("lua");
    write(
        &lp.join("plugins/other.lua"),
        "return { description = 'x' }",
    );
    let settings = d.path().join("deploy.yaml");
    write(&settings, &SETTINGS.replace("mysdn", "nosuch"));
    let o = plan_with(&lp, &settings, &d.path().join("t"));
    assert!(!o.status.success());
    let text = out(&o);
    assert!(text.contains("deploy_options.sdn_controller"), "{text}");
    assert!(text.contains("unknown plugin \"nosuch\""), "{text}");
    assert!(
        text.contains("opendaylight") && text.contains("other"),
        "{text}"
    );
    assert!(
        text.contains(&lp.join("plugins").display().to_string()),
        "{text}"
    );
    assert!(
        !d.path().join("t/deploy_command").exists(),
        "something was written"
    );
}

#[test]
fn a_hook_returning_the_wrong_shape_names_plugin_hook_and_field() {
    let d = tempfile::tempdir().unwrap();
    let lp = d.path().join("lua");
    write(
        &lp.join("plugins/mysdn.lua"),
        "return { description = 'bad', kind = 'sdn', patches = function() return { { image = 'neutron-server', reason = 'r', ops = 'RUN x' } } end }",
    );
    let settings = d.path().join("deploy.yaml");
    write(&settings, SETTINGS);
    let o = plan_with(&lp, &settings, &d.path().join("t"));
    assert!(!o.status.success());
    let text = out(&o);
    assert!(text.contains("plugin mysdn"), "{text}");
    assert!(text.contains("hook patches"), "{text}");
    assert!(text.contains("[1].ops"), "{text}");
}

#[test]
fn a_lua_error_in_a_plugin_shows_the_authors_file_and_line_first() {
    let d = tempfile::tempdir().unwrap();
    let lp = d.path().join("lua");
    let plugin = lp.join("plugins/mysdn.lua");
    write(
        &plugin,
        "local M = { description = 'buggy', kind = 'sdn' }\nfunction M.env_files(ctx)\n  return ctx.nothing.here\nend\nreturn M\n",
    );
    let settings = d.path().join("deploy.yaml");
    write(&settings, SETTINGS);
    let o = plan_with(&lp, &settings, &d.path().join("t"));
    assert!(!o.status.success());
    let text = out(&o);
    let at = format!("{}:3:", plugin.display());
    let first_location = text
        .find(&at)
        .unwrap_or_else(|| panic!("no {at} in {text}"));
    assert!(
        !text[..first_location].contains(".lua:"),
        "another file:line comes before the author's:\n{text}"
    );
}

#[test]
fn apex_test_shows_what_a_failed_case_printed_and_nothing_of_a_passed_one() {
    let d = tempfile::tempdir().unwrap();
    let file = d.path().join("tests/print_test.lua");
    write(
        &file,
        "local t = require('apex.test')\n\
         t.it('passes quietly', function() print('from the passing case') end)\n\
         t.it('fails loudly', function()\n\
           for i = 1, 50 do io.write('line ', i, '\\n') end\n\
           error('boom')\n\
         end)\n",
    );
    let o = apex(&["test", s(&file)]);
    assert!(!o.status.success(), "{}", out(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(!stdout.contains("from the passing case"), "{stdout}");
    assert!(stdout.contains("FAIL fails loudly"), "{stdout}");
    // The failed case's last lines, not all of them.
    assert!(stdout.contains("output (last 40 of 50 lines):"), "{stdout}");
    assert!(stdout.contains("    line 50\n"), "{stdout}");
    assert!(!stdout.contains("    line 10\n"), "{stdout}");
    assert!(stdout.ends_with("1 passed, 1 failed\n"), "{stdout}");
}

/// A listing into a pipe whose reader is gone (`apex scenarios | head -1`)
/// ends quietly with success, as other command-line tools do, not with a
/// panic; the pipe's reader is closed before apex starts, so the write fails
/// every time.
#[test]
fn listings_into_a_closed_pipe_end_quietly() {
    for args in [&["scenarios"][..], &["plugins"], &["completions", "bash"]] {
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let o = Command::new(env!("CARGO_BIN_EXE_apex"))
            .args(args)
            .env_remove("APEX_LUA_PATH")
            .stdout(writer)
            .output()
            .expect("run apex");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "apex {args:?}: {:?}\n{err}", o.status);
        assert!(!err.contains("panicked"), "apex {args:?}:\n{err}");
    }
}
