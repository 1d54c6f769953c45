//! Applying a unified diff (as `patch -p1` would, or a `git format-patch`
//! mail) to files inside a mounted image, through the image root like every
//! other file operation. diffy parses and applies; every file's result is
//! computed before anything is written, so a hunk that does not apply leaves
//! the tree as it was.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use diffy::patch_set::{FileOperation, ParseOptions, PatchSet};
use rustix::fs::{Mode, OFlags};

use super::ops::{IN_ROOT, image_path, remove_tree_at, write_file};

/// Applies the diff in `diff_file` to the files under `dir` (relative to the
/// image root), stripping `strip` leading components of the diff's paths.
pub fn apply(root: &OwnedFd, diff_file: &Path, dir: &Path, strip: usize) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(diff_file)
        .with_context(|| format!("cannot read {}", diff_file.display()))?;
    let git = text.starts_with("From ")
        || text.starts_with("diff --git ")
        || text.contains("\ndiff --git ");
    let opts = if git {
        ParseOptions::gitdiff()
    } else {
        ParseOptions::unidiff()
    };
    let files: Vec<_> = PatchSet::parse(text.as_str(), opts)
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("{}: not a unified diff: {e}", diff_file.display()))?;
    if files.is_empty() {
        bail!("{}: no file changes in the diff", diff_file.display());
    }
    // Path -> new content (None: deleted), in the order the diff names them.
    let mut results: BTreeMap<PathBuf, Option<String>> = BTreeMap::new();
    for file in &files {
        let patch = file
            .patch()
            .as_text()
            .context("binary patches are not supported")?;
        let (path, delete) = match file.operation().strip_prefix(strip) {
            FileOperation::Modify { original, modified } if original == modified => {
                (original.into_owned(), false)
            }
            FileOperation::Create(p) => (p.into_owned(), false),
            FileOperation::Delete(p) => (p.into_owned(), true),
            other => bail!("{other:?}: renames and copies are not supported"),
        };
        let rel = dir.join(image_path(&format!("/{path}"))?);
        let base = match results.get(&rel) {
            Some(Some(content)) => content.clone(),
            Some(None) => String::new(),
            None if file.operation().is_create() => String::new(),
            None => read_in_root(root, &rel)?,
        };
        let new = diffy::apply(&base, patch)
            .map_err(|e| anyhow::anyhow!("{path}: the patch does not apply ({e})"))?;
        results.insert(rel, (!delete).then_some(new));
    }
    for (rel, content) in results {
        match content {
            Some(c) => write_file(root, &rel, &mut c.as_bytes(), None)?,
            None => remove_tree_at(root, &rel)?,
        }
    }
    Ok(())
}

fn read_in_root(root: &OwnedFd, rel: &Path) -> anyhow::Result<String> {
    let fd = rustix::fs::openat2(
        root,
        rel,
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
        IN_ROOT,
    )
    .map_err(|e| {
        anyhow::anyhow!(
            "{}: cannot open the file to patch in the image: {e}",
            rel.display()
        )
    })?;
    let mut text = String::new();
    std::fs::File::from(fd)
        .read_to_string(&mut text)
        .with_context(|| format!("reading {}", rel.display()))?;
    Ok(text)
}
