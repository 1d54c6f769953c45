//! Hosts and disks against the real lab: a real sshd on loopback, real loop
//! devices (tests run as root), real ext4/qcow2 images made with mkfs.ext4
//! and qemu-img. A missing lab tool fails the test with what is missing.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use apex::loopdev::{self, TempLoop};
use apex::lua::{Host, HostConfig};
use apex::ssh::{RemoteCommand, SshError, SshHost, UploadOpts, run_many, run_ssh, upload};
use apex_lab::sshd::Sshd;
use sha2::Digest as _;

// ---------- lab helpers ----------

fn sshd() -> Sshd {
    Sshd::start().expect("lab sshd must start (needs openssh-server: tests/lab/install.sh)")
}

fn host_of(s: &Sshd) -> SshHost {
    SshHost {
        port: Some(s.port()),
        user: Some(s.user().to_string()),
        key: Some(s.user_key()),
        known_hosts: Some(s.known_hosts()),
        ..SshHost::new(s.address())
    }
}

fn require_tool(name: &str, package: &str) {
    assert!(
        apex::local_tools::which(name).is_some(),
        "lab tool {name} is missing: install Debian package {package} (tests/lab/install.sh)"
    );
}

fn sh(cmd: &str) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .expect("sh runs");
    assert!(
        out.status.success(),
        "`{cmd}` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Lua host with the apex API; `plan` for plan mode.
fn lua_host(plan: bool) -> Host {
    Host::new(HostConfig {
        plan,
        ..Default::default()
    })
    .expect("Lua host")
}

async fn run_lua(host: &Host, chunk: &str) -> anyhow::Result<()> {
    let f = host
        .lua()
        .load(chunk)
        .set_name("@hosts_test.lua")
        .into_function()?;
    host.call(&f, ()).await.map(drop)
}

/// A Lua table literal describing the lab host.
fn lua_host_table(s: &Sshd) -> String {
    format!(
        "{{address = {:?}, port = {}, user = {:?}, key = {:?}, known_hosts = {:?}}}",
        s.address(),
        s.port(),
        s.user(),
        s.user_key().display().to_string(),
        s.known_hosts().display().to_string()
    )
}

// ---------- run_ssh ----------

#[tokio::test]
async fn ssh_returns_exit_status_stdout_and_stderr() {
    let s = sshd();
    let h = host_of(&s);
    let out = run_ssh(&h, &RemoteCommand::new("echo out; echo err >&2; exit 3"))
        .await
        .unwrap();
    assert_eq!(out.status, 3);
    assert_eq!(out.stdout_text(), "out\n");
    assert_eq!(out.stderr_text(), "err\n");

    let ok = run_ssh(&h, &RemoteCommand::new("printf 'a b'"))
        .await
        .unwrap();
    assert_eq!((ok.status, ok.stdout_text().as_str()), (0, "a b"));

    let err = run_ssh(
        &h,
        &RemoteCommand::new("echo first >&2; echo boom >&2; exit 7").check(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, SshError::Failed { status: 7, .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("exit 7") && msg.contains("status 7") && msg.contains("boom"),
        "{msg}"
    );

    let missing = run_ssh(&h, &RemoteCommand::new("no-such-command-apex"))
        .await
        .unwrap();
    assert_eq!(missing.status, 127);

    let stdin = RemoteCommand {
        stdin: Some(b"fed through stdin".to_vec()),
        ..RemoteCommand::new("cat")
    };
    assert_eq!(
        run_ssh(&h, &stdin).await.unwrap().stdout_text(),
        "fed through stdin"
    );

    // The lab's sessions have their own empty HOME: the machine user's
    // dotfiles do not run before (or print into) the commands.
    let home = run_ssh(&h, &RemoteCommand::new("echo $HOME; ls -A $HOME | wc -l"))
        .await
        .unwrap();
    assert_eq!(home.stdout_text(), format!("{}\n0\n", s.home().display()));
}

#[tokio::test]
async fn ssh_carries_10_mb_of_stdout() {
    let s = sshd();
    let h = host_of(&s);
    let size = 10 * 1024 * 1024;
    let out = run_ssh(
        &h,
        &RemoteCommand::new(format!("yes 0123456789abcdef | head -c {size}")).check(),
    )
    .await
    .unwrap();
    assert_eq!(out.stdout.len(), size);
    let expected: Vec<u8> = b"0123456789abcdef\n"
        .iter()
        .copied()
        .cycle()
        .take(size)
        .collect();
    assert!(
        out.stdout == expected,
        "10 MB stdout differs from what the host produced"
    );
}

#[tokio::test]
async fn ssh_command_times_out_and_is_killed_remotely() {
    let s = sshd();
    let h = host_of(&s);
    let started = Instant::now();
    let err = run_ssh(
        &h,
        &RemoteCommand::new("sleep 31.25").timeout(Duration::from_secs(1)),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, SshError::TimedOut { .. }), "{err:?}");
    assert!(err.to_string().contains("timed out after 1s"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "the 31s command was not cut short ({:?})",
        started.elapsed()
    );
    // The remote process died with the deadline.
    let left = run_ssh(&h, &RemoteCommand::new("pgrep -f 'sleep 31[.]25' || true"))
        .await
        .unwrap();
    assert_eq!(left.stdout_text().trim(), "", "remote sleep still running");
    // A command within its timeout is unaffected.
    let quick = run_ssh(
        &h,
        &RemoteCommand::new("echo fast").timeout(Duration::from_secs(20)),
    )
    .await
    .unwrap();
    assert_eq!(quick.stdout_text(), "fast\n");
}

#[tokio::test]
async fn ssh_reuses_one_connection_and_runs_many_hosts_concurrently() {
    let labs: Vec<Sshd> = (0..3).map(|_| sshd()).collect();
    let hosts: Vec<SshHost> = labs.iter().map(host_of).collect();
    // Each command waits until all three are running: serial execution fails.
    let meet = labs[0].dir().join("meet");
    std::fs::create_dir(&meet).unwrap();
    let rendezvous = format!(
        "touch {m}/$(echo $SSH_CONNECTION | cut -d' ' -f4); for i in $(seq 300); do \
         [ $(ls {m} | wc -l) -ge 3 ] && echo together $SSH_CONNECTION && exit 0; sleep 0.1; done; exit 1",
        m = meet.display()
    );
    let results = run_many(&hosts, &RemoteCommand::new(rendezvous).check()).await;
    for (r, lab) in results.iter().zip(&labs) {
        let out = r.as_ref().expect("the three hosts ran at the same time");
        assert!(
            out.stdout_text().starts_with("together")
                && out.stdout_text().contains(&lab.port().to_string()),
            "{}",
            out.stdout_text()
        );
    }
    // Several commands, several channels at once, one login per host.
    let h = &hosts[0];
    let cmds: Vec<RemoteCommand> = (0..6)
        .map(|i| RemoteCommand::new(format!("echo {i}")))
        .collect();
    for (i, r) in futures::future::join_all(cmds.iter().map(|c| run_ssh(h, c)))
        .await
        .into_iter()
        .enumerate()
    {
        assert_eq!(r.unwrap().stdout_text(), format!("{i}\n"));
    }
    let logins = labs[0].log().matches("Accepted publickey").count();
    assert_eq!(
        logins,
        1,
        "expected one reused connection, sshd saw {logins} logins:\n{}",
        labs[0].log()
    );
}

#[tokio::test]
async fn ssh_reports_a_dropped_connection_and_reconnects() {
    let s = sshd();
    let h = host_of(&s);
    run_ssh(&h, &RemoteCommand::new("true").check())
        .await
        .unwrap();
    let long = tokio::spawn({
        let h = h.clone();
        async move { run_ssh(&h, &RemoteCommand::new("sleep 20")).await }
    });
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(s.drop_connections().unwrap() >= 1, "no connection to drop");
    let err = tokio::time::timeout(Duration::from_secs(10), long)
        .await
        .expect("drop noticed")
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, SshError::Disconnected { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("connection lost while running `sleep 20`"),
        "{err}"
    );
    // The next call opens a new connection.
    assert_eq!(
        run_ssh(&h, &RemoteCommand::new("echo back"))
            .await
            .unwrap()
            .stdout_text(),
        "back\n"
    );
}

// ---------- host keys and user keys ----------

/// The apex binary with its own TMPDIR (where it keeps ssh control sockets).
fn apex_with_tmp(tmp: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_apex"));
    cmd.env("TMPDIR", tmp).env_remove("XDG_RUNTIME_DIR");
    cmd
}

/// How many logins sshd accepted so far.
fn logins(s: &Sshd) -> usize {
    s.log().matches("Accepted publickey").count()
}

#[test]
fn ssh_master_is_kept_for_the_next_run_and_closed_with_persist_0() {
    let s = sshd();
    let tmp = s.dir().join("tmp");
    let controls = tmp.join(format!("apex-ssh-{}", rustix::process::getuid().as_raw()));
    // Left by earlier runs: a per-process dir of an older apex whose process
    // is gone, a master dir whose master exited long ago, a record of it,
    // the local end of a forward whose process died.
    std::fs::create_dir_all(controls.join("4999999/.ssh-connection-old")).unwrap();
    std::fs::create_dir_all(controls.join(".ssh-connectionGONE")).unwrap();
    assert!(
        Command::new("touch")
            .args(["-d", "2 hours ago"])
            .arg(controls.join(".ssh-connectionGONE"))
            .status()
            .unwrap()
            .success()
    );
    std::fs::write(controls.join("fwd-abcdef12-4999999-0.sock"), "").unwrap();
    std::fs::write(
        controls.join("0123.master"),
        format!(
            "{}\n\n",
            controls.join(".ssh-connectionGONE/master").display()
        ),
    )
    .unwrap();

    let run = |persist: Option<u64>, tag: &str| {
        let host = lua_host_table(&s);
        let host = match persist {
            Some(p) => format!("{}, persist = {p}}}", host.trim_end_matches('}')),
            None => host,
        };
        let script = s.dir().join(format!("{tag}.lua"));
        std::fs::write(&script, format!("assert(require('apex.core').run_ssh({{host = {host}, command = 'echo {tag}'}}).stdout == '{tag}\\n')")).unwrap();
        let out = apex_with_tmp(&tmp)
            .arg("run")
            .arg(&script)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "apex run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let before = logins(&s);
    run(None, "first");
    assert_eq!(logins(&s), before + 1);
    let mut left: Vec<String> = std::fs::read_dir(&controls)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left.len(),
        2,
        "stale entries not cleaned, or the master not kept: {left:?}"
    );
    assert!(
        left[0].starts_with(".ssh-connection") && left[0] != ".ssh-connectionGONE",
        "{left:?}"
    );
    assert!(
        left[1].ends_with(".master") && left[1] != "0123.master",
        "{left:?}"
    );
    let socket = std::fs::read_to_string(controls.join(&left[1]))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    assert!(
        Path::new(&socket).exists(),
        "the kept master's socket {socket} is gone"
    );

    // The next run (same host settings) logs in no more: it uses the kept master.
    run(None, "second");
    assert_eq!(
        logins(&s),
        before + 1,
        "the second run opened a new connection"
    );

    // persist = 0 is other settings' master: a new login, closed at exit.
    run(Some(0), "third");
    assert_eq!(logins(&s), before + 2);
    let records = std::fs::read_dir(&controls)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".master"))
        .count();
    assert_eq!(records, 1, "a persist = 0 connection was recorded");

    // A kept master that died (the host dropped it) is replaced without an error.
    s.drop_connections().unwrap();
    let gone = Instant::now();
    while Path::new(&socket).exists() && gone.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    run(None, "fourth");
    assert_eq!(logins(&s), before + 3);
}

#[tokio::test]
async fn ssh_refuses_an_unknown_host() {
    let s = sshd();
    let empty = s.dir().join("empty_known_hosts");
    std::fs::write(&empty, "").unwrap();
    let h = SshHost {
        known_hosts: Some(empty.clone()),
        ..host_of(&s)
    };
    let err = run_ssh(&h, &RemoteCommand::new("true")).await.unwrap_err();
    assert!(matches!(err, SshError::HostKeyUnknown { .. }), "{err:?}");
    assert!(err.to_string().contains("accept_new"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&empty).unwrap(),
        "",
        "refused host must not be recorded"
    );
}

#[tokio::test]
async fn ssh_accept_new_records_the_key_then_enforces_it() {
    let mut s = sshd();
    let file = s.dir().join("tofu_known_hosts");
    let h = SshHost {
        known_hosts: Some(file.clone()),
        accept_new: true,
        ..host_of(&s)
    };
    run_ssh(&h, &RemoteCommand::new("true").check())
        .await
        .unwrap();
    let recorded = std::fs::read_to_string(&file).unwrap();
    assert!(
        recorded.contains(&s.host_key_base64().unwrap()),
        "host key not recorded: {recorded:?}"
    );
    // Enforced: the recorded key now rejects a different one, accept_new or not.
    s.rotate_host_key().unwrap();
    let err = run_ssh(&h, &RemoteCommand::new("true")).await.unwrap_err();
    assert!(matches!(err, SshError::HostKeyChanged { .. }), "{err:?}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        recorded,
        "changed key must not be recorded"
    );
}

#[test]
fn a_kept_master_is_not_reused_once_known_hosts_stops_vouching_for_the_host() {
    let s = sshd();
    let tmp = s.dir().join("tmp");
    let script = s.dir().join("echo.lua");
    std::fs::write(
        &script,
        format!(
            "assert(require('apex.core').run_ssh({{host = {}, command = 'echo ok'}}).stdout == 'ok\\n')",
            lua_host_table(&s)
        ),
    )
    .unwrap();
    let run = || {
        apex_with_tmp(&tmp)
            .arg("run")
            .arg(&script)
            .output()
            .unwrap()
    };
    let before = logins(&s);
    assert!(run().status.success());
    assert!(run().status.success());
    assert_eq!(
        logins(&s),
        before + 1,
        "the second run reuses the kept master"
    );
    // The operator removes the host's key: the kept master must not carry on.
    let kh = s.known_hosts();
    let original = std::fs::read_to_string(&kh).unwrap();
    std::fs::write(&kh, "").unwrap();
    let out = run();
    assert!(
        !out.status.success(),
        "a kept master was used although known_hosts no longer has the host's key"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.to_lowercase().contains("host key"), "{err}");
    std::fs::write(&kh, original).unwrap();
    assert!(run().status.success());
    assert_eq!(logins(&s), before + 2, "a new connection, checked again");
}

#[tokio::test]
async fn ssh_says_when_a_command_was_killed_by_a_signal() {
    let s = sshd();
    let h = host_of(&s);
    let out = run_ssh(&h, &RemoteCommand::new("sh -c 'kill -TERM $$'"))
        .await
        .unwrap();
    assert_eq!(out.status, 143);
    assert!(
        out.stderr_text().contains("killed by SIGTERM"),
        "{}",
        out.stderr_text()
    );
    let err = run_ssh(&h, &RemoteCommand::new("sh -c 'kill -KILL $$'").check())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("status 137") && err.contains("killed by SIGKILL"),
        "{err}"
    );
}

