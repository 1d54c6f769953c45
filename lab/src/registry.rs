//! Lab registries: Debian's `docker-registry` on a loopback port with its own
//! config and storage in a temp dir ("upstream", "local"), which a test can
//! stop and restart (same port, same content), and a [`FaultyProxy`] to put in
//! front of one to count requests or make some of them fail. A registry may
//! require HTTP Basic auth, or token auth with a [`TokenServer`] of its own.

mod proxy;
mod token;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio::process::{Child, Command};

use super::process::{self, PartDir};

pub use proxy::{Fault, FaultyProxy, Request};
pub use token::TokenServer;

/// One running (or stopped) registry.
pub struct LabRegistry {
    name: String,
    dir: PartDir,
    port: u16,
    tls: bool,
    child: Option<Child>,
    /// Set for a detached registry (one of a kept lab): its PID, and it
    /// survives this value.
    detached: Option<u32>,
    /// The token server of a registry with token auth.
    token: Option<TokenServer>,
}

/// How a lab registry is set up.
#[derive(Debug, Clone)]
pub struct LabRegistryOptions {
    /// Serve TLS with a certificate of a lab CA.
    pub tls: bool,
    /// Require HTTP Basic auth with this user and password.
    pub basic: Option<(String, String)>,
    /// Require token auth from a lab [`TokenServer`] whose tokens last this many seconds.
    pub token_expires_in: Option<u64>,
    /// Allow deleting manifests (`storage: delete: enabled`).
    pub delete: bool,
}

impl Default for LabRegistryOptions {
    fn default() -> Self {
        Self {
            tls: false,
            basic: None,
            token_expires_in: None,
            delete: true,
        }
    }
}

enum Auth<'a> {
    None,
    Htpasswd,
    Token(&'a str),
}

/// Makes an RSA key (PKCS#8) and a self-signed certificate for `cn`, valid
/// two days, as `key` and `cert` in `dir` (openssl CLI).
pub(crate) fn self_signed(dir: &Path, cn: &str, key: &str, cert: &str) -> anyhow::Result<()> {
    let subject = format!("/CN={cn}");
    let mut cmd = std::process::Command::new("openssl");
    cmd.args([
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
    ])
    .args(["-subj", &subject, "-keyout", key, "-out", cert])
    .current_dir(dir);
    apex::local_tools::run(cmd, "openssl")?;
    Ok(())
}

/// Makes a lab CA and a server certificate for 127.0.0.1 signed by it (openssl CLI).
fn make_certificates(dir: &Path) -> anyhow::Result<()> {
    self_signed(dir, "apex lab CA", "ca.key", "ca.pem")?;
    let steps: [&[&str]; 2] = [
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
            "-out",
            "server.pem",
        ],
    ];
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )?;
    for args in steps {
        let mut cmd = std::process::Command::new("openssl");
        cmd.args(args).current_dir(dir);
        apex::local_tools::run(cmd, "openssl")?;
    }
    Ok(())
}

fn write_config(dir: &Path, port: u16, tls: bool, auth: Auth, delete: bool) -> anyhow::Result<()> {
    let auth = match auth {
        Auth::Htpasswd => format!(
            "auth:\n  htpasswd:\n    realm: apex-lab\n    path: {}\n",
            dir.join("htpasswd").display()
        ),
        Auth::Token(realm) => format!(
            "auth:\n  token:\n    realm: {realm}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
            token::SERVICE,
            token::ISSUER,
            dir.join("token.pem").display()
        ),
        Auth::None => String::new(),
    };
    let tls = if tls {
        format!(
            "  tls:\n    certificate: {}\n    key: {}\n",
            dir.join("server.pem").display(),
            dir.join("server.key").display()
        )
    } else {
        String::new()
    };
    let config = format!(
        "version: 0.1\n\
         log:\n  level: warn\n  accesslog:\n    disabled: true\n\
         storage:\n  filesystem:\n    rootdirectory: {root}\n  delete:\n    enabled: {delete}\n  \
         maintenance:\n    uploadpurging:\n      enabled: false\n\
         http:\n  addr: 127.0.0.1:{port}\n  secret: apex-lab\n{tls}{auth}",
        root = dir.join("data").display()
    );
    std::fs::write(dir.join("config.yml"), config).context("writing the registry config")
}

impl LabRegistry {
    /// Starts a registry named `name` (used in logs and its temp dir) on a free loopback port.
    pub async fn start(name: &str) -> anyhow::Result<Self> {
        Self::start_with(name, LabRegistryOptions::default()).await
    }

