//! Registry credentials: given in settings, or read from the Docker config
//! file (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`) the way
//! `docker login` leaves them. bollard does not read that file, so the engine
//! and the registry client both take their credentials from here.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use base64::Engine as _;
use serde::Deserialize;

/// A user name and password (or token) for one registry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

#[derive(Deserialize)]
struct DockerConfig {
    #[serde(default)]
    auths: std::collections::BTreeMap<String, DockerAuth>,
}

#[derive(Deserialize)]
struct DockerAuth {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

/// Where the Docker CLI keeps its config file.
pub fn docker_config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG") {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker/config.json"))
}

/// Credentials for `registry` from a Docker config file; `None` when the file
/// or the entry is absent. A malformed file is an error naming it.
pub fn from_docker_config(path: &Path, registry: &str) -> anyhow::Result<Option<Credentials>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let cfg: DockerConfig = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a Docker config file", path.display()))?;
    let wanted = |key: &str| {
        let key = key
            .trim_start_matches("https://")
            .trim_start_matches("http://");
        let key = key.split('/').next().unwrap_or(key);
        key == registry || (registry == "docker.io" && key == "index.docker.io")
    };
    let Some(entry) = cfg.auths.iter().find(|(k, _)| wanted(k)).map(|(_, v)| v) else {
        return Ok(None);
    };
    if let (Some(u), Some(p)) = (&entry.username, &entry.password) {
        return Ok(Some(Credentials {
            username: u.clone(),
            password: p.clone(),
        }));
    }
    let Some(auth) = &entry.auth else {
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

/// Credentials given explicitly win; otherwise those of the Docker config
/// file (`config_file`, else the Docker CLI's default).
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
        std::fs::write(&p, "{").unwrap();
        assert!(
            from_docker_config(&p, "x")
                .unwrap_err()
                .to_string()
                .contains("not a Docker config")
        );
    }
}