#[tokio::test]
async fn ssh_refuses_a_changed_host_key() {
    let mut s = sshd();
    let h = host_of(&s);
    run_ssh(&h, &RemoteCommand::new("true").check())
        .await
        .unwrap();
    s.rotate_host_key().unwrap();
    let err = run_ssh(&h, &RemoteCommand::new("true")).await.unwrap_err();
    assert!(matches!(err, SshError::HostKeyChanged { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("HOST KEY HAS CHANGED") && msg.contains("refusing"),
        "{msg}"
    );
    assert!(
        msg.contains(&s.known_hosts().display().to_string()),
        "{msg}"
    );
}

#[tokio::test]
async fn ssh_refuses_a_wrong_user_key() {
    let s = sshd();
    let h = SshHost {
        key: Some(s.unauthorized_key("stranger").unwrap()),
        ..host_of(&s)
    };
    let err = run_ssh(&h, &RemoteCommand::new("true")).await.unwrap_err();
    assert!(matches!(err, SshError::AuthFailed { .. }), "{err:?}");
    assert!(
        err.to_string().contains("authentication failed with key"),
        "{err}"
    );
}

// ---------- upload ----------

/// Writes `mib` MiB of non-repeating bytes and returns their sha256.
fn write_noise(path: &Path, mib: usize) -> String {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut h = sha2::Sha256::new();
    let mut x: u64 = 0x9E3779B97F4A7C15;
    let mut buf = vec![0u8; 1 << 20];
    for _ in 0..mib {
        for chunk in buf.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes());
        }
        h.update(&buf);
        f.write_all(&buf).unwrap();
    }
    f.flush().unwrap();
    hex::encode(h.finalize())
}

