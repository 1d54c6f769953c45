//! Where test runs keep their labs between runs: one cache dir per checkout,
//! `$APEX_LAB_CACHE/<checkout>/` (default `/var/tmp/apex-lab/cache/<checkout>/`),
//! so the next run of the same checkout reattaches to its labs (or reuses
//! their seeded registries) while two checkouts testing at once never share,
//! and so stop, a lab. `<checkout>` is the workspace dir's name and a hash of
//! its path. `apex lab down --purge --dir DIR` removes one lab for good.

use std::path::{Path, PathBuf};

/// The variable naming the cache root.
pub const VAR: &str = "APEX_LAB_CACHE";
/// The cache root without [`VAR`].
pub const DEFAULT_ROOT: &str = "/var/tmp/apex-lab/cache";

/// `<cache root>/<checkout>/<name>` for this checkout (the workspace this
/// crate was built from).
pub fn checkout_dir(name: &str) -> PathBuf {
    let root = std::env::var_os(VAR)
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_ROOT), PathBuf::from);
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("/"));
    root.join(checkout_tag(workspace)).join(name)
}

/// `<dir name>-<8 hex of an FNV-1a hash of the path>`: readable, and distinct
/// for two checkouts of the same name.
fn checkout_tag(workspace: &Path) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in workspace.as_os_str().as_encoded_bytes() {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    let name: String = workspace
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(32)
        .collect();
    format!("{name}-{:08x}", h as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_checkouts_get_two_dirs_under_one_root() {
        let a = checkout_tag(Path::new("/work/wt/h1"));
        let b = checkout_tag(Path::new("/home/me/h1"));
        assert!(a.starts_with("h1-") && b.starts_with("h1-"), "{a} {b}");
        assert_ne!(a, b);
        assert_eq!(a, checkout_tag(Path::new("/work/wt/h1")));
        let d = checkout_dir("deploy");
        assert!(d.ends_with("deploy"), "{}", d.display());
    }
}
