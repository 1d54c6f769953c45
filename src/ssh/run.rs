//! Running a command on a host: exit status, stdout and stderr captured and
//! streamed into the log line by line, optional stdin, timeouts.

use std::time::{Duration, Instant};

use openssh::Stdio;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _};

use super::error::SshError;
use super::host::SshHost;
use super::pool::{self, Connection};
use crate::local_tools::tail;

/// Extra time after a timeout for the remote `timeout` to report before
/// the local side gives up on the channel.
const TIMEOUT_GRACE: Duration = Duration::from_secs(10);

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct RemoteCommand {
    /// A shell command line, run by the login shell like `ssh host 'cmd'`.
    pub command: String,
    /// Fail with [`SshError::Failed`] on a non-zero exit.
    pub check: bool,
    /// Kill the command after this long (remotely too, through coreutils `timeout`).
    pub timeout: Option<Duration>,
    /// Bytes fed to the command's stdin.
    pub stdin: Option<Vec<u8>>,
    /// Log each output line (debug level); off for binary output.
    pub quiet: bool,
}

impl RemoteCommand {
    pub fn new(command: impl Into<String>) -> Self {
        Self {
            command: command.into(),
            ..Default::default()
        }
    }

    pub fn check(mut self) -> Self {
        self.check = true;
        self
    }

    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = Some(t);
        self
    }
}