#[tokio::test]
async fn upload_of_100_mb_is_checked_remotely_with_sha256sum() {
    let s = sshd();
    let h = host_of(&s);
    let local = s.dir().join("big.bin");
    let sum = write_noise(&local, 100);
    let remote = s.dir().join("remote/sub/big.bin").display().to_string();
    let report = upload(
        &h,
        &UploadOpts {
            from: local,
            to: remote.clone(),
            mode: Some(0o640),
            sha256: true,
        },
    )
    .await
    .unwrap();
    assert_eq!(report.bytes, 100 << 20);
    assert_eq!(report.sha256.as_deref(), Some(sum.as_str()));
    let check = run_ssh(
        &h,
        &RemoteCommand::new(format!("sha256sum {remote}; stat -c '%a %s' {remote}")).check(),
    )
    .await
    .unwrap();
    let text = check.stdout_text();
    assert!(text.starts_with(&sum), "remote sha256sum: {text}");
    assert!(text.contains(&format!("640 {}", 100u64 << 20)), "{text}");
    let leftovers = run_ssh(
        &h,
        &RemoteCommand::new(format!("ls {}", s.dir().join("remote/sub").display())),
    )
    .await
    .unwrap();
    assert_eq!(
        leftovers.stdout_text(),
        "big.bin\n",
        "temp files left behind"
    );
}

#[tokio::test]
async fn upload_of_a_directory_replaces_the_remote_tree() {
    let s = sshd();
    let h = host_of(&s);
    let src = s.dir().join("patches");
    std::fs::create_dir_all(src.join("containers/nova-api")).unwrap();
    std::fs::write(
        src.join("containers/nova-api/Dockerfile"),
        "FROM nova-api\nUSER root\n",
    )
    .unwrap();
    std::fs::write(src.join("docker_patches.tar.gz"), vec![7u8; 70_000]).unwrap();
    let dest = s.dir().join("remote/patches").display().to_string();
    run_ssh(
        &h,
        &RemoteCommand::new(format!("mkdir -p {dest} && echo stale > {dest}/old")).check(),
    )
    .await
    .unwrap();
    let report = upload(
        &h,
        &UploadOpts {
            from: src.clone(),
            to: dest.clone(),
            mode: Some(0o755),
            sha256: true,
        },
    )
    .await
    .unwrap();
    assert_eq!((report.files, report.bytes), (2, 70_000 + 24));
    let out = run_ssh(
        &h,
        &RemoteCommand::new(format!(
            "cd {dest} && find . -type f | sort && cat containers/nova-api/Dockerfile"
        ))
        .check(),
    )
    .await
    .unwrap();
    assert_eq!(
        out.stdout_text(),
        "./containers/nova-api/Dockerfile\n./docker_patches.tar.gz\nFROM nova-api\nUSER root\n"
    );

    // A destination the host cannot write fails with the cause (and does not
    // hang with the tar stream half sent).
    let big = s.dir().join("patches/big.bin");
    write_noise(&big, 8);
    for from in [src, big] {
        let err = upload(
            &h,
            &UploadOpts {
                from,
                to: "/proc/apex-no-such/dir".into(),
                mode: None,
                sha256: false,
            },
        )
        .await
        .unwrap_err();
        assert!(matches!(err, SshError::Failed { .. }), "{err:?}");
        assert!(err.to_string().contains("/proc/apex-no-such"), "{err}");
    }
}

// ---------- Lua bindings for ssh ----------

#[tokio::test]
async fn lua_run_ssh_and_upload() {
    let s = sshd();
    let local = s.dir().join("hello.txt");
    std::fs::write(&local, "hello from lua\n").unwrap();
    let remote = s.dir().join("lua/hello.txt");
    let host = lua_host(false);
    let chunk = format!(
        r#"
        local core = require("apex.core")
        local h = {host}
        local r = core.run_ssh({{host = h, command = "echo hi; echo oops >&2; exit 4", check = false}})
        assert(r.status == 4 and r.ok == false, "status " .. tostring(r.status))
        assert(r.stdout == "hi\n" and r.stderr == "oops\n")
        local ok, err = pcall(core.run_ssh, {{host = h, command = "exit 9"}})
        assert(not ok and tostring(err):find("run_ssh: ", 1, true) and tostring(err):find("status 9", 1, true), tostring(err))
        local ok2, err2 = pcall(core.run_ssh, {{host = h, command = "sleep 20", timeout = 0.5}})
        assert(not ok2 and tostring(err2):find("timed out", 1, true), tostring(err2))
        local up = core.upload({{host = h, from = {local:?}, to = {remote:?}, mode = 384, sha256 = true}})
        assert(up.bytes == 15 and up.files == 1 and #up.sha256 == 64)
        local c = core.run_ssh({{host = h, command = "cat {remote}; stat -c %a {remote}"}})
        assert(c.stdout == "hello from lua\n600\n", c.stdout)
        local bad = {{address = h.address, port = h.port, user = h.user, key = h.key, known_hosts = {empty:?}}}
        local ok3, err3 = pcall(core.run_ssh, {{host = bad, command = "true"}})
        assert(not ok3 and tostring(err3):find("not in", 1, true), tostring(err3))
        local ok4, err4 = pcall(core.run_ssh, {{host = {{address = "x", bogus = 1}}, command = "true"}})
        assert(not ok4 and tostring(err4):find("bogus", 1, true), tostring(err4))
        -- Three commands in flight at once over the one connection: each waits for the others.
        local meet = "{meet}"
        local outs = core.parallel_map({{1, 2, 3}}, function(i)
            return core.run_ssh({{host = h, command = "touch " .. meet .. "/" .. i ..
                "; for n in $(seq 300); do [ $(ls " .. meet .. " | wc -l) -ge 3 ] && echo met " .. i .. " && exit 0; sleep 0.1; done; exit 1"}}).stdout
        end, {{limit = 3}})
        assert(outs[1] == "met 1\n" and outs[2] == "met 2\n" and outs[3] == "met 3\n", table.concat(outs, ","))
        "#,
        host = lua_host_table(&s),
        local = local.display().to_string(),
        remote = remote.display().to_string(),
        empty = s.dir().join("lua_empty_known_hosts").display().to_string(),
        meet = s.dir().join("meet").display(),
    );
    std::fs::create_dir(s.dir().join("meet")).unwrap();
    std::fs::write(s.dir().join("lua_empty_known_hosts"), "").unwrap();
    run_lua(&host, &chunk).await.unwrap();
}

#[tokio::test]
async fn lua_remote_effects_are_refused_in_plan_mode() {
    let host = lua_host(true);
    let chunk = r#"
        local core = require("apex.core")
        for _, call in ipairs({
            function() return core.run_ssh({host = {address = "127.0.0.1"}, command = "true"}) end,
            function() return core.upload({host = {address = "127.0.0.1"}, from = "/etc/hostname", to = "/tmp/x"}) end,
            function() return core.create_loop_device({file = "/tmp/apex-plan.img", size = 1024}) end,
            function() return core.customize_image({image = "/tmp/none.qcow2", ops = {}}) end,
        }) do
            local ok, err = pcall(call)
            assert(not ok and tostring(err):find("refused in plan mode", 1, true), tostring(err))
        end
        local u = core.loop_unit({device = "/dev/loop3", file = "/srv/data.img"})
        assert(u.name == "apex-loop3.service" and u.text:find("ExecStart=/sbin/losetup /dev/loop3 /srv/data.img", 1, true))
    "#;
    run_lua(&host, chunk).await.unwrap();
    assert!(
        !Path::new("/tmp/apex-plan.img").exists(),
        "plan mode created a backing file"
    );
}

// ---------- loop devices ----------

/// Detaches on drop, so a failing assertion leaves no device behind.
struct Detach(Option<PathBuf>);

impl Drop for Detach {
    fn drop(&mut self) {
        if let Some(d) = self.0.take() {
            let _ = loopdev::detach_loop_device(&d);
        }
    }
}

fn sysfs(device: &Path, file: &str) -> String {
    let name = device.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::read_to_string(format!("/sys/block/{name}/{file}"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

#[test]
fn loop_device_attach_reuse_detach() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("data.img");
    let size = 64 << 20;
    let first = loopdev::create_loop_device(&file, size, None).expect("attach (tests run as root)");
    let _guard = Detach(Some(first.device.clone()));
    assert!(first.created_file && !first.reused);
    assert!(first.device.to_string_lossy().starts_with("/dev/loop"));
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!(meta.len(), size);
    assert!(
        std::os::unix::fs::MetadataExt::blocks(&meta) * 512 < 1 << 20,
        "backing file is not sparse"
    );
    assert_eq!(
        sysfs(&first.device, "size").parse::<u64>().unwrap() * 512,
        size
    );
    assert_eq!(
        sysfs(&first.device, "loop/backing_file"),
        std::fs::canonicalize(&file).unwrap().display().to_string()
    );

    let again = loopdev::create_loop_device(&file, size, None).unwrap();
    assert_eq!(again.device, first.device);
    assert!(again.reused && !again.created_file);
    assert_eq!(
        loopdev::find_attached(&file).unwrap(),
        Some(first.device.clone())
    );

    let other = dir.path().join("other.img");
    let wrong =
        loopdev::create_loop_device(&file, size, Some(Path::new("/dev/loop999999"))).unwrap_err();
    assert!(wrong.to_string().contains("already attached"), "{wrong:#}");
    let shrink = loopdev::create_loop_device(&file, size / 2, None).unwrap_err();
    assert!(
        shrink.to_string().contains("refusing to shrink"),
        "{shrink:#}"
    );
    assert!(!other.exists());

    assert!(loopdev::detach_loop_device(&first.device).unwrap());
    let start = Instant::now();
    while !sysfs(&first.device, "loop/backing_file").is_empty()
        && start.elapsed() < Duration::from_secs(5)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        sysfs(&first.device, "loop/backing_file"),
        "",
        "still attached after detach"
    );
    assert_eq!(loopdev::find_attached(&file).unwrap(), None);
    assert!(
        !loopdev::detach_loop_device(&first.device).unwrap(),
        "second detach should report not attached"
    );

    // Asking for that exact device (as Ceph settings do) attaches there.
    let named = loopdev::create_loop_device(&file, size, Some(&first.device)).unwrap();
    let _guard2 = Detach(Some(named.device.clone()));
    assert_eq!(
        (named.device.as_path(), named.reused),
        (first.device.as_path(), false)
    );
    assert!(loopdev::detach_loop_device(&named.device).unwrap());
}

#[test]
fn loop_device_refusals_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // Sizes a loop device cannot have: refused before any file or directory exists.
    for (size, says) in [
        (1u64, "multiple of 512"),
        (0, "multiple of 512"),
        (513, "multiple of 512"),
        (100 << 40, "at most"),
    ] {
        let file = dir.path().join(format!("new-{size}/data.img"));
        let err = loopdev::create_loop_device(&file, size, None).unwrap_err();
        assert!(format!("{err:#}").contains(says), "size {size}: {err:#}");
        assert!(
            !file.parent().unwrap().exists(),
            "size {size} left {}",
            file.display()
        );
    }
    // A size the filesystem may refuse (ext4 files end just below 16 TiB):
    // either attached, or nothing left behind.
    let edge = dir.path().join("edge/edge.img");
    match loopdev::create_loop_device(&edge, (16 << 40) - 512, None) {
        Ok(d) => {
            let _g = Detach(Some(d.device.clone()));
            assert!(loopdev::detach_loop_device(&d.device).unwrap());
        }
        Err(e) => {
            assert!(format!("{e:#}").contains("cannot size"), "{e:#}");
            assert!(!dir.path().join("edge").exists(), "failed, but left a file");
        }
    }

    // The file is attached with 16 MiB: asking for 32 MiB is refused and the file keeps its size.
    let file = dir.path().join("data.img");
    let first = loopdev::create_loop_device(&file, 16 << 20, None).unwrap();
    let _guard = Detach(Some(first.device.clone()));
    let err = loopdev::create_loop_device(&file, 32 << 20, None).unwrap_err();
    assert!(format!("{err:#}").contains("attached"), "{err:#}");
    assert_eq!(std::fs::metadata(&file).unwrap().len(), 16 << 20);
    assert_eq!(
        sysfs(&first.device, "size").parse::<u64>().unwrap() * 512,
        16 << 20
    );

    // That device is busy: another file asking for it gets no backing file...
    let other = dir.path().join("other.img");
    let err = loopdev::create_loop_device(&other, 8 << 20, Some(&first.device)).unwrap_err();
    assert!(format!("{err:#}").contains("busy"), "{err:#}");
    assert!(!other.exists(), "a refused request left a new backing file");
    // ...and an existing smaller one is not grown.
    std::fs::write(&other, vec![7u8; 4096]).unwrap();
    let err = loopdev::create_loop_device(&other, 8 << 20, Some(&first.device)).unwrap_err();
    assert!(format!("{err:#}").contains("busy"), "{err:#}");
    assert_eq!(std::fs::read(&other).unwrap(), vec![7u8; 4096]);

    // A device that does not exist is named as such, not blamed on the kernel module.
    let missing = Path::new("/dev/loop987654");
    assert!(!missing.exists());
    let err = loopdev::detach_loop_device(missing).unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("does not exist") && !msg.contains("kernel module"),
        "{msg}"
    );
}