    /// Starts a registry with token auth and its own anonymous token server
    /// (any scope granted, tokens lasting `expires_in` seconds).
    pub async fn start_with_token(name: &str, expires_in: u64) -> anyhow::Result<Self> {
        let opts = LabRegistryOptions {
            token_expires_in: Some(expires_in),
            ..Default::default()
        };
        Self::start_with(name, opts).await
    }

    /// The token server of a registry started with token auth.
    pub fn token_server(&self) -> Option<&TokenServer> {
        self.token.as_ref()
    }

    /// Starts a registry serving TLS with a certificate of a lab CA ([`LabRegistry::ca_file`]).
    pub async fn start_tls(name: &str) -> anyhow::Result<Self> {
        let opts = LabRegistryOptions {
            tls: true,
            ..Default::default()
        };
        Self::start_with(name, opts).await
    }

    /// Starts a registry that requires HTTP Basic auth with this user and password.
    pub async fn start_with_auth(name: &str, user: &str, password: &str) -> anyhow::Result<Self> {
        let opts = LabRegistryOptions {
            basic: Some((user.into(), password.into())),
            ..Default::default()
        };
        Self::start_with(name, opts).await
    }

    /// Starts a registry set up as `opts` says.
    pub async fn start_with(name: &str, opts: LabRegistryOptions) -> anyhow::Result<Self> {
        let tls = opts.tls;
        let dir = tempfile::Builder::new()
            .prefix(&format!("apex-lab-registry-{name}-"))
            .tempdir()?;
        let port = super::free_port()?;
        if tls {
            make_certificates(dir.path())?;
        }
        let mut auth = Auth::None;
        if let Some((user, password)) = &opts.basic {
            // docker-registry's htpasswd accepts bcrypt only; a low cost keeps tests quick.
            let hash = bcrypt::hash(password, 5).context("hashing the lab registry password")?;
            std::fs::write(dir.path().join("htpasswd"), format!("{user}:{hash}\n"))?;
            auth = Auth::Htpasswd;
        }
        let token = match opts.token_expires_in {
            Some(secs) => Some(TokenServer::start(dir.path(), secs).await?),
            None => None,
        };
        let realm = token.as_ref().map(TokenServer::realm);
        if let Some(realm) = &realm {
            auth = Auth::Token(realm);
        }
        write_config(dir.path(), port, tls, auth, opts.delete)?;
        let mut reg = Self {
            name: name.to_string(),
            dir: PartDir::Temp(dir),
            port,
            tls,
            child: None,
            detached: None,
            token,
        };
        reg.restart().await?;
        Ok(reg)
    }

