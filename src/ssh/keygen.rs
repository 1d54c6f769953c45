//! The overcloud's SSH key pair (TripleO's `MigrationSshKey`: nova moves
//! instances between computes over SSH with it). Apex makes an RSA key with
//! the private half in PKCS#8 PEM and the public half in OpenSSH form; so do
//! we, but a deploy keeps its key: an existing pair is read back, so a rerun
//! writes the same env file and does not rotate the key under a running cloud.

use std::path::Path;

use anyhow::{Context as _, bail};
use rsa::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, LineEnding};

/// Key size: Apex used 1024 bits, which current OpenSSH refuses.
pub const RSA_BITS: usize = 2048;

/// A key pair as text.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KeyPair {
    /// PKCS#8 PEM.
    pub private: String,
    /// One OpenSSH line, `ssh-rsa AAAA... comment`.
    pub public: String,
    /// Whether it was made now (false: read from `path`).
    pub created: bool,
}

/// The key pair kept at `path` (PKCS#8 PEM), or a new one made in memory
/// when there is none. Nothing is written: the caller stores the private key
/// with the other files of its run.
pub fn key_pair(path: &Path, comment: &str) -> anyhow::Result<KeyPair> {
    let (key, created) = match std::fs::read_to_string(path) {
        Ok(pem) => (
            rsa::RsaPrivateKey::from_pkcs8_pem(&pem)
                .with_context(|| format!("{}: not a PKCS#8 PEM RSA private key", path.display()))?,
            false,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut rng = ssh_key::rand_core::OsRng;
            (
                rsa::RsaPrivateKey::new(&mut rng, RSA_BITS).context("generating an RSA key")?,
                true,
            )
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    if comment.contains(['\n', '\r']) {
        bail!("the key comment must be one line");
    }
    let private = key
        .to_pkcs8_pem(LineEnding::LF)
        .context("encoding the private key")?
        .to_string();
    let public = ssh_key::public::RsaPublicKey::try_from(key.to_public_key())
        .context("converting the public key")?;
    let public = ssh_key::PublicKey::new(public.into(), comment)
        .to_openssh()
        .context("encoding the public key")?;
    Ok(KeyPair {
        private,
        public,
        created,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_key_is_read_back_and_a_missing_one_made() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("id_rsa");
        let made = key_pair(&path, "apex").unwrap();
        assert!(made.created && made.private.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(made.public.starts_with("ssh-rsa AAAA") && made.public.ends_with(" apex"));
        assert!(!path.exists(), "nothing is written");
        std::fs::write(&path, &made.private).unwrap();
        let again = key_pair(&path, "apex").unwrap();
        assert!(!again.created);
        assert_eq!((again.private, again.public), (made.private, made.public));
        std::fs::write(&path, "junk").unwrap();
        let err = key_pair(&path, "apex").unwrap_err().to_string();
        assert!(err.contains("not a PKCS#8 PEM RSA private key"), "{err}");
    }
}
