//! SSH key pairs apex makes: the overcloud's (TripleO's `MigrationSshKey`:
//! nova moves instances between computes over SSH with it) and, for a created
//! undercloud, apex's client key and the VM's host key. A deploy keeps its
//! keys: an existing pair is read back, so a rerun writes the same env file
//! and does not rotate a key under a running cloud.
//!
//! New keys are Ed25519, private half in OpenSSH's own format, public half
//! one OpenSSH line. Apex made RSA (1024 bits, PKCS#8 PEM; deploy.py
//! make_ssh_key), and RSA generation is all the time of a first plan (0.3-1.8
//! s here, even 2048 bits with OpenSSL takes 0.1-0.5 s), where Ed25519 takes
//! microseconds. Nothing that consumes the key cares about its type, in the
//! releases apex targets (queens, rocky, stein):
//! - tripleo-heat-templates passes `MigrationSshKey` through as text:
//!   puppet/services/nova-compute.yaml and nova-libvirt.yaml (queens, rocky;
//!   deployment/nova/nova-{compute,libvirt}-container-puppet.yaml in stein)
//!   hand `private_key` to `tripleo::profile::base::nova::migration::client`,
//!   docker/services/nova-migration-target.yaml to `...::migration::proxy`;
//!   puppet/services/nova-migration-target.yaml (stein:
//!   deployment/nova/nova-migration-target-container-puppet.yaml) hands
//!   `public_key` to `...::migration::target::ssh_authorized_keys`.
//! - puppet-tripleo manifests/profile/base/nova/migration/client.pp writes the
//!   private key verbatim to /etc/nova/migration/identity and gives it to
//!   libvirt as `keyfile=` of a `qemu+ssh://` URI (the `ssh` binary reads it);
//!   proxy.pp writes it to proxy_identity for `/bin/ssh -i`; target.pp joins
//!   the public keys into /etc/nova/migration/authorized_keys for sshd. No
//!   manifest parses or checks the type.
//! - puppet-nova: manifests/migration/libvirt.pp only builds that URI. Its
//!   `nova::nova_public_key`/`nova_private_key` (manifests/init.pp) would
//!   refuse a type other than ssh-rsa/dsa/ecdsa, but TripleO never sets them
//!   (puppet-tripleo's spec asserts they stay unset).
//!
//! So the readers are OpenSSH's client and sshd of the overcloud image
//! (CentOS 7, OpenSSH 7.4), which take Ed25519 keys in OpenSSH's format since
//! 6.5; PKCS#8 Ed25519 they would not read, hence that format. The undercloud
//! image's sshd_config lists /etc/ssh/ssh_host_ed25519_key, and the machine
//! running apex uses its own `ssh`. A kept RSA key in PKCS#8 PEM (made by an
//! earlier apex) is still read, so such a deploy keeps its key.

use std::path::Path;

use anyhow::{Context as _, bail};
use rsa::pkcs8::DecodePrivateKey as _;
use ssh_key::LineEnding;
use ssh_key::private::{Ed25519Keypair, Ed25519PrivateKey, KeypairData};
use ssh_key::public::Ed25519PublicKey;

/// A key pair as text.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
#[schemars(inline)]
pub struct KeyPair {
    /// The private key file's text (OpenSSH format; PKCS#8 PEM for a kept RSA key).
    pub private: String,
    /// One OpenSSH line, `ssh-ed25519 AAAA... comment`.
    pub public: String,
    /// Whether it was made now (false: read from `path`).
    pub created: bool,
}

const OPENSSH_PEM: &str = "-----BEGIN OPENSSH PRIVATE KEY-----";
const PKCS8_PEM: &str = "-----BEGIN PRIVATE KEY-----";

