//! A real `sshd` standing for the undercloud: its own config, host key,
//! authorized key and known_hosts in a temp dir, listening on a free loopback
//! port, run in the foreground (no systemd) and stopped on drop. Tests use it
//! for every SSH check; `apex lab up` reuses it.

use std::io::Read as _;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use super::process::{self, PartDir};
use apex::local_tools::{run, which};

/// The loopback address sshd listens on.
pub const ADDRESS: &str = "127.0.0.1";

/// A running sshd and the files a client needs to reach it.
pub struct Sshd {
    dir: PartDir,
    port: u16,
    child: Option<Child>,
    /// Set for a detached sshd (one of a kept lab): its PID, and it survives this value.
    detached: Option<u32>,
    user: String,
    /// Where it listens (loopback; an overcloud node has an address of its own).
    listen: Ipv4Addr,
    /// An overcloud node's stand-in commands, first on its sessions' PATH.
    node_bin: Option<PathBuf>,
}

/// The login name of the current user, from /etc/passwd.
fn current_user() -> anyhow::Result<String> {
    let uid = rustix::process::getuid().as_raw();
    let passwd = std::fs::read_to_string("/etc/passwd")?;
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 2 && f[2] == uid.to_string()).then(|| f[0].to_string())
        })
        .with_context(|| format!("uid {uid} has no /etc/passwd entry"))
}

/// Generates an ed25519 key pair at `path` (and `path.pub`).
pub fn keygen(path: &Path) -> anyhow::Result<()> {
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(path.with_extension("pub"));
    let mut cmd = Command::new("ssh-keygen");
    cmd.args(["-q", "-t", "ed25519", "-N", "", "-C", "apex-lab", "-f"])
        .arg(path);
    run(cmd, "openssh-client").map(drop)
}

impl Sshd {
    /// Starts sshd with a fresh host key and one authorized user key.
    pub fn start() -> anyhow::Result<Self> {
        let sshd = which("sshd").context(
            "sshd is not installed (Debian package openssh-server); the SSH lab needs it",
        )?;
        // Privilege separation needs this directory; without systemd nobody creates it.
        std::fs::create_dir_all("/run/sshd")
            .context("cannot create /run/sshd (sshd's privilege separation dir)")?;
        let dir = tempfile::Builder::new().prefix("apex-sshd-").tempdir()?;
        let me = Self {
            dir: PartDir::Temp(dir),
            port: 0,
            child: None,
            detached: None,
            user: current_user()?,
            listen: Ipv4Addr::LOCALHOST,
            node_bin: None,
        };
        keygen(&me.host_key())?;
        keygen(&me.user_key())?;
        std::fs::copy(
            me.user_key().with_extension("pub"),
            me.dir.path().join("authorized_keys"),
        )?;
        me.listen(&sshd, None)
    }

    /// An sshd kept in `dir` (keys made once), running detached so it
    /// outlives this process: reattached when the PID in `running` still
    /// answers on its port with this version's config, else started on that port (when free) or a free one.
    pub fn kept(dir: &Path, running: Option<(u16, u32)>) -> anyhow::Result<Self> {
        let sshd = which("sshd").context(
            "sshd is not installed (Debian package openssh-server); the SSH lab needs it",
        )?;
        std::fs::create_dir_all("/run/sshd")
            .context("cannot create /run/sshd (sshd's privilege separation dir)")?;
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut me = Self {
            dir: PartDir::Kept(dir.into()),
            port: 0,
            child: None,
            detached: Some(0),
            user: current_user()?,
            listen: Ipv4Addr::LOCALHOST,
            node_bin: None,
        };
        for key in [me.host_key(), me.user_key()] {
            if !key.exists() || !key.with_extension("pub").exists() {
                keygen(&key)?;
            }
        }
        std::fs::copy(
            me.user_key().with_extension("pub"),
            me.dir.path().join("authorized_keys"),
        )?;
        let marker = me.config_path().display().to_string();
        if let Some((port, pid)) = running
            && process::alive(pid, &marker)
        {
            me.port = port;
            // An sshd started by an older apex with another config is restarted.
            let same_config =
                std::fs::read_to_string(me.config_path()).is_ok_and(|c| c == me.config_text());
            if same_config && banner(me.listen, port).is_ok() {
                me.detached = Some(pid);
                me.write_known_hosts()?;
                return Ok(me);
            }
            process::terminate(pid, &marker);
        }
        let port = running
            .map(|(p, _)| p)
            .filter(|p| TcpListener::bind((Ipv4Addr::LOCALHOST, *p)).is_ok());
        me.listen(&sshd, port)
    }