#[test]
fn loop_device_bad_input_is_explained() {
    let err = loopdev::create_loop_device(
        Path::new("/tmp/apex-x.img"),
        1024,
        Some(Path::new("/dev/sda")),
    )
    .unwrap_err();
    assert!(err.to_string().contains("expected /dev/loopN"), "{err:#}");
    let err = loopdev::loop_unit(Path::new("/dev/loop3"), Path::new("relative.img")).unwrap_err();
    assert!(err.to_string().contains("absolute"), "{err:#}");
    assert!(loopdev::parse_size("3Q").is_err());
}

#[tokio::test]
async fn lua_create_and_detach_loop_device() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lua.img");
    let host = lua_host(false);
    let guard = Detach(None);
    let chunk = format!(
        r#"
        local core = require("apex.core")
        local d = core.create_loop_device({{file = {file:?}, size = "32M"}})
        APEX_TEST_DEVICE = d.device
        assert(d.size == 32 * 1024 * 1024 and not d.reused and d.created_file)
        local again = core.create_loop_device({{file = {file:?}, size = 33554432}})
        assert(again.device == d.device and again.reused)
        assert(core.detach_loop_device({{device = d.device}}).detached == true)
        assert(core.detach_loop_device({{device = d.device}}).detached == false)
        local ok, err = pcall(core.create_loop_device, {{file = {file:?}, size = "12X"}})
        assert(not ok and tostring(err):find("create_loop_device: bad options", 1, true), tostring(err))
        "#,
        file = file.display().to_string()
    );
    let res = run_lua(&host, &chunk).await;
    let dev: Option<String> = host.lua().globals().get("APEX_TEST_DEVICE").unwrap();
    drop(Detach(dev.map(PathBuf::from)));
    drop(guard);
    res.unwrap();
}

// ---------- image customization ----------

/// A small ext4 filesystem image in qcow2, made with mkfs.ext4 and qemu-img.
fn make_qcow2(dir: &Path) -> PathBuf {
    require_tool("mkfs.ext4", "e2fsprogs");
    require_tool("qemu-img", "qemu-utils");
    let raw = dir.join("fs.raw");
    let qcow = dir.join("overcloud-full.qcow2");
    sh(&format!("mkfs.ext4 -q -F -L img {} 64M", raw.display()));
    sh(&format!(
        "qemu-img convert -O qcow2 {} {}",
        raw.display(),
        qcow.display()
    ));
    std::fs::remove_file(raw).unwrap();
    qcow
}

/// Mounts a qcow2 image read-only with the system tools (not apex code) and
/// hands the mount point to `check`; cleans up whatever happens.
fn with_mounted_copy(image: &Path, check: impl FnOnce(&Path)) {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("check.raw");
    sh(&format!(
        "qemu-img convert -O raw {} {}",
        image.display(),
        raw.display()
    ));
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    sh(&format!(
        "mount -o loop,ro {} {}",
        raw.display(),
        mnt.display()
    ));
    struct Umount(PathBuf);
    impl Drop for Umount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _u = Umount(mnt.clone());
    check(&mnt);
}

fn no_loop_device_uses(dir: &Path) {
    let dir = std::fs::canonicalize(dir).unwrap().display().to_string();
    for e in std::fs::read_dir("/sys/block").unwrap().flatten() {
        let bf = std::fs::read_to_string(e.path().join("loop/backing_file")).unwrap_or_default();
        assert!(
            !bf.starts_with(&dir),
            "{} still attached to {bf}",
            e.file_name().to_string_lossy()
        );
    }
}

