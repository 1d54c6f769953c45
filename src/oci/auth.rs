//! Registry credentials: given in settings, or found where users keep them
//! for the Docker CLI (`$DOCKER_CONFIG/config.json`, else
//! `~/.docker/config.json`): a credential helper named for the registry
//! (`credHelpers`), the default store (`credsStore`), or the file's own
//! `auths` entry, in that order, as `docker` itself looks them up. A helper
//! is `docker-credential-<name>` on PATH, run as `get` with the server on
//! stdin, answering JSON. bollard does not read any of it, so the engine and
//! the registry client both take their credentials from here. Secrets are
//! never logged (Debug shows `<redacted>`).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};
use base64::Engine as _;
use serde::Deserialize;

/// The user name a credential helper gives with an identity token (an
/// OAuth2 refresh token) instead of a password.
pub const IDENTITY_TOKEN_USER: &str = "<token>";

/// A user name and password (or token) for one registry.
#[derive(Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "apex.Credentials")]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, DockerAuth>,
    creds_store: Option<String>,
    #[serde(default)]
    cred_helpers: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerAuth {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
    identitytoken: Option<String>,
}

/// Where the Docker CLI keeps its config file.
pub fn docker_config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG") {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker/config.json"))
}

/// The key a config names a registry by, without scheme and path.
fn bare_host(key: &str) -> &str {
    let key = key
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    key.split('/').next().unwrap_or(key)
}

fn same_registry(key: &str, registry: &str) -> bool {
    let key = bare_host(key);
    key == registry
        || (registry == "docker.io" && matches!(key, "index.docker.io" | "registry-1.docker.io"))
}

/// The server name helpers file a registry's secret under (`docker login`'s).
fn helper_server(registry: &str) -> String {
    if registry == "docker.io" {
        "https://index.docker.io/v1/".to_string()
    } else {
        registry.to_string()
    }
}

/// Runs `docker-credential-<helper> get` for `registry`; `None` when the
/// helper has no credentials for it. Its output is never logged.
pub fn from_helper(helper: &str, registry: &str) -> anyhow::Result<Option<Credentials>> {
    let program = format!("docker-credential-{helper}");
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| {
            format!("running the credential helper {program} (credsStore/credHelpers of the Docker config) for {registry}")
        })?;
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(helper_server(registry).as_bytes())
        .with_context(|| format!("writing to {program}"))?;
    let out = child
        .wait_with_output()
        .with_context(|| format!("waiting for {program}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        // The helper protocol's answer for "nothing stored".
        let said = format!("{stdout} {}", String::from_utf8_lossy(&out.stderr));
        if said.contains("credentials not found") {
            return Ok(None);
        }
        // Only the first line, cut short: a helper should not print a secret
        // on failure, but an error message is no place to risk one.
        let first: String = said
            .trim()
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(120)
            .collect();
        bail!(
            "credential helper {program} failed for {registry} ({}): {first}",
            out.status
        );
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Answer {
        username: String,
        secret: String,
    }
    let a: Answer = serde_json::from_str(&stdout).with_context(|| {
        format!("credential helper {program}: the answer for {registry} is not {{\"Username\", \"Secret\"}} JSON")
    })?;
    if a.username.is_empty() && a.secret.is_empty() {
        return Ok(None);
    }
    Ok(Some(Credentials {
        username: a.username,
        password: a.secret,
    }))
}

/// Credentials for `registry` from a Docker config file, looked up as the
/// Docker CLI does: `credHelpers`, then `credsStore`, then `auths`; `None`
/// when nothing has any. A malformed file is an error naming it.
pub fn from_docker_config(path: &Path, registry: &str) -> anyhow::Result<Option<Credentials>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let cfg: DockerConfig = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a Docker config file", path.display()))?;
    if let Some(helper) = cfg
        .cred_helpers
        .iter()
        .find(|(k, _)| same_registry(k, registry))
        .map(|(_, v)| v)
    {
        return from_helper(helper, registry)
            .with_context(|| format!("{}: credHelpers", path.display()));
    }
    if let Some(store) = cfg.creds_store.as_deref().filter(|s| !s.is_empty())
        && let Some(c) = from_helper(store, registry)
            .with_context(|| format!("{}: credsStore", path.display()))?
    {
        return Ok(Some(c));
    }
    let Some(entry) = cfg
        .auths
        .iter()
        .find(|(k, _)| same_registry(k, registry))
        .map(|(_, v)| v)
    else {
        return Ok(None);
    };
    if let Some(t) = entry.identitytoken.as_ref().filter(|t| !t.is_empty()) {
        return Ok(Some(Credentials {
            username: IDENTITY_TOKEN_USER.to_string(),
            password: t.clone(),
        }));
    }
    if let (Some(u), Some(p)) = (&entry.username, &entry.password) {
        return Ok(Some(Credentials {
            username: u.clone(),
            password: p.clone(),
        }));
    }
    let Some(auth) = entry.auth.as_ref().filter(|a| !a.is_empty()) else {
        return Ok(None);
    };
    let raw = base64::engine::general_purpose::STANDARD
        .decode(auth.trim())
        .with_context(|| format!("{}: auths.{registry}.auth is not base64", path.display()))?;
    let raw = String::from_utf8(raw)
        .with_context(|| format!("{}: auths.{registry}.auth is not UTF-8", path.display()))?;
    let (u, p) = raw.split_once(':').with_context(|| {
        format!(
            "{}: auths.{registry}.auth is not user:password",
            path.display()
        )
    })?;
    Ok(Some(Credentials {
        username: u.to_string(),
        password: p.to_string(),
    }))
}