/// The outcome of a command that ran to its end.
#[derive(Debug, Clone)]
pub struct CommandOutput {
    pub status: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl CommandOutput {
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// Output of one stream of one command kept in memory, at most: beyond it
/// the whole stream goes to a file of its own (its path logged) and memory
/// keeps the end (what the caller gets).
const KEPT: usize = 32 << 20;
/// Output of one stream of one command logged line by line, at most: then
/// one line says so, and the last lines are logged when it ends.
const LOGGED: usize = 1 << 20;

/// Reads a stream to its end, logging complete lines as they arrive (the
/// first [`LOGGED`] bytes, then the tail), keeping at most [`KEPT`] bytes
/// in memory and the whole stream in a file when it is larger.
async fn pump(
    mut r: impl AsyncRead + Unpin,
    host: &str,
    stream: &'static str,
    log: bool,
) -> std::io::Result<Vec<u8>> {
    let mut out: Vec<u8> = Vec::new();
    let mut spill: Option<(std::fs::File, std::path::PathBuf)> = None;
    let mut total: u64 = 0;
    let mut line: Vec<u8> = Vec::new();
    let mut logged = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = r.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        total += n as u64;
        if log && logged <= LOGGED {
            for piece in chunk.split_inclusive(|b| *b == b'\n') {
                let room = LOG_LINE_MAX.saturating_sub(line.len());
                let (body, ends) = match piece.strip_suffix(b"\n") {
                    Some(b) => (b, true),
                    None => (piece, false),
                };
                line.extend_from_slice(&body[..body.len().min(room)]);
                if ends {
                    logged += line.len() + 1;
                    log_line(host, stream, &line);
                    line.clear();
                    if logged > LOGGED {
                        tracing::info!(target: "apex::ssh::output", host, stream,
                            "(more than {} MiB of {stream}: not logged line by line; its last lines follow when it ends)", LOGGED >> 20);
                        break;
                    }
                }
            }
        }
        out.extend_from_slice(chunk);
        if out.len() > KEPT {
            if spill.is_none() {
                let file = tempfile::Builder::new()
                    .prefix(&format!("apex-ssh-{stream}-"))
                    .suffix(".log")
                    .tempfile()?;
                let (file, path) = file.keep().map_err(|e| e.error)?;
                tracing::warn!(
                    host,
                    "more than {} MiB of {stream}: the whole of it goes to {}, the last {} MiB are kept",
                    KEPT >> 20,
                    path.display(),
                    KEPT >> 21
                );
                spill = Some((file, path));
                // What came before this chunk, then the chunk below.
                let (f, _) = spill.as_mut().expect("just set");
                std::io::Write::write_all(f, &out[..out.len() - n])?;
            }
            if let Some((f, _)) = spill.as_mut() {
                std::io::Write::write_all(f, chunk)?;
            }
            let cut = out.len() - KEPT / 2;
            out.drain(..cut);
        } else if let Some((f, _)) = spill.as_mut() {
            std::io::Write::write_all(f, chunk)?;
        }
    }
    if log && logged <= LOGGED && !line.is_empty() {
        log_line(host, stream, &line);
    } else if log && logged > LOGGED {
        let text = String::from_utf8_lossy(&out);
        let lines: Vec<&str> = text.lines().collect();
        for l in &lines[lines.len().saturating_sub(20)..] {
            log_line(host, stream, l.as_bytes());
        }
    }
    if let Some((_, path)) = &spill {
        tracing::info!(host, "{stream}: {total} bytes, all in {}", path.display());
    }
    Ok(out)
}

/// The longest output line logged (the rest of it is cut).
const LOG_LINE_MAX: usize = 4096;

fn log_line(host: &str, stream: &'static str, line: &[u8]) {
    let text = String::from_utf8_lossy(&line[..line.len().min(LOG_LINE_MAX)]);
    // The log file has every line; the console only with -v (or in the
    // error of a failed command, see [`failure_tail`]).
    tracing::debug!(target: "apex::ssh::output", host, stream, "{}", text.trim_end_matches('\r'));
}

/// The command line sent: wrapped in `timeout` when one is set, so the
/// remote process dies with the deadline instead of lingering; and, when
/// the command takes no input, tied to the channel (see [`TIED`]).
fn remote_line(cmd: &RemoteCommand, tied: bool) -> String {
    let line = match cmd.timeout {
        Some(t) => format!(
            "timeout --kill-after=5 {:.3} sh -c {}",
            t.as_secs_f64(),
            shell_escape::unix::escape(cmd.command.as_str().into())
        ),
        None => cmd.command.clone(),
    };
    if !tied {
        return line;
    }
    format!(
        "sh -c {} apex-run {}",
        shell_escape::unix::escape(TIED.into()),
        shell_escape::unix::escape(line.into())
    )
}

/// Without a pty a remote command outlives the channel that started it: a
/// Ctrl-C or a killed apex would leave it running. So a command that takes
/// no input runs in its own session while a watchdog reads the channel's
/// stdin, which apex keeps open and never writes: when the channel goes
/// (apex interrupted, killed, or the connection lost) the watchdog reads
/// EOF and stops the command's whole process group (TERM, then KILL after
/// 5 s). The command's exit status is passed through; one killed by a
/// signal says which on stderr (the status alone, 128+N, reads like an exit).
const TIED: &str = "exec 3<&0; \
    setsid sh -c \"$1\" </dev/null & p=$!; \
    ( while read -r _; do :; done; kill -TERM -$p 2>/dev/null; sleep 5; kill -KILL -$p 2>/dev/null ) <&3 >/dev/null 2>&1 & w=$!; \
    exec 3<&-; wait $p; s=$?; kill $w 2>/dev/null; \
    [ $s -gt 128 ] && [ $s -lt 160 ] && echo \"apex: the command was killed by SIG$(kill -l $s)\" >&2; exit $s";

/// Feeds `input` to the remote stdin; a remote that stops reading early
/// (exits) is not an error here, its exit status tells.
async fn feed(
    mut stdin: Option<openssh::ChildStdin>,
    mut input: Option<Box<dyn AsyncRead + Send + Unpin + '_>>,
) -> std::io::Result<()> {
    let (Some(w), Some(r)) = (stdin.as_mut(), input.as_mut()) else {
        return Ok(());
    };
    match tokio::io::copy(r, w).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
        Err(e) => return Err(e),
    }
    let _ = w.shutdown().await;
    drop(stdin);
    Ok(())
}

/// Runs `cmd` on `host` with `input` streamed to stdin.
pub async fn run_with_input(
    host: &SshHost,
    cmd: &RemoteCommand,
    input: Option<Box<dyn AsyncRead + Send + Unpin + '_>>,
) -> Result<CommandOutput, SshError> {
    let conn = pool::connection(host).await?;
    let _permit = conn
        .channels
        .acquire()
        .await
        .expect("semaphore never closed");
    let label = host.label();
    tracing::debug!(host = %label, command = %cmd.command, "ssh run");
    let started = Instant::now();
    let work = execute(&conn, &label, cmd, input);
    let result = match cmd.timeout {
        Some(t) => match tokio::time::timeout(t + TIMEOUT_GRACE, work).await {
            Ok(r) => r,
            Err(_) => Err(Exit::TimedOut),
        },
        None => work.await,
    };
    let timed_out = || SshError::TimedOut {
        host: label.clone(),
        command: cmd.command.clone(),
        secs: cmd.timeout.unwrap_or_default().as_secs_f64(),
    };
    let out = match result {
        Ok(out) => out,
        Err(Exit::TimedOut) => return Err(timed_out()),
        Err(Exit::Terminated(out)) => {
            if ssh_mux_closed(&out.stderr) || !pool::is_alive(&conn).await {
                return Err(SshError::Disconnected {
                    host: label,
                    command: cmd.command.clone(),
                });
            }
            out
        }
        Err(Exit::Io(msg)) => return Err(SshError::Io { host: label, msg }),
    };
    // coreutils `timeout` exits 124 (or 137 after KILL) when the deadline hit.
    if let Some(t) = cmd.timeout
        && matches!(out.status, 124 | 137)
        && started.elapsed() >= t
    {
        return Err(timed_out());
    }
    if cmd.check && out.status != 0 {
        return Err(SshError::Failed {
            host: label,
            command: cmd.command.clone(),
            status: out.status,
            stderr_tail: failure_tail(&out),
        });
    }
    Ok(out)
}

