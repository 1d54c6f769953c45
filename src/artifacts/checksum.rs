//! Checksums an artifact must match: given by the caller or published beside
//! it upstream (`<name>.sha256`, `<name>.md5`), computed while the bytes are
//! written so verification costs no second read.

use std::io::Read as _;
use std::path::Path;

use anyhow::Context as _;
use md5::Digest as _;

/// A hash algorithm apex verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algo {
    Sha256,
    Md5,
}

impl Algo {
    pub fn name(self) -> &'static str {
        match self {
            Algo::Sha256 => "sha256",
            Algo::Md5 => "md5",
        }
    }

    fn hex_len(self) -> usize {
        match self {
            Algo::Sha256 => 64,
            Algo::Md5 => 32,
        }
    }

    /// The algorithm a published checksum file is for, from its name or its content.
    fn of_published(url: &str, hex: &str) -> anyhow::Result<Self> {
        let by_len = match hex.len() {
            64 => Algo::Sha256,
            32 => Algo::Md5,
            n => anyhow::bail!(
                "checksum file {url} holds a {n}-digit value, neither sha256 (64) nor md5 (32)"
            ),
        };
        let by_name = if url.ends_with(".md5") {
            Some(Algo::Md5)
        } else if url.ends_with(".sha256") {
            Some(Algo::Sha256)
        } else {
            None
        };
        match by_name {
            Some(a) if a != by_len => {
                anyhow::bail!("checksum file {url} does not hold a {} value", a.name())
            }
            _ => Ok(by_len),
        }
    }
}

/// One checksum to verify, hex in lower case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub algo: Algo,
    pub hex: String,
}

impl Expected {
    /// A checksum given by the caller; fails on a value that cannot be one.
    pub fn given(algo: Algo, hex: &str) -> anyhow::Result<Self> {
        let hex = hex.trim().to_ascii_lowercase();
        if hex.len() != algo.hex_len() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            anyhow::bail!(
                "{} must be {} hex digits, got {hex:?}",
                algo.name(),
                algo.hex_len()
            );
        }
        Ok(Self { algo, hex })
    }

    /// Parses a published checksum file: `HEX`, or `HEX  name` lines as written
    /// by sha256sum/md5sum; with several lines, the one naming `artifact_name`.
    pub fn published(url: &str, text: &str, artifact_name: &str) -> anyhow::Result<Self> {
        let mut first = None;
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let mut parts = line.split_whitespace();
            let hex = parts.next().unwrap_or_default();
            let name = parts.next().map(|n| n.trim_start_matches('*'));
            if name.is_some_and(|n| Path::new(n).file_name().is_some_and(|f| f == artifact_name)) {
                first = Some(hex);
                break;
            }
            first.get_or_insert(hex);
        }
        let hex = first.with_context(|| format!("checksum file {url} is empty"))?;
        let algo = Algo::of_published(url, hex)?;
        Self::given(algo, hex).with_context(|| format!("checksum file {url}"))
    }
}

/// Running hashes over the bytes of a download.
#[derive(Default, Clone)]
pub struct Hashers {
    sha256: Option<sha2::Sha256>,
    md5: Option<md5::Md5>,
}

impl Hashers {
    pub fn for_algos(algos: impl IntoIterator<Item = Algo>) -> Self {
        let mut h = Self::default();
        for a in algos {
            match a {
                Algo::Sha256 => h.sha256 = Some(sha2::Sha256::new()),
                Algo::Md5 => h.md5 = Some(md5::Md5::new()),
            }
        }
        h
    }

    pub fn is_empty(&self) -> bool {
        self.sha256.is_none() && self.md5.is_none()
    }

    pub fn update(&mut self, data: &[u8]) {
        if let Some(h) = &mut self.sha256 {
            h.update(data);
        }
        if let Some(h) = &mut self.md5 {
            h.update(data);
        }
    }

    /// Feeds the first `len` bytes of a file (the part already downloaded before a resume).
    pub fn update_from_file(&mut self, path: &Path, len: u64) -> anyhow::Result<()> {
        if self.is_empty() {
            return Ok(());
        }
        let f =
            std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
        let mut f = f.take(len);
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            self.update(&buf[..n]);
        }
    }

    pub fn finish(self) -> Digests {
        Digests {
            sha256: self.sha256.map(|h| hex::encode(h.finalize())),
            md5: self.md5.map(|h| hex::encode(h.finalize())),
        }
    }
}

/// Final hex digests of the algorithms that were computed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Digests {
    pub sha256: Option<String>,
    pub md5: Option<String>,
}

impl Digests {
    pub fn get(&self, algo: Algo) -> Option<&str> {
        match algo {
            Algo::Sha256 => self.sha256.as_deref(),
            Algo::Md5 => self.md5.as_deref(),
        }
    }

    /// Hashes a whole file with the given algorithms.
    pub fn of_file(path: &Path, algos: impl IntoIterator<Item = Algo>) -> anyhow::Result<Self> {
        let mut h = Hashers::for_algos(algos);
        h.update_from_file(path, u64::MAX)?;
        Ok(h.finish())
    }

    /// Checks every expected value; the error names algorithm, expected and actual.
    pub fn verify(&self, expected: &[Expected]) -> anyhow::Result<()> {
        for e in expected {
            let got = self.get(e.algo).unwrap_or("(not computed)");
            if got != e.hex {
                anyhow::bail!(
                    "checksum mismatch: expected {} {}, got {got}",
                    e.algo.name(),
                    e.hex
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_formats() {
        let sha = "a".repeat(64);
        let e =
            Expected::published("http://x/f.sha256", &format!("{sha}  f.tar\n"), "f.tar").unwrap();
        assert_eq!(
            e,
            Expected {
                algo: Algo::Sha256,
                hex: sha.clone()
            }
        );
        let md5 = "B".repeat(32);
        let e = Expected::published(
            "http://x/f.md5",
            &format!("{}  other\n{md5} *f.tar\n", "c".repeat(32)),
            "f.tar",
        )
        .unwrap();
        assert_eq!(
            e,
            Expected {
                algo: Algo::Md5,
                hex: md5.to_lowercase()
            }
        );
        assert!(Expected::published("http://x/f.md5", &sha, "f").is_err());
        assert!(Expected::published("http://x/f.sha256", "", "f").is_err());
        assert!(Expected::given(Algo::Sha256, "xyz").is_err());
    }
}
