//! `apex examples [DIR]`: the commented sample input files shipped in the
//! binary (deploy settings, network settings for a virtual lab and for a
//! baremetal pod with VLANs, an inventory, site files for an existing and a
//! created undercloud), written out as a start for an operator's own.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use include_dir::{Dir, include_dir};

static EXAMPLES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/examples");

/// The shipped examples: file name and content, sorted by name.
pub fn files() -> Vec<(&'static str, &'static [u8])> {
    let mut out: Vec<(&str, &[u8])> = EXAMPLES
        .files()
        .filter_map(|f| Some((f.path().to_str()?, f.contents())))
        .collect();
    out.sort_by_key(|(name, _)| *name);
    out
}

/// Writes every example into `dir` (created when missing). An existing file
/// of the same name is never overwritten: then nothing is written and the
/// error names it. Returns the paths written.
pub fn write(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let files = files();
    let taken: Vec<String> = files
        .iter()
        .map(|(name, _)| dir.join(name))
        .filter(|p| std::fs::symlink_metadata(p).is_ok())
        .map(|p| p.display().to_string())
        .collect();
    if !taken.is_empty() {
        anyhow::bail!(
            "{} already exist(s); not overwriting (give another directory): {}",
            taken.len(),
            taken.join(", ")
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    for (name, content) in files {
        let path = dir.join(name);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        std::io::Write::write_all(&mut f, content)
            .with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_example_is_a_commented_yaml_or_markdown_file() {
        let files = super::files();
        assert!(
            files.len() >= 6,
            "{:?}",
            files.iter().map(|f| f.0).collect::<Vec<_>>()
        );
        for (name, content) in files {
            let text = std::str::from_utf8(content).unwrap();
            if name.ends_with(".yaml") {
                assert!(text.starts_with("# "), "{name}: starts without a comment");
            } else {
                assert!(name.ends_with(".md"), "{name}");
            }
        }
    }
}
