//! Small utilities Lua lacks: base64 (Gerrit serves patches base64-encoded),
//! sha256 of a string, environment variables and the clock.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::lua::api::{Api, Effect, FnSpec};

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
struct TextOpts {
    #[schemars(with = "String")]
    text: mlua::BString,
}

/// One of the two.
#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
#[serde(deny_unknown_fields)]
struct HashOpts {
    #[schemars(with = "Option<String>")]
    text: Option<mlua::BString>,
    path: Option<std::path::PathBuf>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
struct NameOpts {
    name: String,
}

#[derive(Serialize, schemars::JsonSchema)]
#[schemars(inline)]
struct Data {
    #[schemars(with = "String")]
    data: mlua::BString,
}

/// No options.
#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
struct NoOpts {}

#[derive(Serialize, schemars::JsonSchema)]
#[schemars(inline)]
struct Claimed {
    /// The log file this run writes, when it writes one.
    log_file: Option<std::path::PathBuf>,
}

#[derive(Serialize, schemars::JsonSchema)]
#[schemars(inline)]
struct Slept {}

#[derive(Serialize, schemars::JsonSchema)]
#[schemars(inline)]
struct Hex {
    hex: String,
}

#[derive(Serialize, schemars::JsonSchema)]
#[schemars(inline)]
struct EnvValue {
    value: Option<String>,
}

#[derive(Serialize, schemars::JsonSchema)]
#[schemars(inline)]
struct Clock {
    /// Seconds since the Unix epoch, with fractions.
    unix: f64,
}

pub fn register(api: &mut Api) -> mlua::Result<()> {
    api.sync(
        FnSpec::local(
            "data.base64_decode",
            "Decodes standard base64 (e.g. a Gerrit patch) into bytes.",
        ),
        |_, o: TextOpts| {
            let clean: Vec<u8> = o
                .text
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            let data = base64::engine::general_purpose::STANDARD.decode(clean)?;
            Ok(Data { data: data.into() })
        },
    )?;
    api.async_fn(
        FnSpec {
            name: "data.sha256",
            doc: "The SHA-256 of a string or of a file, as lowercase hex. A file is read in pieces on a blocking task, so other work in flight (core.parallel.map) goes on meanwhile; a stop asked for by a signal ends the read.",
            is_async: true,
            effect: Effect::Local,
            ..FnSpec::TYPED
        },
        |o: HashOpts| async move {
            let hex = match (o.text, o.path) {
                (Some(t), None) => hex::encode(sha2::Sha256::digest(&t[..])),
                // sha256_file asks for a stop between its reads: a signal
                // ends the task, not only the wait for it.
                (None, Some(p)) => {
                    tokio::task::spawn_blocking(move || crate::artifacts::sha256_file(&p)).await??
                }
                _ => anyhow::bail!("give text or path (one of them)"),
            };
            Ok(Hex { hex })
        },
    )?;
    api.sync(
        FnSpec::local("os.env", "Reads an environment variable."),
        |_, o: NameOpts| {
            Ok(EnvValue {
                value: std::env::var(&o.name).ok(),
            })
        },
    )?;
    api.sync(
        FnSpec::local("os.now", "The wall clock, for timestamps and durations."),
        |_, _o: NoOpts| {
            let unix = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_secs_f64();
            Ok(Clock { unix })
        },
    )?;
    api.sync(
        FnSpec::local(
            "tmp_dir.claim",
            "Claims a deploy's tmp dir for this process once its inputs are valid: creates it, takes its run lock (one deploy per tmp dir; an error names the PID holding it) and starts the log file (lines logged before are written to it first): `log_file` appended to, or with `run_log` this run's own `logs/<UTC time>.log` in the tmp dir, `apex.log` the same file, the oldest beyond 20 removed."),
        |_, o: ClaimOpts| {
            crate::fsutil::check_private_dir(&o.path, "tmp dir")?;
            crate::fsutil::check_no_planted_links(&o.path, &o.files)?;
            let log = match (&o.log_file, o.run_log) {
                (Some(f), _) => crate::run_lock::Log::Append(f),
                (None, true) => crate::run_lock::Log::PerRun,
                (None, false) => crate::run_lock::Log::None,
            };
            let log_file = crate::run_lock::claim(&o.path, log)?;
            Ok(Claimed { log_file })
        },
    )?;
    api.sync(
        FnSpec::local(
            "tmp_dir.status",
            "Who runs a deploy with a tmp dir now (`apex (pid N)`, nil when none; the run lock is only looked at) and the work dirs a killed run left there (mounts, loop devices, bytes), for `apex status` and `apex destroy`."),
        |_, o: TmpDirOpts| {
            Ok(TmpDirStatus {
                running: crate::run_lock::holder(&o.path)?,
                leftovers: crate::leftovers::find(&o.path),
            })
        },
    )?;
    api.async_fn(
        FnSpec {
            name: "os.sleep",
            doc: "Waits without blocking other work in flight (e.g. inside parallel.map or between retries).",
            is_async: true,
            effect: Effect::Local,
            ..FnSpec::TYPED
        },
        |o: SleepOpts| async move {
            // A day at most: a wait longer than that is a bug in the caller.
            if !(o.seconds >= 0.0 && o.seconds <= 86400.0) {
                anyhow::bail!("seconds: got {} (valid: 0 to 86400)", o.seconds);
            }
            tokio::time::sleep(std::time::Duration::from_secs_f64(o.seconds)).await;
            Ok(Slept {})
        },
    )?;
    Ok(())
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
#[serde(deny_unknown_fields)]
struct ClaimOpts {
    path: std::path::PathBuf,
    log_file: Option<std::path::PathBuf>,
    #[serde(default)]
    run_log: bool,
    /// The paths (relative to `path`) the run will write; a directory on the way to one that is a symlink (apex makes none there) is refused before anything is written.
    #[serde(default)]
    files: Vec<String>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
#[serde(deny_unknown_fields)]
struct TmpDirOpts {
    path: std::path::PathBuf,
}

#[derive(serde::Serialize, schemars::JsonSchema)]
#[schemars(inline)]
struct TmpDirStatus {
    running: Option<String>,
    leftovers: Vec<crate::leftovers::Leftover>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
struct SleepOpts {
    /// How long, 0 to 86400.
    seconds: f64,
}