    /// An sshd standing for an overcloud node: on `listen:port` (a loopback
    /// address of its own), its sessions' HOME its own and `bin` (the node's
    /// stand-in commands) first on their PATH, so what runs there records
    /// and touches nothing of this machine; authorized keys in
    /// `home/.ssh/authorized_keys` (what a key added over SSH goes into),
    /// `authorized` there from the start. Stopped on drop.
    pub fn node(listen: Ipv4Addr, port: u16, bin: &Path, authorized: &str) -> anyhow::Result<Self> {
        let sshd = which("sshd").context(
            "sshd is not installed (Debian package openssh-server); the SSH lab needs it",
        )?;
        std::fs::create_dir_all("/run/sshd")
            .context("cannot create /run/sshd (sshd's privilege separation dir)")?;
        let dir = tempfile::Builder::new().prefix("apex-node-").tempdir()?;
        let mut me = Self {
            dir: PartDir::Temp(dir),
            port,
            child: None,
            detached: None,
            user: current_user()?,
            listen,
            node_bin: Some(bin.to_path_buf()),
        };
        keygen(&me.host_key())?;
        std::fs::create_dir_all(me.home().join(".ssh"))?;
        std::fs::write(me.authorized_keys(), authorized)?;
        me.spawn(&sshd)?;
        Ok(me)
    }

    /// The authorized_keys file sshd reads.
    pub fn authorized_keys(&self) -> PathBuf {
        match self.node_bin {
            Some(_) => self.home().join(".ssh/authorized_keys"),
            None => self.dir.path().join("authorized_keys"),
        }
    }