    /// A plain-HTTP registry kept in `dir` (config, storage, log), running
    /// detached so it outlives this process: reattached when the PID in
    /// `running` still answers on its port, else started on `port` (when
    /// given and free) or a free port.
    pub async fn kept(name: &str, dir: &Path, running: Option<(u16, u32)>) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        // `detached`: the PID to reattach to, or Some(0) for "detached, start it".
        let kept_on = |port, detached| Self {
            name: name.into(),
            dir: PartDir::Kept(dir.into()),
            port,
            tls: false,
            child: None,
            detached: Some(detached),
            token: None,
        };
        if let Some((port, pid)) = running {
            let mut reg = kept_on(port, pid);
            if process::alive(pid, &reg.marker()) {
                if reg.wait_ready(Duration::from_secs(5)).await.is_ok() {
                    return Ok(reg);
                }
                process::terminate(pid, &reg.marker());
            }
        }
        let port = match running.map(|(p, _)| p) {
            Some(p) if std::net::TcpListener::bind(("127.0.0.1", p)).is_ok() => p,
            _ => super::free_port()?,
        };
        write_config(dir, port, false, Auth::None, true)?;
        let mut reg = kept_on(port, 0);
        reg.restart().await?;
        Ok(reg)
    }

    /// What marks its process's command line (see [`process::alive`]): its config path.
    fn marker(&self) -> String {
        self.dir.path().join("config.yml").display().to_string()
    }

    /// The PID of a detached registry.
    pub fn pid(&self) -> Option<u32> {
        self.detached
    }

    /// The PID of its running process, detached or a child (for reading
    /// its CPU time in `/proc`).
    pub fn process_id(&self) -> Option<u32> {
        match &self.child {
            Some(c) => c.id(),
            None => self.detached.filter(|p| *p != 0),
        }
    }

    /// The CA certificate (PEM) a TLS lab registry's certificate is signed by.
    pub fn ca_file(&self) -> Option<std::path::PathBuf> {
        self.tls.then(|| self.dir.path().join("ca.pem"))
    }

    /// `127.0.0.1:<port>`: the registry part of image references.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The loopback port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory holding its config, storage and log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The root of its storage (`docker/registry/v2` under the storage dir).
    pub fn storage(&self) -> std::path::PathBuf {
        self.dir.path().join("data/docker/registry/v2")
    }

    /// Deletes a blob's data file from the storage, as a lost blob looks
    /// (disk trouble, a careless cleanup): the repositories' links to it
    /// stay, the blob is gone. Fails when the registry does not hold it.
    pub fn lose_blob(&self, digest: &str) -> anyhow::Result<()> {
        let (algo, hex) = digest
            .split_once(':')
            .with_context(|| format!("{digest:?} is not a digest"))?;
        let dir = self
            .storage()
            .join("blobs")
            .join(algo)
            .join(hex.get(..2).unwrap_or(hex))
            .join(hex);
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))
    }

    /// The upload sessions the registry still holds (`<repository>/_uploads/<id>`
    /// of every repository with its `startedat`): an open or abandoned upload
    /// each. A session deleted by its client is gone for the registry, though
    /// docker-registry 2.8 leaves a `hashstates` stub of it on disk (its
    /// cancel writes the hash state again after removing the session:
    /// distribution/distribution#348, #4524); those are not listed.
    pub fn upload_sessions(&self) -> Vec<std::path::PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for e in entries.flatten() {
                let path = e.path();
                if !path.is_dir() {
                    continue;
                }
                if e.file_name() == "_uploads" {
                    out.extend(
                        std::fs::read_dir(&path)
                            .into_iter()
                            .flatten()
                            .flatten()
                            .map(|u| u.path())
                            .filter(|u| u.join("startedat").exists() || u.join("data").exists()),
                    );
                } else if !e.file_name().to_string_lossy().starts_with('_') {
                    walk(&path, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.storage().join("repositories"), &mut out);
        out.sort();
        out
    }

    /// Stops it (the storage stays); requests now get connection refused.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
        if let Some(pid) = self.detached.filter(|p| *p != 0) {
            let marker = self.marker();
            tokio::task::spawn_blocking(move || process::terminate(pid, &marker))
                .await
                .ok();
        }
    }

    /// Starts it again on the same port with the same storage.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.stop().await;
        if self.detached.is_some() {
            let mut cmd = std::process::Command::new("docker-registry");
            cmd.arg("serve").arg(self.dir.path().join("config.yml"));
            self.detached = Some(
                process::spawn_detached(cmd, &self.dir.path().join("registry.log"))
                    .context("starting docker-registry (Debian package docker-registry) failed; is it installed?")?,
            );
            return self.wait_ready(Duration::from_secs(20)).await;
        }
        let log = std::fs::File::create(self.dir.path().join("registry.log"))?;
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(self.dir.path().join("config.yml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .context("starting docker-registry (Debian package docker-registry) failed; is it installed?")?;
        self.child = Some(child);
        self.wait_ready(Duration::from_secs(20)).await
    }

    /// Waits until `/v2/` answers (or the registry process ended).
    async fn wait_ready(&mut self, within: Duration) -> anyhow::Result<()> {
        let scheme = if self.tls { "https" } else { "http" };
        let url = format!("{scheme}://{}/v2/", self.host());
        let mut client = apex::http_client::builder();
        if let Some(ca) = self.ca_file() {
            client = client.tls_certs_merge([reqwest::Certificate::from_pem(&std::fs::read(ca)?)?]);
        }
        let client = client.build()?;
        let deadline = Instant::now() + within;
        let marker = self.marker();
        loop {
            if client
                .get(&url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success() || r.status() == 401)
            {
                return Ok(());
            }
            let exited = match (self.child.as_mut(), self.detached) {
                (Some(c), _) => c.try_wait().ok().flatten().map(|s| s.to_string()),
                (None, Some(pid)) => {
                    (!process::alive(pid, &marker)).then(|| format!("pid {pid} gone"))
                }
                (None, None) => None,
            };
            if let Some(status) = exited {
                let log = std::fs::read_to_string(self.dir.path().join("registry.log"))
                    .unwrap_or_default();
                bail!("lab registry {} exited ({status}):\n{log}", self.name);
            }
            if Instant::now() > deadline {
                bail!(
                    "lab registry {} did not answer at {url} within {within:?}",
                    self.name
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for LabRegistry {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
    }
}
