//! `apex lab ARGS` runs the lab's own binary, `apex-lab ARGS` (the lab is a
//! crate of its own so the deploy binary carries no HTTP server): the
//! arguments, `-v` and `--log-file` pass through, the exit status comes back,
//! and a missing `apex-lab` is an error saying how to get it. A stand-in
//! script plays apex-lab; the lab itself is tested in lab/tests/lab.rs.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output};

fn apex_lab(bin: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_apex"))
        .args(args)
        .env("APEX_LAB_BIN", bin)
        .output()
        .expect("run apex")
}

fn stand_in(dir: &Path, status: i32) -> std::path::PathBuf {
    let bin = dir.join("apex-lab");
    std::fs::write(
        &bin,
        format!("#!/bin/sh\necho \"apex-lab $*\"\nexit {status}\n"),
    )
    .unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

#[test]
fn apex_lab_runs_the_apex_lab_binary_with_its_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let bin = stand_in(dir.path(), 0);
    let out = apex_lab(&bin, &["lab", "up", "--dir", "/tmp/x"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "apex-lab up --dir /tmp/x\n"
    );

    let out = apex_lab(
        &bin,
        &["-v", "--log-file", "/tmp/l.log", "lab", "down", "--engine"],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "apex-lab -v --log-file /tmp/l.log down --engine\n"
    );
    let out = apex_lab(&bin, &["lab", "--help"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "apex-lab --help\n");

    let failing = stand_in(dir.path(), 3);
    let out = apex_lab(&failing, &["lab", "down"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
}

#[test]
fn a_missing_apex_lab_says_how_to_get_it() {
    let dir = tempfile::tempdir().unwrap();
    // A copy of apex alone in a dir, with a PATH that has no apex-lab.
    let apex = dir.path().join("apex");
    std::fs::copy(env!("CARGO_BIN_EXE_apex"), &apex).unwrap();
    let out = Command::new(&apex)
        .args(["lab", "up"])
        .env_remove("APEX_LAB_BIN")
        .env("PATH", dir.path().join("none"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("apex-lab") && err.contains("cargo install --path lab"),
        "{err}"
    );
}
