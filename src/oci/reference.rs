//! Image references (`host:port/name/space:tag` or `...@sha256:...`), parsed
//! once so every call talks about the same registry, repository and tag.

use std::fmt;

use anyhow::{Context as _, bail};

/// One image in one registry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageRef {
    /// `host[:port]` as written (e.g. `127.0.0.1:8787`, `docker.io`).
    pub registry: String,
    /// Repository path inside the registry (e.g. `tripleomaster/centos-binary-nova-api`).
    pub repository: String,
    /// A tag or a digest (`sha256:...`).
    pub reference: String,
}

impl ImageRef {
    /// Parses `registry/repo[:tag|@digest]`. The registry part is required
    /// (a flow always knows where an image lives); the tag defaults to `latest`.
    pub fn parse(s: &str) -> anyhow::Result<Self> {
        let s = s.trim();
        let (registry, rest) = s
            .split_once('/')
            .filter(|(host, _)| host.contains('.') || host.contains(':') || *host == "localhost")
            .with_context(|| format!("image reference {s:?} names no registry (expected host[:port]/repository[:tag])"))?;
        let (repository, reference) = if let Some((repo, digest)) = rest.split_once('@') {
            (repo, digest.to_string())
        } else {
            match rest.rsplit_once(':') {
                Some((repo, tag)) if !tag.contains('/') => (repo, tag.to_string()),
                _ => (rest, "latest".to_string()),
            }
        };
        if repository.is_empty()
            || !repository
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/".contains(c))
        {
            bail!(
                "image reference {s:?}: invalid repository {repository:?} (lowercase letters, digits, '._-/')"
            );
        }
        if reference.is_empty() {
            bail!("image reference {s:?}: empty tag or digest");
        }
        Ok(Self {
            registry: registry.to_string(),
            repository: repository.to_string(),
            reference,
        })
    }

    /// The same image under another reference (tag or digest).
    pub fn with_reference(&self, reference: &str) -> Self {
        Self {
            reference: reference.to_string(),
            ..self.clone()
        }
    }

    /// Whether the reference is a digest rather than a tag.
    pub fn is_digest(&self) -> bool {
        self.reference.contains(':')
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sep = if self.is_digest() { '@' } else { ':' };
        write!(
            f,
            "{}/{}{}{}",
            self.registry, self.repository, sep, self.reference
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tag_digest_and_default() {
        let r =
            ImageRef::parse("127.0.0.1:8787/tripleomaster/centos-binary-nova-api:current-tripleo")
                .unwrap();
        assert_eq!(r.registry, "127.0.0.1:8787");
        assert_eq!(r.repository, "tripleomaster/centos-binary-nova-api");
        assert_eq!(r.reference, "current-tripleo");
        let d = ImageRef::parse("docker.io/ceph/daemon@sha256:abcd").unwrap();
        assert_eq!(d.reference, "sha256:abcd");
        assert_eq!(d.to_string(), "docker.io/ceph/daemon@sha256:abcd");
        assert_eq!(ImageRef::parse("localhost/x").unwrap().reference, "latest");
    }

    #[test]
    fn rejects_missing_registry_and_bad_names() {
        assert!(
            ImageRef::parse("tripleomaster/nova:1")
                .unwrap_err()
                .to_string()
                .contains("names no registry")
        );
        assert!(ImageRef::parse("host:1/Upper:1").is_err());
    }
}