#[tokio::test]
async fn image_gets_the_loop_unit_and_the_sparse_file() {
    let dir = tempfile::tempdir().unwrap();
    let image = make_qcow2(dir.path());
    let extra = dir.path().join("ceph.conf");
    std::fs::write(&extra, "[global]\nosd pool default size = 1\n").unwrap();
    let host = lua_host(false);
    let chunk = format!(
        r#"
        local core = require("apex.core")
        local unit = core.loop_unit({{device = "/dev/loop3", file = "/srv/data.img"}})
        local r = core.customize_image({{image = {image:?}, ops = {{
            {{op = "truncate", path = "/srv/data.img", size = "1G"}},
            {{op = "write", path = unit.path, content = unit.text, mode = 420}},
            {{op = "symlink", path = unit.enable_link, target = unit.enable_target}},
            {{op = "mkdir", path = "/etc/ceph", mode = 493}},
            {{op = "upload", from = {extra:?}, to = "/etc/ceph/ceph.conf", mode = 384}},
        }}}})
        assert(r.format == "qcow2" and #r.applied == 5, r.format)
        UNIT_TEXT = unit.text
        "#,
        image = image.display().to_string(),
        extra = extra.display().to_string(),
    );
    run_lua(&host, &chunk).await.unwrap();
    let unit_text: String = host.lua().globals().get("UNIT_TEXT").unwrap();
    no_loop_device_uses(dir.path());
    let info = sh(&format!("qemu-img info --output=json {}", image.display()));
    assert!(info.contains("\"format\": \"qcow2\""), "{info}");
    with_mounted_copy(&image, |root| {
        let data = std::fs::metadata(root.join("srv/data.img")).unwrap();
        assert_eq!(data.len(), 1 << 30);
        assert!(
            std::os::unix::fs::MetadataExt::blocks(&data) * 512 < 1 << 20,
            "data.img is not sparse"
        );
        let unit = root.join("etc/systemd/system/apex-loop3.service");
        assert_eq!(std::fs::read_to_string(&unit).unwrap(), unit_text);
        let link = root.join("etc/systemd/system/local-fs.target.wants/apex-loop3.service");
        assert_eq!(
            std::fs::read_link(&link).unwrap(),
            Path::new("/etc/systemd/system/apex-loop3.service")
        );
        let conf = root.join("etc/ceph/ceph.conf");
        assert_eq!(
            std::fs::read_to_string(&conf).unwrap(),
            "[global]\nosd pool default size = 1\n"
        );
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(
                &std::fs::metadata(&conf).unwrap().permissions()
            ) & 0o777,
            0o600
        );
    });
}

#[test]
fn image_symlinks_cannot_lead_outside_and_failures_leave_the_image_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let image = make_qcow2(dir.path());
    let host_target = dir.path().join("host-side");
    std::fs::create_dir(&host_target).unwrap();
    // An absolute symlink in the image naming a path that exists on the host
    // (and in the image): writing through it must land inside the image.
    apex::image_edit::customize_image(
        &serde_json::from_value(serde_json::json!({
            "image": image,
            "ops": [
                {"op": "mkdir", "path": host_target},
                {"op": "symlink", "path": "/escape", "target": host_target},
                {"op": "write", "path": "/escape/inside.txt", "content": "in the image"}
            ]
        }))
        .unwrap(),
    )
    .unwrap();
    assert!(
        !host_target.join("inside.txt").exists(),
        "a write escaped the image"
    );
    let in_image = host_target.strip_prefix("/").unwrap().join("inside.txt");
    with_mounted_copy(&image, |root| {
        assert_eq!(
            std::fs::read_to_string(root.join(&in_image)).unwrap(),
            "in the image"
        )
    });

    // A failing operation keeps the old image.
    let before = sh(&format!("sha256sum {}", image.display()));
    let err = apex::image_edit::customize_image(
        &serde_json::from_value(serde_json::json!({
            "image": image,
            "ops": [
                {"op": "write", "path": "/etc/motd", "content": "x"},
                {"op": "mkdir", "path": "/etc/hostname-dir"},
                {"op": "write", "path": "/etc/hostname-dir", "content": "not a file"}
            ]
        }))
        .unwrap(),
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("operation 3"), "{err:#}");
    assert_eq!(
        sh(&format!("sha256sum {}", image.display())),
        before,
        "failed customization changed the image"
    );
    no_loop_device_uses(dir.path());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(leftovers.len(), 2, "work files left behind: {leftovers:?}");

    let bad = serde_json::from_value::<apex::image_edit::CustomizeOpts>(serde_json::json!({
        "image": image, "ops": [{"op": "write", "path": "etc/relative", "content": ""}]
    }))
    .unwrap();
    assert!(
        format!("{:#}", apex::image_edit::customize_image(&bad).unwrap_err())
            .contains("must be absolute")
    );
    let dotdot = serde_json::from_value::<apex::image_edit::CustomizeOpts>(serde_json::json!({
        "image": image, "ops": [{"op": "mkdir", "path": "/../../etc"}]
    }))
    .unwrap();
    assert!(
        format!(
            "{:#}",
            apex::image_edit::customize_image(&dotdot).unwrap_err()
        )
        .contains("..")
    );
}

#[test]
fn image_tree_is_removed_and_a_tar_unpacked_in_its_place_without_leaving_the_image() {
    let dir = tempfile::tempdir().unwrap();
    let image = make_qcow2(dir.path());
    // A host directory that an absolute symlink in the image names: removing
    // the tree holding that symlink must not touch the host side.
    let host_side = dir.path().join("host-keep");
    std::fs::create_dir(&host_side).unwrap();
    std::fs::write(host_side.join("keep.txt"), "host").unwrap();
    let op = |v: serde_json::Value| v;
    let customize = |ops: Vec<serde_json::Value>| {
        apex::image_edit::customize_image(
            &serde_json::from_value(serde_json::json!({"image": image, "ops": ops})).unwrap(),
        )
    };
    customize(vec![
        op(serde_json::json!({"op": "write", "path": "/etc/puppet/modules/opendaylight/old.pp", "content": "old"})),
        op(serde_json::json!({"op": "write", "path": "/etc/puppet/modules/opendaylight/sub/deep.pp", "content": "old"})),
        op(serde_json::json!({"op": "symlink", "path": "/etc/puppet/modules/opendaylight/host", "target": host_side})),
        op(serde_json::json!({"op": "write", "path": "/etc/puppet/modules/stdlib/init.pp", "content": "keep"})),
    ])
    .unwrap();

    // The new module as a tar.gz, the way a module is published.
    let src = dir.path().join("module");
    std::fs::create_dir_all(src.join("opendaylight/manifests")).unwrap();
    std::fs::write(
        src.join("opendaylight/manifests/init.pp"),
        "class opendaylight {}\n",
    )
    .unwrap();
    std::fs::write(
        src.join("opendaylight/metadata.json"),
        "{\"version\": \"9.9.9\"}\n",
    )
    .unwrap();
    let tarball = dir.path().join("puppet-opendaylight.tar.gz");
    sh(&format!(
        "tar -czf {} -C {} opendaylight",
        tarball.display(),
        src.display()
    ));

    let r = customize(vec![
        op(serde_json::json!({"op": "remove", "path": "/etc/puppet/modules/opendaylight"})),
        op(serde_json::json!({"op": "remove", "path": "/etc/not/there"})),
        op(serde_json::json!({"op": "unpack", "from": tarball, "to": "/etc/puppet/modules/"})),
    ])
    .unwrap();
    assert_eq!(r.applied.len(), 3);
    assert_eq!(
        std::fs::read_to_string(host_side.join("keep.txt")).unwrap(),
        "host",
        "remove followed a symlink out"
    );
    with_mounted_copy(&image, |root| {
        let m = root.join("etc/puppet/modules");
        assert_eq!(
            std::fs::read_to_string(m.join("opendaylight/metadata.json")).unwrap(),
            "{\"version\": \"9.9.9\"}\n"
        );
        assert!(m.join("opendaylight/manifests/init.pp").is_file());
        for gone in [
            "opendaylight/old.pp",
            "opendaylight/sub",
            "opendaylight/host",
        ] {
            assert!(
                std::fs::symlink_metadata(m.join(gone)).is_err(),
                "{gone} survived the remove"
            );
        }
        assert_eq!(
            std::fs::read_to_string(m.join("stdlib/init.pp")).unwrap(),
            "keep",
            "a sibling was removed"
        );
    });

    // An archive entry that would leave the destination is refused; the image stays as it was.
    let evil = dir.path().join("evil.tar");
    sh(&format!(
        "cd {} && tar -cf {} --absolute-names /etc/hostname",
        dir.path().display(),
        evil.display()
    ));
    let before = sh(&format!("sha256sum {}", image.display()));
    let err = customize(vec![op(
        serde_json::json!({"op": "unpack", "from": evil, "to": "/srv"}),
    )])
    .unwrap_err();
    assert!(format!("{err:#}").contains("unpack"), "{err:#}");
    assert_eq!(sh(&format!("sha256sum {}", image.display())), before);
    no_loop_device_uses(dir.path());
}

