//! SSH against the real lab: a real sshd on loopback (its own config, host
//! and user keys under a temp dir): run_ssh, host and user keys, kept
//! masters, upload, the Lua bindings, agent auth and log streaming.

#[path = "common/hosts.rs"]
mod hosts;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use apex::ssh::{RemoteCommand, SshError, SshHost, UploadOpts, run_many, run_ssh, upload};
use apex_lab::sshd::Sshd;
use hosts::*;
use sha2::Digest as _;

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
        std::fs::write(&script, format!("assert(require('apex.core').ssh.run({{host = {host}, command = 'echo {tag}'}}).stdout == '{tag}\\n')")).unwrap();
        apex_run(&tmp, &[], &script);
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
            "assert(require('apex.core').ssh.run({{host = {}, command = 'echo ok'}}).stdout == 'ok\\n')",
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
        local r = core.ssh.run({{host = h, command = "echo hi; echo oops >&2; exit 4", check = false}})
        assert(r.status == 4 and r.ok == false, "status " .. tostring(r.status))
        assert(r.stdout == "hi\n" and r.stderr == "oops\n")
        local ok, err = pcall(core.ssh.run, {{host = h, command = "exit 9"}})
        assert(not ok and tostring(err):find("ssh.run: ", 1, true) and tostring(err):find("status 9", 1, true), tostring(err))
        local ok2, err2 = pcall(core.ssh.run, {{host = h, command = "sleep 20", timeout = 0.5}})
        assert(not ok2 and tostring(err2):find("timed out", 1, true), tostring(err2))
        local up = core.ssh.upload({{host = h, from = {local:?}, to = {remote:?}, mode = 384, sha256 = true}})
        assert(up.bytes == 15 and up.files == 1 and #up.sha256 == 64)
        local c = core.ssh.run({{host = h, command = "cat {remote}; stat -c %a {remote}"}})
        assert(c.stdout == "hello from lua\n600\n", c.stdout)
        local bad = {{address = h.address, port = h.port, user = h.user, key = h.key, known_hosts = {empty:?}}}
        local ok3, err3 = pcall(core.ssh.run, {{host = bad, command = "true"}})
        assert(not ok3 and tostring(err3):find("not in", 1, true), tostring(err3))
        local ok4, err4 = pcall(core.ssh.run, {{host = {{address = "x", bogus = 1}}, command = "true"}})
        assert(not ok4 and tostring(err4):find("bogus", 1, true), tostring(err4))
        -- Three commands in flight at once over the one connection: each waits for the others.
        local meet = "{meet}"
        local outs = core.parallel.map({{1, 2, 3}}, function(i)
            return core.ssh.run({{host = h, command = "touch " .. meet .. "/" .. i ..
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
            function() return core.ssh.run({host = {address = "127.0.0.1"}, command = "true"}) end,
            function() return core.ssh.upload({host = {address = "127.0.0.1"}, from = "/etc/hostname", to = "/tmp/x"}) end,
            function() return core.loop.create({file = "/tmp/apex-plan.img", size = 1024}) end,
            function() return core.image.customize({image = "/tmp/none.qcow2", ops = {}}) end,
        }) do
            local ok, err = pcall(call)
            assert(not ok and tostring(err):find("refused in plan mode", 1, true), tostring(err))
        end
        local u = core.loop.unit({device = "/dev/loop3", file = "/srv/data.img"})
        assert(u.name == "apex-loop3.service" and u.text:find("ExecStart=/sbin/losetup /dev/loop3 /srv/data.img", 1, true))
    "#;
    run_lua(&host, chunk).await.unwrap();
    assert!(
        !Path::new("/tmp/apex-plan.img").exists(),
        "plan mode created a backing file"
    );
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
            "require('apex.core').ssh.run({{host = {}, command = 'echo line-one; echo line-two; echo problem >&2; printf tail-no-newline'}})",
            lua_host_table(&s)
        ),
    )
    .unwrap();
    let log = apex_run_logged(&s.dir().join("tmp"), &script);
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

// ---------- hostile values, interrupted uploads, the host lock ----------

#[tokio::test]
async fn ssh_refuses_an_address_or_user_it_would_read_as_an_option() {
    let s = sshd();
    let marker = s.dir().join("pwned-by-option");
    let mut h = host_of(&s);
    h.address = format!("-oProxyCommand=touch {}", marker.display());
    let err = run_ssh(&h, &RemoteCommand::new("true")).await.unwrap_err();
    assert!(err.to_string().contains("starts with '-'"), "{err}");
    let mut h = host_of(&s);
    h.user = Some(format!("-oProxyCommand=touch {}", marker.display()));
    let err = run_ssh(&h, &RemoteCommand::new("true")).await.unwrap_err();
    assert!(err.to_string().contains("user"), "{err}");
    assert!(!marker.exists(), "ssh ran the option");
}

#[test]
fn an_interrupted_upload_leaves_no_partial_file_and_the_next_clears_old_ones() {
    let s = sshd();
    let tmp = tempfile::tempdir().unwrap();
    // Sparse: cheap here, and long enough to send to be caught midway.
    let big = s.dir().join("sparse-4g.bin");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(4 << 30)
        .unwrap();
    let remote_dir = s.dir().join("parts");
    let remote = remote_dir.join("big.bin");
    let script = tmp.path().join("upload.lua");
    std::fs::write(
        &script,
        format!(
            "local core = require(\"apex.core\")\ncore.ssh.upload({{host = {}, from = {:?}, to = {:?}}})\n",
            lua_host_table(&s),
            big.display().to_string(),
            remote.display().to_string()
        ),
    )
    .unwrap();
    let child = apex_with_tmp(tmp.path())
        .arg("run")
        .arg(&script)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let parts = || -> Vec<String> {
        std::fs::read_dir(&remote_dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let sending = parts().iter().any(|n| {
            n.starts_with("big.bin.apex-part-")
                && std::fs::metadata(remote_dir.join(n)).is_ok_and(|m| m.len() > 0)
        });
        if sending {
            break;
        }
        assert!(Instant::now() < deadline, "the upload never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        parts(),
        Vec::<String>::new(),
        "left on the host after SIGINT"
    );

    // What a killed run (no clean-up at all) leaves is removed by the next
    // upload of the same file.
    std::fs::write(remote_dir.join("big.bin.apex-part-1-2"), "stale").unwrap();
    let small = s.dir().join("small.bin");
    std::fs::write(&small, "small\n").unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(upload(
        &host_of(&s),
        &UploadOpts {
            from: small,
            to: remote.display().to_string(),
            mode: None,
            sha256: false,
        },
    ))
    .unwrap();
    assert_eq!(parts(), vec!["big.bin".to_string()]);
}

#[test]
fn a_host_lock_is_held_until_its_holder_ends_even_killed() {
    let s = sshd();
    let tmp = tempfile::tempdir().unwrap();
    let lock = s.dir().join("locks/uc.lock").display().to_string();
    let ready = tmp.path().join("ready");
    let script = tmp.path().join("hold.lua");
    std::fs::write(
        &script,
        format!(
            r#"local core = require("apex.core")
local h = {host}
local r = core.ssh.lock({{host = h, path = {lock:?}, holder = "tmp dir A"}})
assert(r.held, "not held")
assert(core.ssh.lock({{host = h, path = {lock:?}}}).held, "held again by its holder")
core.fs.write({{path = {ready:?}, content = "held"}})
core.os.sleep({{seconds = 120}})
"#,
            host = lua_host_table(&s),
            ready = ready.display().to_string()
        ),
    )
    .unwrap();
    let mut child = apex_with_tmp(tmp.path())
        .arg("run")
        .arg(&script)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready.exists() {
        assert!(Instant::now() < deadline, "the holder never took the lock");
        assert!(child.try_wait().unwrap().is_none(), "the holder ended");
        std::thread::sleep(Duration::from_millis(50));
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    // Another process is refused, told who holds it (Lua binding).
    let chunk = format!(
        r#"local core = require("apex.core")
local r = core.ssh.lock({{host = {host}, path = {lock:?}, holder = "tmp dir B"}})
assert(not r.held, "taken twice")
assert(r.holder:find("apex pid {pid} on ", 1, true) and r.holder:find("tmp dir A", 1, true), r.holder)
"#,
        host = lua_host_table(&s)
    );
    rt.block_on(run_lua(&lua_host(false), &chunk)).unwrap();
    // Killed outright, the holder leaves no lock behind: its channel held it.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    child.wait().unwrap();
    let h = host_of(&s);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let st = rt
            .block_on(apex::ssh::hold_lock(&h, &lock, "tmp dir B"))
            .unwrap();
        if st.held {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still held after its holder was killed: {:?}",
            st.holder
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    apex::ssh::release_lock(&h, &lock);
}

#[test]
fn large_remote_output_is_bounded_in_memory_and_in_the_log_and_kept_whole_in_a_file() {
    let s = sshd();
    let tmp = tempfile::tempdir().unwrap();
    let total: usize = 100_000_000;
    let script = tmp.path().join("out.lua");
    std::fs::write(
        &script,
        format!(
            r#"local core = require("apex.core")
local r = core.ssh.run({{host = {host}, command = "yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c {total}"}})
assert(#r.stdout <= 32 * 1024 * 1024, "kept " .. #r.stdout .. " bytes in memory")
assert(#r.stdout >= 16 * 1024 * 1024, "kept only " .. #r.stdout .. " bytes")
assert(r.stdout:sub(-38) == "0123456789abcdefghijklmnopqrstuvwxyz\n" or r.stdout:sub(-1) ~= "", "the end")
"#,
            host = lua_host_table(&s)
        ),
    )
    .unwrap();
    let log = apex_run_logged(tmp.path(), &script);
    assert!(
        log.len() < 4 << 20,
        "{} bytes of log for {total} bytes of output",
        log.len()
    );
    assert!(
        log.contains("not logged line by line"),
        "no note in the log"
    );
    let spilled: Vec<PathBuf> = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("apex-ssh-stdout-")
        })
        .collect();
    assert_eq!(spilled.len(), 1, "{spilled:?}");
    assert_eq!(std::fs::metadata(&spilled[0]).unwrap().len(), total as u64);
    assert!(
        log.contains(&spilled[0].display().to_string()),
        "the file is not named in the log"
    );
}
