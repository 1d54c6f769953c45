//! `APEX_LAB_RECORD`: what a test run leaves running for its later test
//! binaries, written down so the test command can stop it at the end.
//!
//! Labs outlive the process that brings them up on purpose (the next test
//! binary reattaches instead of starting again), so no test can stop them.
//! When `APEX_LAB_RECORD` names a file (tests/run.sh sets it), every
//! [`crate::Lab::up`] appends `lab DIR` and every lab engine started appends
//! `engine DIR`; the test command reads it on exit, success or failure, and
//! runs `apex-lab down` on each.

use std::io::Write as _;
use std::path::Path;

/// The variable naming the record file.
pub const VAR: &str = "APEX_LAB_RECORD";

/// Appends `KIND DIR` to the record file, if one is named.
pub(crate) fn note(kind: &str, dir: &Path) {
    let Some(file) = std::env::var_os(VAR).filter(|v| !v.is_empty()) else {
        return;
    };
    let line = format!("{kind} {}\n", dir.display());
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&file)
        .and_then(|mut f| f.write_all(line.as_bytes()));
    if let Err(e) = written {
        tracing::warn!(
            "lab: cannot record {kind} {} in {}: {e}",
            dir.display(),
            Path::new(&file).display()
        );
    }
}