#[test]
fn image_files_are_patched_with_a_multi_file_diff_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let image = make_qcow2(dir.path());
    let customize = |ops: serde_json::Value| {
        apex::image_edit::customize_image(
            &serde_json::from_value(serde_json::json!({"image": image, "ops": ops})).unwrap(),
        )
    };
    customize(serde_json::json!([
        {"op": "write", "path": "/etc/puppet/modules/tripleo/manifests/init.pp", "content": "class tripleo {\n  $a = 1\n}\n"},
        {"op": "write", "path": "/etc/puppet/modules/tripleo/old.pp", "content": "gone\n"},
    ]))
    .unwrap();
    // A git format-patch mail: a change, a new file, a removed one.
    let diff = dir.path().join("I333.patch");
    std::fs::write(
        &diff,
        "From 0123 Mon Sep 17 00:00:00 2001\nSubject: [PATCH] tune tripleo\n\n---\n\
         diff --git a/manifests/init.pp b/manifests/init.pp\nindex 1..2 100644\n--- a/manifests/init.pp\n+++ b/manifests/init.pp\n\
         @@ -1,3 +1,3 @@\n class tripleo {\n-  $a = 1\n+  $a = 2\n }\n\
         diff --git a/new.pp b/new.pp\nnew file mode 100644\nindex 0..3\n--- /dev/null\n+++ b/new.pp\n@@ -0,0 +1 @@\n+added\n\
         diff --git a/old.pp b/old.pp\ndeleted file mode 100644\nindex 4..0\n--- a/old.pp\n+++ /dev/null\n@@ -1 +0,0 @@\n-gone\n",
    )
    .unwrap();
    customize(
        serde_json::json!([{"op": "patch", "from": diff, "dir": "/etc/puppet/modules/tripleo"}]),
    )
    .unwrap();
    with_mounted_copy(&image, |root| {
        let m = root.join("etc/puppet/modules/tripleo");
        assert_eq!(
            std::fs::read_to_string(m.join("manifests/init.pp")).unwrap(),
            "class tripleo {\n  $a = 2\n}\n"
        );
        assert_eq!(
            std::fs::read_to_string(m.join("new.pp")).unwrap(),
            "added\n"
        );
        assert!(
            !m.join("old.pp").exists(),
            "the deleted file is still there"
        );
    });

    // A diff whose second file does not apply changes nothing, and says which file.
    let bad = dir.path().join("bad.patch");
    std::fs::write(
        &bad,
        "--- a/manifests/init.pp\n+++ b/manifests/init.pp\n@@ -1,3 +1,3 @@\n class tripleo {\n-  $a = 2\n+  $a = 3\n }\n\
         --- a/new.pp\n+++ b/new.pp\n@@ -1 +1 @@\n-not what is there\n+x\n",
    )
    .unwrap();
    let before = sh(&format!("sha256sum {}", image.display()));
    let err = customize(
        serde_json::json!([{"op": "patch", "from": bad, "dir": "/etc/puppet/modules/tripleo"}]),
    )
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("new.pp: the patch does not apply"),
        "{err:#}"
    );
    assert_eq!(sh(&format!("sha256sum {}", image.display())), before);
    // Paths leaving the directory are refused.
    let escape = dir.path().join("escape.patch");
    std::fs::write(
        &escape,
        "--- /dev/null\n+++ b/../../../../x\n@@ -0,0 +1 @@\n+x\n",
    )
    .unwrap();
    let err =
        customize(serde_json::json!([{"op": "patch", "from": escape, "dir": "/etc"}])).unwrap_err();
    assert!(format!("{err:#}").contains(".."), "{err:#}");
    no_loop_device_uses(dir.path());
}

/// The lab's overcloud image (busybox userland, recording yum stand-in).
fn make_lab_image(dir: &Path) -> PathBuf {
    require_tool("mkfs.ext4", "e2fsprogs");
    require_tool("qemu-img", "qemu-utils");
    let qcow = dir.join("overcloud-full.qcow2");
    apex_lab::artifact_files::make_overcloud_qcow2(&qcow).expect("lab overcloud image");
    qcow
}

/// Mount points at or below `dir` in this process's mount namespace.
fn mounts_under(dir: &Path) -> Vec<String> {
    let dir = std::fs::canonicalize(dir).unwrap();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| Path::new(m).starts_with(&dir))
        .map(str::to_string)
        .collect()
}

/// Processes whose root directory is below `dir` (chrooted into an image there).
fn processes_rooted_under(dir: &Path) -> Vec<String> {
    let dir = std::fs::canonicalize(dir).unwrap();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter(|e| std::fs::read_link(e.path().join("root")).is_ok_and(|r| r.starts_with(&dir)))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// Nothing of a customization is left: no mount below `dir`, no loop device
/// on the image or on a work copy beside it, no process chrooted there.
fn nothing_left(dir: &Path, image: &Path) {
    assert_eq!(
        mounts_under(dir),
        Vec::<String>::new(),
        "mounts left behind"
    );
    assert_eq!(
        sh(&format!("losetup -j {}", image.display())).trim(),
        "",
        "loop device on the image"
    );
    let canon = std::fs::canonicalize(dir).unwrap().display().to_string();
    let all = sh("losetup -a");
    assert!(
        !all.lines().any(|l| l.contains(&canon)),
        "loop device on a work copy:\n{all}"
    );
    no_loop_device_uses(dir);
    assert_eq!(
        processes_rooted_under(dir),
        Vec::<String>::new(),
        "processes left running in the image"
    );
}

fn customize_json(
    image: &Path,
    ops: serde_json::Value,
) -> anyhow::Result<apex::image_edit::CustomizeReport> {
    apex::image_edit::customize_image(
        &serde_json::from_value(serde_json::json!({"image": image, "ops": ops})).unwrap(),
    )
}

#[test]
fn lab_overcloud_image_is_reproducible_and_has_a_userland() {
    let dir = tempfile::tempdir().unwrap();
    let a = make_lab_image(dir.path());
    let b = dir.path().join("again.qcow2");
    std::thread::sleep(Duration::from_millis(1100));
    apex_lab::artifact_files::make_overcloud_qcow2(&b).unwrap();
    assert_eq!(
        std::fs::read(&a).unwrap(),
        std::fs::read(&b).unwrap(),
        "the lab's overcloud image differs from one build to the next"
    );
    with_mounted_copy(&a, |root| {
        assert!(root.join("bin/busybox").is_file());
        for applet in ["sh", "echo", "cat", "mkdir", "ls", "rm"] {
            assert_eq!(
                std::fs::read_link(root.join("bin").join(applet)).unwrap(),
                Path::new("busybox"),
                "{applet}"
            );
        }
        let yum = std::fs::metadata(root.join("usr/bin/yum")).unwrap();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&yum.permissions()) & 0o777,
            0o755
        );
        for d in ["proc", "sys", "dev"] {
            assert!(root.join(d).is_dir(), "/{d}");
        }
        assert_eq!(
            std::fs::read_to_string(root.join("etc/puppet/modules/tripleo/manifests/init.pp"))
                .unwrap(),
            apex_lab::artifact_files::IMAGE_PUPPET_TRIPLEO_INIT
        );
    });
}

#[test]
fn image_run_operations_run_chrooted_in_order_with_file_ops() {
    let dir = tempfile::tempdir().unwrap();
    let image = make_lab_image(dir.path());
    let host_marker = Path::new("/dev/apex-run-test-marker");
    let r = customize_json(
        &image,
        serde_json::json!([
            {"op": "write", "path": "/etc/greeting", "content": "hello\n"},
            {"op": "run", "command": concat!(
                "set -e; cat /etc/greeting > /root/seen; ",
                "echo \"$PATH|$HOME|$LANG|$(pwd)\" > /root/env; ",
                "env | sort > /root/environ; ",
                "cat > /root/stdin; ",
                "test -r /proc/self/status && echo proc >> /root/seen; ",
                "test -c /dev/null && echo dev-null >> /root/seen; ",
                "test -d /dev/pts && echo pts >> /root/seen; ",
                "test -d /sys/class && echo sys >> /root/seen; ",
                "if test -f /etc/resolv.conf; then echo resolv >> /root/seen; fi; ",
                "touch /dev/apex-run-test-marker 2>/dev/null || echo dev-read-only >> /root/seen; ",
                // The same value back: harmless should the bind be writable.
                "cat /proc/sys/kernel/hostname > /root/hostname; ",
                "cat /root/hostname > /proc/sys/kernel/hostname 2>/dev/null || echo proc-read-only >> /root/seen; ",
                "chmod \"$(stat -c %a /dev/pts/ptmx)\" /dev/pts/ptmx 2>/dev/null || echo pts-read-only >> /root/seen; ",
                "cat /sys/class/mem/null/dev > /dev/null; echo x > /dev/null && echo dev-writable-nodes >> /root/seen; ",
                "echo to-the-log"
            )},
            {"op": "write", "path": "/etc/later", "content": "later\n"},
            {"op": "run", "command": "cat /etc/later >> /root/seen", "timeout": 60},
        ]),
    )
    .unwrap();
    assert_eq!(r.applied.len(), 4);
    assert_eq!(r.format, "qcow2");
    nothing_left(dir.path(), &image);
    assert!(!host_marker.exists(), "the run wrote into the host's /dev");
    let host_has_resolv = Path::new("/etc/resolv.conf").is_file();
    with_mounted_copy(&image, |root| {
        let mut want = "hello\nproc\ndev-null\npts\nsys\n".to_string();
        if host_has_resolv {
            want.push_str("resolv\n");
        }
        want.push_str("dev-read-only\nproc-read-only\npts-read-only\ndev-writable-nodes\nlater\n");
        assert_eq!(
            std::fs::read_to_string(root.join("root/seen")).unwrap(),
            want
        );
        assert_eq!(
            std::fs::read_to_string(root.join("root/env")).unwrap(),
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|/root|C|/\n"
        );
        let environ = std::fs::read_to_string(root.join("root/environ")).unwrap();
        for line in environ.lines() {
            let name = line.split('=').next().unwrap();
            assert!(
                ["PATH", "HOME", "LANG", "PWD", "SHLVL", "_"].contains(&name),
                "unexpected variable in the command's environment: {line}\n{environ}"
            );
        }
        assert_eq!(
            std::fs::read(root.join("root/stdin")).unwrap(),
            b"",
            "stdin is not closed"
        );
        assert!(
            std::fs::symlink_metadata(root.join("etc/resolv.conf")).is_err(),
            "the lent resolv.conf stayed in the image"
        );
    });
}