    /// Spawns sshd on `port` or, failing that, on free ports (5 tries).
    fn listen(mut self, sshd: &Path, port: Option<u16>) -> anyhow::Result<Self> {
        let me = &mut self;
        let mut last = None;
        for attempt in 0..5 {
            me.port = match (attempt, port) {
                (0, Some(p)) => p,
                _ => super::free_port()?,
            };
            match me.spawn(sshd) {
                Ok(()) => {
                    me.write_known_hosts()?;
                    return Ok(self);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("sshd did not start")))
    }

    /// sshd's config for the current port.
    fn config_text(&self) -> String {
        let d = self.dir.path();
        let env = match &self.node_bin {
            Some(bin) => format!(
                "HOME={} PATH={}:/usr/bin:/bin",
                self.home().display(),
                bin.display()
            ),
            None => format!("HOME={}", self.home().display()),
        };
        format!(
            "Port {port}\nListenAddress {listen}\nHostKey {hk}\nAuthorizedKeysFile {ak}\nPidFile {pid}\n\
             PubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\nUseDNS no\n\
             MaxSessions 64\nMaxStartups 64:30:128\nSubsystem sftp internal-sftp\nLogLevel VERBOSE\n\
             SetEnv {env}\n",
            port = self.port,
            listen = self.listen,
            hk = self.host_key().display(),
            ak = self.authorized_keys().display(),
            pid = d.join("sshd.pid").display(),
        )
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("sshd_config")
    }

    fn write_config(&self) -> anyhow::Result<PathBuf> {
        std::fs::create_dir_all(self.home())
            .with_context(|| format!("creating {}", self.home().display()))?;
        let path = self.config_path();
        std::fs::write(&path, self.config_text())?;
        Ok(path)
    }

    fn spawn(&mut self, sshd: &Path) -> anyhow::Result<()> {
        let config = self.write_config()?;
        let mut cmd = Command::new(sshd);
        cmd.arg("-D")
            .arg("-f")
            .arg(&config)
            .arg("-E")
            .arg(self.log_path());
        let marker = config.display().to_string();
        // A kept lab's sshd outlives this process (known by PID); a test's is our child.
        let mut child = None;
        let pid = if self.detached.is_some() {
            process::spawn_detached(cmd, &self.dir.path().join("sshd.out"))?
        } else {
            let c = cmd
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .context("cannot start sshd")?;
            let pid = c.id();
            child = Some(c);
            pid
        };
        let start = Instant::now();
        loop {
            let exited = match child.as_mut() {
                Some(c) => c.try_wait()?.map(|s| s.to_string()),
                None => (!process::alive(pid, &marker)).then(|| format!("pid {pid} gone")),
            };
            if let Some(status) = exited {
                bail!("sshd exited at start ({status}): {}", self.log());
            }
            if banner(self.listen, self.port).is_ok() {
                tracing::info!(
                    port = self.port,
                    pid,
                    kept = child.is_none(),
                    "lab sshd listening"
                );
                match child {
                    Some(c) => self.child = Some(c),
                    None => self.detached = Some(pid),
                }
                return Ok(());
            }
            if start.elapsed() > Duration::from_secs(10) {
                match child.as_mut() {
                    Some(c) => {
                        let _ = c.kill();
                        let _ = c.wait();
                    }
                    None => {
                        process::terminate(pid, &marker);
                    }
                }
                bail!(
                    "sshd did not answer on port {} within 10s: {}",
                    self.port,
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn write_known_hosts(&self) -> anyhow::Result<()> {
        std::fs::write(
            self.known_hosts(),
            format!("{}\n", self.known_hosts_line()?),
        )?;
        Ok(())
    }

    /// The known_hosts line for the current host key.
    pub fn known_hosts_line(&self) -> anyhow::Result<String> {
        let public = std::fs::read_to_string(self.host_key().with_extension("pub"))?;
        let mut parts = public.split_whitespace();
        let (kind, key) = (
            parts.next().context("empty host key")?,
            parts.next().context("bad host key")?,
        );
        Ok(format!("[{}]:{} {kind} {key}", self.listen, self.port))
    }

    /// The PID of a detached sshd.
    pub fn pid(&self) -> Option<u32> {
        self.detached
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn address(&self) -> &'static str {
        ADDRESS
    }

    /// The user tests log in as (the current user).
    pub fn user(&self) -> &str {
        &self.user
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The HOME of every session. The stand-in undercloud logs in as the
    /// machine's own user, and bash sources `$HOME/.bashrc` for commands run
    /// by sshd: an own, empty home keeps that user's dotfiles (a slow
    /// `pyenv init`, a greeting on stdout) out of the commands apex runs.
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// The private key in authorized_keys.
    pub fn user_key(&self) -> PathBuf {
        self.dir.path().join("user_key")
    }

    /// A known_hosts file holding this server's current host key.
    pub fn known_hosts(&self) -> PathBuf {
        self.dir.path().join("known_hosts")
    }

    pub fn host_key(&self) -> PathBuf {
        self.dir.path().join("ssh_host_ed25519_key")
    }

    /// The public half of the host key, base64 (what known_hosts records).
    pub fn host_key_base64(&self) -> anyhow::Result<String> {
        let public = std::fs::read_to_string(self.host_key().with_extension("pub"))?;
        public
            .split_whitespace()
            .nth(1)
            .map(str::to_string)
            .context("bad host key")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("sshd.log")
    }

    /// sshd's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// A new key pair that is not authorized (for the refused-key check).
    pub fn unauthorized_key(&self, name: &str) -> anyhow::Result<PathBuf> {
        let path = self.dir.path().join(name);
        keygen(&path)?;
        Ok(path)
    }

    /// Replaces the host key and restarts sshd on the same port, as a
    /// reinstalled (or impersonated) host would look. `known_hosts()` keeps
    /// the old key.
    pub fn rotate_host_key(&mut self) -> anyhow::Result<()> {
        self.stop();
        keygen(&self.host_key())?;
        let sshd = which("sshd").context("sshd is not installed")?;
        let start = Instant::now();
        loop {
            match self.spawn(&sshd) {
                Ok(()) => return Ok(()),
                Err(e) if start.elapsed() > Duration::from_secs(10) => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// Kills every connection (sshd's per-connection children) while the
    /// listener stays up: what a client sees when the host drops off.
    pub fn drop_connections(&self) -> anyhow::Result<usize> {
        let Some(parent) = self.child.as_ref().map(Child::id).or(self.detached) else {
            return Ok(0);
        };
        let mut n = 0;
        for pid in process::children_of(parent) {
            if let Some(pid) = rustix::process::Pid::from_raw(pid as i32)
                && rustix::process::kill_process(pid, rustix::process::Signal::KILL).is_ok()
            {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Stops sshd and its connections (idempotent).
    pub fn stop(&mut self) {
        let _ = self.drop_connections();
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(pid) = self.detached.filter(|p| *p != 0) {
            process::terminate(
                pid,
                &self.dir.path().join("sshd_config").display().to_string(),
            );
        }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        if self.detached.is_none() {
            self.stop();
        }
    }
}

/// Reads the SSH banner: the server is up and speaking SSH.
fn banner(listen: Ipv4Addr, port: u16) -> anyhow::Result<()> {
    let mut s = TcpStream::connect((listen, port))?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut buf = [0u8; 8];
    s.read_exact(&mut buf)?;
    if &buf[..4] != b"SSH-" {
        bail!("port {port} does not speak SSH");
    }
    Ok(())
}