/// The key pair kept at `path`, or a new Ed25519 one made in memory when
/// there is none. Nothing is written: the caller stores the private key with
/// the other files of its run.
pub fn key_pair(path: &Path, comment: &str) -> anyhow::Result<KeyPair> {
    if comment.contains(['\n', '\r']) {
        bail!("the key comment must be one line");
    }
    match std::fs::read_to_string(path) {
        Ok(text) => kept(path, text, comment),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut seed = [0u8; Ed25519PrivateKey::BYTE_SIZE];
            ssh_key::rand_core::RngCore::fill_bytes(&mut ssh_key::rand_core::OsRng, &mut seed);
            let key = ssh_key::PrivateKey::new(KeypairData::Ed25519(ed25519(&seed)?), comment)
                .context("making an Ed25519 key")?;
            let private = key
                .to_openssh(LineEnding::LF)
                .context("encoding the private key")?
                .to_string();
            Ok(KeyPair {
                private,
                public: key
                    .public_key()
                    .to_openssh()
                    .context("encoding the public key")?,
                created: true,
            })
        }
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// The Ed25519 key pair of a seed (the public half computed, not trusted).
fn ed25519(seed: &[u8; Ed25519PrivateKey::BYTE_SIZE]) -> anyhow::Result<Ed25519Keypair> {
    use aws_lc_rs::signature::KeyPair as _;
    let pair = aws_lc_rs::signature::Ed25519KeyPair::from_seed_unchecked(seed)
        .map_err(|e| anyhow::anyhow!("an Ed25519 seed was rejected: {e}"))?;
    let public: [u8; 32] = pair
        .public_key()
        .as_ref()
        .try_into()
        .context("an Ed25519 public key is 32 bytes")?;
    Ok(Ed25519Keypair {
        public: Ed25519PublicKey(public),
        private: Ed25519PrivateKey::from_bytes(seed),
    })
}

/// A key read back: its text is kept as it is, its public line derived.
fn kept(path: &Path, text: String, comment: &str) -> anyhow::Result<KeyPair> {
    let bad = || {
        format!(
            "{}: not an unencrypted OpenSSH private key nor a PKCS#8 PEM RSA private key",
            path.display()
        )
    };
    let public = if text.trim_start().starts_with(OPENSSH_PEM) {
        let key = ssh_key::PrivateKey::from_openssh(&text).with_context(bad)?;
        if key.is_encrypted() {
            bail!("{}", bad());
        }
        if let KeypairData::Ed25519(pair) = key.key_data()
            && ed25519(&pair.private.to_bytes())?.public != pair.public
        {
            bail!(
                "{}: its public half does not belong to its private half",
                path.display()
            );
        }
        key.public_key().key_data().clone()
    } else if text.trim_start().starts_with(PKCS8_PEM) {
        let key = rsa::RsaPrivateKey::from_pkcs8_pem(&text).with_context(bad)?;
        ssh_key::public::RsaPublicKey::try_from(key.to_public_key())
            .context("converting the public key")?
            .into()
    } else {
        bail!("{}", bad());
    };
    let public = ssh_key::PublicKey::new(public, comment)
        .to_openssh()
        .context("encoding the public key")?;
    Ok(KeyPair {
        private: text,
        public,
        created: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_key_is_read_back_and_a_missing_one_made() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("id_ed25519");
        let made = key_pair(&path, "apex").unwrap();
        assert!(made.created && made.private.starts_with(OPENSSH_PEM));
        assert!(made.public.starts_with("ssh-ed25519 AAAA") && made.public.ends_with(" apex"));
        assert!(!path.exists(), "nothing is written");
        std::fs::write(&path, &made.private).unwrap();
        let again = key_pair(&path, "apex").unwrap();
        assert!(!again.created);
        assert_eq!(
            (&again.private, &again.public),
            (&made.private, &made.public)
        );
        assert_ne!(
            key_pair(&dir.path().join("other"), "apex").unwrap().public,
            made.public
        );

        // OpenSSH itself reads the private key and derives the same public key.
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let out = std::process::Command::new("ssh-keygen")
            .arg("-y")
            .arg("-f")
            .arg(&path)
            .output()
            .expect("ssh-keygen (Debian openssh-client) runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let derived = String::from_utf8(out.stdout).unwrap();
        let fields = |s: &str| s.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
        assert_eq!(fields(&derived), fields(&made.public));

        // A public half that does not match is refused, as is junk.
        let mut key = ssh_key::PrivateKey::from_openssh(&made.private).unwrap();
        let KeypairData::Ed25519(pair) = key.key_data() else {
            panic!()
        };
        let mut forged = pair.clone();
        forged.public.0[0] ^= 1;
        key = ssh_key::PrivateKey::new(KeypairData::Ed25519(forged), "x").unwrap();
        std::fs::write(&path, key.to_openssh(LineEnding::LF).unwrap().as_bytes()).unwrap();
        let err = key_pair(&path, "apex").unwrap_err().to_string();
        assert!(err.contains("does not belong"), "{err}");
        std::fs::write(&path, "junk").unwrap();
        let err = format!("{:#}", key_pair(&path, "apex").unwrap_err());
        assert!(
            err.contains("not an unencrypted OpenSSH private key"),
            "{err}"
        );
    }

    #[test]
    fn a_kept_rsa_key_of_an_earlier_apex_is_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("id_rsa");
        let out = std::process::Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:1024",
                "-out",
            ])
            .arg(&path)
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let pem = std::fs::read_to_string(&path).unwrap();
        let kept = key_pair(&path, "apex").unwrap();
        assert!(!kept.created && kept.private == pem);
        assert!(kept.public.starts_with("ssh-rsa AAAA") && kept.public.ends_with(" apex"));
    }
}