#[test]
fn image_run_failure_reports_its_output_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let image = make_lab_image(dir.path());
    let before = sh(&format!("sha256sum {}", image.display()));
    let err = customize_json(
        &image,
        serde_json::json!([
            {"op": "write", "path": "/etc/motd", "content": "x"},
            {"op": "run", "command": "echo first-line; i=0; while [ $i -lt 30 ]; do echo line-$i; i=$((i+1)); done; echo oops >&2; exit 3"},
            {"op": "write", "path": "/etc/never", "content": "x"},
        ]),
    )
    .unwrap_err();
    let err = format!("{err:#}");
    assert!(err.contains("operation 2"), "{err}");
    assert!(err.contains("exit status 3"), "{err}");
    assert!(
        err.contains("echo first-line;"),
        "the command is named: {err}"
    );
    assert!(
        err.contains("line-29\noops"),
        "the tail of the output: {err}"
    );
    assert!(!err.contains("first-line\n"), "only the tail: {err}");
    assert_eq!(
        sh(&format!("sha256sum {}", image.display())),
        before,
        "failed run changed the image"
    );
    nothing_left(dir.path(), &image);

    // Killed by a signal, and a missing program: same cleanup.
    let err = format!(
        "{:#}",
        customize_json(
            &image,
            serde_json::json!([{"op": "run", "command": "echo dying; kill -9 $$"}])
        )
        .unwrap_err()
    );
    assert!(
        err.contains("killed by signal 9") && err.contains("dying"),
        "{err}"
    );
    nothing_left(dir.path(), &image);
    let err = format!(
        "{:#}",
        customize_json(
            &image,
            serde_json::json!([{"op": "run", "command": "no-such-program --x"}])
        )
        .unwrap_err()
    );
    assert!(
        err.contains("exit status 127") && err.contains("no-such-program"),
        "{err}"
    );
    nothing_left(dir.path(), &image);

    // An image without a shell says so.
    let bare = tempfile::tempdir().unwrap();
    let bare_image = make_qcow2(bare.path());
    let err = format!(
        "{:#}",
        customize_json(
            &bare_image,
            serde_json::json!([{"op": "run", "command": "true"}])
        )
        .unwrap_err()
    );
    assert!(err.contains("the image has no /bin/sh"), "{err}");
    nothing_left(bare.path(), &bare_image);
    assert_eq!(sh(&format!("sha256sum {}", image.display())), before);
}

#[test]
fn image_run_timeout_kills_the_command_tree_and_leftovers_are_killed() {
    let dir = tempfile::tempdir().unwrap();
    let image = make_lab_image(dir.path());
    let started = Instant::now();
    let err = format!(
        "{:#}",
        customize_json(
            &image,
            serde_json::json!([{"op": "run", "command": "sleep 300 & echo started; sleep 300", "timeout": 1}])
        )
        .unwrap_err()
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the timeout did not stop it"
    );
    assert!(
        err.contains("did not finish within 1s") && err.contains("started"),
        "{err}"
    );
    nothing_left(dir.path(), &image);

    // A daemon that left the command's process group is still found (by its
    // root) and killed; the run itself succeeds.
    customize_json(
        &image,
        serde_json::json!([{"op": "run", "command": "setsid sleep 300 </dev/null >/dev/null 2>&1 & echo spawned > /root/daemon"}]),
    )
    .unwrap();
    nothing_left(dir.path(), &image);
    with_mounted_copy(&image, |root| {
        assert_eq!(
            std::fs::read_to_string(root.join("root/daemon")).unwrap(),
            "spawned\n"
        );
    });
}

#[test]
fn lua_install_and_run_go_through_the_images_own_package_manager() {
    let dir = tempfile::tempdir().unwrap();
    let image = make_lab_image(dir.path());
    let script = dir.path().join("customize.lua");
    std::fs::write(
        &script,
        format!(
            r##"
            local core = require("apex.core")
            local customize = require("apex.customize")
            local ops, skipped = customize.image_ops({{ tmp_dir = "/nonexistent", files = {{}} }}, {{
              {{ op = "install", arg = "java-1.8.0-openjdk,tcpdump", reason = "odl" }},
              {{ op = "run-command", arg = "echo ran > /root/ran; echo run-output-line", reason = "r" }},
            }})
            assert(#ops == 2 and #skipped == 0)
            local r = core.customize_image({{ image = {image:?}, ops = ops }})
            assert(#r.applied == 2, #r.applied)
            -- Without yum, dnf; without either, an error naming both.
            local dnf = "#!/bin/sh\necho \"$@\" > /root/dnf-args\n"
            core.customize_image({{ image = {image:?}, ops = {{
              {{ op = "remove", path = "/usr/bin/yum" }},
              {{ op = "write", path = "/usr/bin/dnf", content = dnf, mode = 493 }},
              {{ op = "run", command = customize.install_command("vim") }},
            }} }})
            local ok, e = pcall(core.customize_image, {{ image = {image:?}, ops = {{
              {{ op = "remove", path = "/usr/bin/dnf" }},
              {{ op = "run", command = customize.install_command("vim") }},
            }} }})
            assert(not ok, "install without a package manager succeeded")
            e = tostring(e)
            assert(e:find("customize_image", 1, true) and e:find("neither /usr/bin/yum nor /usr/bin/dnf", 1, true)
              and e:find("exit status 127", 1, true), e)
            "##,
            image = image.display().to_string()
        ),
    )
    .unwrap();
    let log_file = dir.path().join("apex.log");
    let out = apex_with_tmp(dir.path())
        .arg("--log-file")
        .arg(&log_file)
        .arg("run")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "apex run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = std::fs::read_to_string(&log_file).unwrap();
    assert!(
        log.lines()
            .any(|l| l.contains("apex::image_edit::output") && l.contains("run-output-line")),
        "the command's output is not in the log:\n{log}"
    );
    nothing_left(dir.path(), &image);
    with_mounted_copy(&image, |root| {
        assert_eq!(
            std::fs::read_to_string(root.join("var/log/apex-lab-yum.log")).unwrap(),
            "-y install java-1.8.0-openjdk tcpdump\n"
        );
        for p in ["java-1.8.0-openjdk", "tcpdump"] {
            assert!(
                root.join("usr/share/apex-lab-packages").join(p).is_file(),
                "{p}"
            );
        }
        assert_eq!(
            std::fs::read_to_string(root.join("root/ran")).unwrap(),
            "ran\n"
        );
        assert_eq!(
            std::fs::read_to_string(root.join("root/dnf-args")).unwrap(),
            "-y install vim\n"
        );
    });

    // A package yum cannot find fails the customization with yum's words.
    let err = format!(
        "{:#}",
        customize_json(
            &make_lab_image(&{
                let d = dir.path().join("fresh");
                std::fs::create_dir(&d).unwrap();
                d
            }),
            serde_json::json!([{"op": "run", "command": "yum -y install apex-lab-missing-pkg"}])
        )
        .unwrap_err()
    );
    assert!(
        err.contains("exit status 1") && err.contains("No package apex-lab-missing-pkg available."),
        "{err}"
    );
    nothing_left(dir.path(), &image);
}

#[test]
fn temp_loop_device_is_detached_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.img");
    loopdev::ensure_sparse_file(&file, 8 << 20).unwrap();
    let dev = {
        let lo = TempLoop::attach(&file, None).unwrap();
        assert_eq!(
            loopdev::find_attached(&file).unwrap().as_deref(),
            Some(lo.device())
        );
        lo.device().to_path_buf()
    };
    let start = Instant::now();
    while loopdev::find_attached(&file).unwrap().is_some()
        && start.elapsed() < Duration::from_secs(5)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        loopdev::find_attached(&file).unwrap(),
        None,
        "{} still attached",
        dev.display()
    );
}