/// Credentials given explicitly (the site file) win; otherwise those the
/// Docker config file (`config_file`, else the Docker CLI's default) leads to.
pub fn resolve(
    explicit: Option<&Credentials>,
    registry: &str,
    config_file: Option<&Path>,
) -> anyhow::Result<Option<Credentials>> {
    if let Some(c) = explicit {
        return Ok(Some(c.clone()));
    }
    match config_file
        .map(Path::to_path_buf)
        .or_else(docker_config_path)
    {
        Some(p) => from_docker_config(&p, registry),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_auth_and_plain_entries() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.json");
        std::fs::write(
            &p,
            r#"{"auths":{"https://reg.example:5000":{"auth":"dXNlcjpwYXNz"},"other:1":{"username":"a","password":"b"}}}"#,
        )
        .unwrap();
        let c = from_docker_config(&p, "reg.example:5000").unwrap().unwrap();
        assert_eq!((c.username.as_str(), c.password.as_str()), ("user", "pass"));
        assert_eq!(
            from_docker_config(&p, "other:1").unwrap().unwrap().password,
            "b"
        );
        assert!(from_docker_config(&p, "missing:1").unwrap().is_none());
        let dbg = format!("{c:?}");
        assert!(dbg.contains("user") && !dbg.contains("pass\""), "{dbg}");
        std::fs::write(
            &p,
            r#"{"auths":{"a:1":{"identitytoken":"idt"}},"credHelpers":{"helped:1":"apex-no-such-helper"}}"#,
        )
        .unwrap();
        let c = from_docker_config(&p, "a:1").unwrap().unwrap();
        assert_eq!(
            (c.username.as_str(), c.password.as_str()),
            (IDENTITY_TOKEN_USER, "idt")
        );
        let err = format!("{:#}", from_docker_config(&p, "helped:1").unwrap_err());
        assert!(
            err.contains("docker-credential-apex-no-such-helper") && err.contains("credHelpers"),
            "{err}"
        );
        std::fs::write(&p, "{").unwrap();
        assert!(
            from_docker_config(&p, "x")
                .unwrap_err()
                .to_string()
                .contains("not a Docker config")
        );
    }
}