/// What a failed command said last, for its error (the console shows it
/// whatever the log level): its stderr's last lines, then its stdout's,
/// where tools such as `openstack` print their errors too.
fn failure_tail(out: &CommandOutput) -> String {
    let (err, std) = (tail(&out.stderr, 20), tail(&out.stdout, 10));
    match (err.is_empty(), std.is_empty()) {
        (_, true) => err,
        (true, false) => format!("no stderr; stdout ended:\n{std}"),
        (false, false) => format!("{err}\nstdout ended:\n{std}"),
    }
}

enum Exit {
    /// ssh exited 255: the remote died by a signal or exited 255, or the connection died.
    Terminated(CommandOutput),
    /// The local deadline (timeout plus grace) passed.
    TimedOut,
    Io(String),
}

async fn execute(
    conn: &Connection,
    label: &str,
    cmd: &RemoteCommand,
    input: Option<Box<dyn AsyncRead + Send + Unpin + '_>>,
) -> Result<CommandOutput, Exit> {
    let io = |what: &str, e: &dyn std::fmt::Display| Exit::Io(format!("{what}: {e}"));
    // Without input, stdin stays open (never written) until the command
    // ends: the remote watchdog of [`TIED`] stops it when the channel goes.
    let tied = input.is_none() && cmd.stdin.is_none();
    let mut child = conn
        .session
        .raw_command(remote_line(cmd, tied))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .await
        .map_err(|e| io("cannot open a channel", &e))?;
    let (mut stdin, stdout, stderr) = (
        child.stdin().take(),
        child.stdout().take(),
        child.stderr().take(),
    );
    let held = if tied { stdin.take() } else { None };
    let (Some(stdout), Some(stderr)) = (stdout, stderr) else {
        return Err(io("channel", &"no output pipes"));
    };
    let log = !cmd.quiet;
    let (fed, out, err) = tokio::join!(
        feed(stdin, input),
        pump(stdout, label, "stdout", log),
        pump(stderr, label, "stderr", log)
    );
    fed.map_err(|e| io("writing stdin", &e))?;
    let (stdout, stderr) = (
        out.map_err(|e| io("reading stdout", &e))?,
        err.map_err(|e| io("reading stderr", &e))?,
    );
    let waited = child.wait().await;
    drop(held);
    let status = match waited {
        Ok(s) => s.code().unwrap_or(255),
        Err(openssh::Error::RemoteProcessTerminated | openssh::Error::Disconnected) => {
            return Err(Exit::Terminated(CommandOutput {
                status: 255,
                stdout,
                stderr,
            }));
        }
        Err(openssh::Error::Remote(e)) if e.kind() == std::io::ErrorKind::NotFound => 127,
        Err(e) => return Err(io("waiting for the command", &e)),
    };
    Ok(CommandOutput {
        status,
        stdout,
        stderr,
    })
}

/// What the local ssh client prints when the connection under a channel died.
fn ssh_mux_closed(stderr: &[u8]) -> bool {
    let t = String::from_utf8_lossy(stderr);
    t.contains("closed by remote host") || t.contains("mux_client")
}

/// Runs a command on a host (see [`RemoteCommand`]).
pub async fn run_ssh(host: &SshHost, cmd: &RemoteCommand) -> Result<CommandOutput, SshError> {
    let input: Option<Box<dyn AsyncRead + Send + Unpin>> = cmd
        .stdin
        .as_ref()
        .map(|b| Box::new(std::io::Cursor::new(b.clone())) as Box<dyn AsyncRead + Send + Unpin>);
    run_with_input(host, cmd, input).await
}

/// Runs the same command on many hosts at once; results in host order.
pub async fn run_many(
    hosts: &[SshHost],
    cmd: &RemoteCommand,
) -> Vec<Result<CommandOutput, SshError>> {
    futures::future::join_all(hosts.iter().map(|h| run_ssh(h, cmd))).await
}