/// A disk image with an MBR partition table: p1 4 MiB without a filesystem,
/// p2 60 MiB of ext4 (what whole-disk overcloud images look like).
fn make_partitioned_raw(dir: &Path) -> (PathBuf, u64) {
    require_tool("mkfs.ext4", "e2fsprogs");
    const MIB: u64 = 1 << 20;
    let (p1_start, p1_len, p2_start, p2_len) = (MIB, 4 * MIB, 5 * MIB, 60 * MIB);
    let fs = dir.join("p2.ext4");
    sh(&format!("mkfs.ext4 -q -F -L root {} 60M", fs.display()));
    let disk = dir.join("disk.raw");
    let mut mbr = vec![0u8; 512];
    for (i, (start, len, kind)) in [(p1_start, p1_len, 0xdau8), (p2_start, p2_len, 0x83)]
        .into_iter()
        .enumerate()
    {
        let e = &mut mbr[446 + 16 * i..446 + 16 * (i + 1)];
        e[4] = kind;
        e[8..12].copy_from_slice(&((start / 512) as u32).to_le_bytes());
        e[12..16].copy_from_slice(&((len / 512) as u32).to_le_bytes());
    }
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    let mut f = std::fs::File::create(&disk).unwrap();
    f.write_all(&mbr).unwrap();
    f.set_len(p2_start + p2_len).unwrap();
    use std::io::Seek as _;
    f.seek(std::io::SeekFrom::Start(p2_start)).unwrap();
    std::io::copy(&mut std::fs::File::open(&fs).unwrap(), &mut f).unwrap();
    std::fs::remove_file(fs).unwrap();
    (disk, p2_start)
}

#[test]
fn image_with_a_partition_table_is_edited_on_its_largest_partition() {
    let dir = tempfile::tempdir().unwrap();
    let (disk, offset) = make_partitioned_raw(dir.path());
    let opts = serde_json::from_value::<apex::image_edit::CustomizeOpts>(serde_json::json!({
        "image": disk,
        "ops": [{"op": "write", "path": "/etc/apex-partition", "content": "on p2\n"}]
    }))
    .unwrap();
    let report = apex::image_edit::customize_image(&opts).unwrap();
    assert_eq!(report.format, "raw");
    no_loop_device_uses(dir.path());
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    sh(&format!(
        "mount -o loop,ro,offset={offset} {} {}",
        disk.display(),
        mnt.display()
    ));
    let content = std::fs::read_to_string(mnt.join("etc/apex-partition"));
    let _ = Command::new("umount").arg(&mnt).status();
    assert_eq!(content.unwrap(), "on p2\n");
    let missing = serde_json::from_value::<apex::image_edit::CustomizeOpts>(serde_json::json!({
        "image": disk, "partition": 7, "ops": [{"op": "mkdir", "path": "/x"}]
    }))
    .unwrap();
    let err = format!(
        "{:#}",
        apex::image_edit::customize_image(&missing).unwrap_err()
    );
    assert!(
        err.contains("p7 does not exist") && err.contains("has 2"),
        "{err}"
    );
    no_loop_device_uses(dir.path());
}

// ---------- agent auth, log streaming, not root ----------

/// An ssh-agent on its own socket holding the lab's user key; killed on drop.
struct Agent {
    child: std::process::Child,
    socket: PathBuf,
}

impl Agent {
    fn start(dir: &Path, key: &Path) -> Agent {
        require_tool("ssh-agent", "openssh-client");
        let socket = dir.join("agent.sock");
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("ssh-agent starts");
        let start = Instant::now();
        while !socket.exists() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "ssh-agent did not create {}",
                socket.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let agent = Agent { child, socket };
        let out = Command::new("ssh-add")
            .arg(key)
            .env("SSH_AUTH_SOCK", &agent.socket)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "ssh-add: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        agent
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn ssh_authenticates_through_an_agent() {
    let s = sshd();
    let agent = Agent::start(s.dir(), &s.user_key());
    // No key file: the agent's key is the only authorized one it can offer.
    let h = SshHost {
        key: None,
        agent_socket: Some(agent.socket.clone()),
        ..host_of(&s)
    };
    let out = run_ssh(&h, &RemoteCommand::new("echo via agent").check())
        .await
        .unwrap();
    assert_eq!(out.stdout_text(), "via agent\n");
    assert!(s.log().contains("Accepted publickey"), "{}", s.log());
}

/// Through the real CLI: `apex run` a Lua script calling run_ssh, then read
/// the log file it wrote.
#[test]
fn ssh_output_is_streamed_into_the_log_line_by_line() {
    let s = sshd();
    let script = s.dir().join("stream.lua");
    std::fs::write(
        &script,
        format!(
            "require('apex.core').run_ssh({{host = {}, command = 'echo line-one; echo line-two; echo problem >&2; printf tail-no-newline'}})",
            lua_host_table(&s)
        ),
    )
    .unwrap();
    let log_file = s.dir().join("apex.log");
    let out = apex_with_tmp(&s.dir().join("tmp"))
        .arg("--log-file")
        .arg(&log_file)
        .arg("run")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "apex run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = std::fs::read_to_string(&log_file).unwrap();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("apex::ssh::output"))
        .collect();
    assert_eq!(lines.len(), 4, "{log}");
    let expected = [
        ("line-one", "stdout"),
        ("line-two", "stdout"),
        ("problem", "stderr"),
        ("tail-no-newline", "stdout"),
    ];
    // Each line is its own event, on its stream; stdout keeps its order.
    let position = |want: &str, stream: &str| {
        lines
            .iter()
            .position(|l| {
                l.contains(&format!(": {want} ")) && l.contains(&format!("stream=\"{stream}\""))
            })
            .unwrap_or_else(|| panic!("{want} on {stream} missing:\n{log}"))
    };
    let at: Vec<usize> = expected.iter().map(|(w, st)| position(w, st)).collect();
    assert!(
        at[0] < at[1] && at[1] < at[3],
        "stdout lines out of order:\n{log}"
    );
}

#[test]
fn loop_device_without_root_says_so() {
    require_tool("setpriv", "util-linux");
    let dir = tempfile::Builder::new()
        .prefix("apex-noroot-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let script = dir.path().join("loop.lua");
    std::fs::write(
        &script,
        format!(
            "return require('apex.core').create_loop_device({{file = {:?}, size = '1M'}})",
            dir.path().join("nobody.img").display().to_string()
        ),
    )
    .unwrap();
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            "--",
        ])
        .arg(env!("CARGO_BIN_EXE_apex"))
        .arg("run")
        .arg(&script)
        .env("HOME", dir.path())
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "create_loop_device succeeded as nobody"
    );
    assert!(
        stderr.contains("create_loop_device:") && stderr.contains("need root or CAP_SYS_ADMIN"),
        "unclear error as nobody:\n{stderr}"
    );
}

#[test]
fn what_a_killed_run_left_is_named_by_status_and_cleaned_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("tmp");
    // As a SIGKILL in the middle of an image customization leaves it: the
    // work dir with its raw copy, attached to a loop device and mounted.
    let work = tmp.join("images/.apex-image-killed");
    let root = work.join("root-1");
    std::fs::create_dir_all(&root).unwrap();
    let raw = work.join("image.raw");
    sh(&format!(
        "truncate -s 16M {0} && mkfs.ext4 -q -F {0}",
        raw.display()
    ));
    let dev = sh(&format!("losetup --find --show {}", raw.display()))
        .trim()
        .to_string();
    sh(&format!("mount {dev} {}", root.display()));
    let staging = tmp.join(".apex-unpack-zzz");
    std::fs::create_dir_all(&staging).unwrap();
    std::fs::write(staging.join("half.bin"), vec![7u8; 4096]).unwrap();

    let status = Command::new(env!("CARGO_BIN_EXE_apex"))
        .args(["status", "--tmp-dir"])
        .arg(&tmp)
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&status.stdout);
    assert!(
        shown.contains(&format!(
            "left by a killed run: {} (1 mounts, 1 loop devices",
            work.display()
        )),
        "{shown}"
    );
    assert!(shown.contains(&staging.display().to_string()), "{shown}");

    let out = Command::new(env!("CARGO_BIN_EXE_apex"))
        .args(["deploy", "os-nosdn-nofeature-noha", "--plan", "--tmp-dir"])
        .arg(&tmp)
        .env_remove("APEX_LUA_PATH")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!work.exists() && !staging.exists());
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mountinfo.contains(&root.display().to_string()),
        "still mounted"
    );
    let attached = sh("losetup -a");
    assert!(!attached.contains(&raw.display().to_string()), "{attached}");
    assert!(read_log(&tmp).contains("removed what an earlier run left"));
}

fn read_log(tmp: &Path) -> String {
    std::fs::read_to_string(tmp.join("apex.log")).unwrap_or_default()
}
