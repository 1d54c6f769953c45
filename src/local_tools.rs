//! Running local programs (qemu-img, mkfs.ext4, ssh-keygen, openssl, ...)
//! with errors that name the tool, the package and the tail of its stderr.
//! Shared by image editing, SSH and the lab.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::bail;

/// The full path of `program` on PATH, if installed.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// Runs `cmd` to completion; on failure the error holds the command line and
/// the last lines of its stderr. `package` names what installs the program.
pub fn run(mut cmd: Command, package: &str) -> anyhow::Result<Vec<u8>> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let line = format!(
        "{program} {}",
        cmd.get_args()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    );
    tracing::debug!(command = %line, "running");
    let out = match cmd.output() {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("{program} is not installed (Debian package {package})")
        }
        Err(e) => bail!("cannot run {program}: {e}"),
    };
    if !out.status.success() {
        bail!(
            "`{line}` failed ({}): {}",
            out.status,
            tail(&out.stderr, 10)
        );
    }
    Ok(out.stdout)
}

/// The last `lines` lines of `bytes`, trimmed, for error messages.
pub fn tail(bytes: &[u8], lines: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let all: Vec<&str> = text.trim_end().lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Whether `pid` runs (not a zombie) and its command line contains `marker`
/// (guards against a recycled PID). An empty command line is a passing state:
/// `spawn` returns while the child's exec is still setting up its new stack,
/// so that is read again (for up to 0.5 s) rather than taken for "gone".
pub fn alive(pid: u32, marker: &str) -> bool {
    for _ in 0..50 {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            return false;
        };
        let state = stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next());
        if matches!(state, Some("Z" | "X") | None) {
            return false;
        }
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if !cmdline.is_empty() {
            return String::from_utf8_lossy(&cmdline)
                .replace('\0', " ")
                .contains(marker);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}
