//! The tree an archive is unpacked into, as `unpack` knows it without asking
//! the filesystem: the directories and symlinks it wrote into the staging
//! directory (which it created empty and alone writes to), seen over the
//! destination, whose top-level entries the staged ones will replace and
//! whose other entries stay beside them. Link targets are resolved against
//! this tree, never against the host's.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

/// How many symlinks one resolution may follow (as the kernel's ELOOP limit).
const MAX_LINK_HOPS: u32 = 40;

/// What a path of the tree is, without following a final symlink.
#[derive(Debug, PartialEq)]
pub(super) enum Node {
    /// Not written, or a file (resolution only tells links apart).
    NotLink,
    Dir,
    Link(PathBuf),
}

pub(super) struct Tree<'a> {
    dest: &'a Path,
    /// Real directories written below the root. A directory is never
    /// replaced (a file, link or hard link over one is refused), so an entry
    /// here stays a directory, and so do its parents.
    dirs: HashSet<PathBuf>,
    /// Symlinks written below the root, with their targets.
    links: HashMap<PathBuf, PathBuf>,
    /// Top-level names written: these hide the destination's namesakes.
    tops: HashSet<OsString>,
}

impl<'a> Tree<'a> {
    pub(super) fn new(dest: &'a Path) -> Self {
        Self {
            dest,
            dirs: HashSet::new(),
            links: HashMap::new(),
            tops: HashSet::new(),
        }
    }

    pub(super) fn is_dir(&self, rel: &Path) -> bool {
        rel.as_os_str().is_empty() || self.dirs.contains(rel)
    }

    pub(super) fn link(&self, rel: &Path) -> Option<&Path> {
        self.links.get(rel).map(PathBuf::as_path)
    }

    /// Records that `rel` is now a directory (it may have replaced a link).
    pub(super) fn wrote_dir(&mut self, rel: &Path) {
        self.links.remove(rel);
        self.wrote(rel);
        self.dirs.insert(rel.to_path_buf());
    }

    /// Records that `rel` is now a symlink to `target`.
    pub(super) fn wrote_link(&mut self, rel: &Path, target: &Path) {
        self.wrote(rel);
        self.links.insert(rel.to_path_buf(), target.to_path_buf());
    }

    /// Records that `rel` is now a file (it may have replaced a link).
    pub(super) fn wrote_file(&mut self, rel: &Path) {
        self.links.remove(rel);
        self.wrote(rel);
    }

    fn wrote(&mut self, rel: &Path) {
        if let Some(Component::Normal(top)) = rel.components().next()
            && !self.tops.contains(top)
        {
            self.tops.insert(top.to_os_string());
        }
    }

    /// Looks up a path below the root whose every parent is a real directory
    /// (resolution only ever asks for such paths), so no host link is followed.
    pub(super) fn lookup(&self, rel: &Path) -> Node {
        let Some(Component::Normal(top)) = rel.components().next() else {
            return Node::Dir;
        };
        if self.tops.contains(top) {
            return match self.links.get(rel) {
                Some(t) => Node::Link(t.clone()),
                None if self.dirs.contains(rel) => Node::Dir,
                None => Node::NotLink,
            };
        }
        let path = self.dest.join(rel);
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => match std::fs::read_link(&path) {
                Ok(t) => Node::Link(t),
                Err(_) => Node::NotLink,
            },
            Ok(m) if m.is_dir() => Node::Dir,
            _ => Node::NotLink,
        }
    }

    /// Resolves `target` from the directory `dir` (names below the root),
    /// following the symlinks of the tree component by component (the last
    /// one too when `follow_last`). Missing components are taken as they are
    /// written. Err says why the resolution leaves the destination.
    pub(super) fn resolve(
        &self,
        dir: &[OsString],
        target: &Path,
        follow_last: bool,
    ) -> Result<Vec<OsString>, String> {
        enum Step {
            Up,
            Name(OsString),
        }
        fn push_steps(todo: &mut Vec<Step>, target: &Path) {
            // A stack: the first component ends up on top.
            for c in target.components().rev() {
                match c {
                    Component::Normal(n) => todo.push(Step::Name(n.to_os_string())),
                    Component::ParentDir => todo.push(Step::Up),
                    _ => {}
                }
            }
        }
        if target.has_root() {
            return Err("leaves the destination (absolute path)".into());
        }
        let mut at: Vec<OsString> = dir.to_vec();
        let mut todo = Vec::new();
        push_steps(&mut todo, target);
        let mut hops = 0;
        let mut via: Option<String> = None;
        let through = |via: &Option<String>| {
            via.as_ref()
                .map(|v| format!(" through the link {v}"))
                .unwrap_or_default()
        };
        while let Some(step) = todo.pop() {
            match step {
                Step::Up => {
                    if at.pop().is_none() {
                        return Err(format!("leaves the destination{}", through(&via)));
                    }
                }
                Step::Name(n) => {
                    at.push(n);
                    if todo.is_empty() && !follow_last {
                        break;
                    }
                    let here: PathBuf = at.iter().collect();
                    if let Node::Link(t) = self.lookup(&here) {
                        hops += 1;
                        if hops > MAX_LINK_HOPS {
                            return Err(format!(
                                "cannot be resolved: more than {MAX_LINK_HOPS} links in a chain (a loop?)"
                            ));
                        }
                        via = Some(format!("{} -> {}", here.display(), t.display()));
                        if t.has_root() {
                            return Err(format!(
                                "leaves the destination{} (absolute path)",
                                through(&via)
                            ));
                        }
                        at.pop();
                        push_steps(&mut todo, &t);
                    }
                }
            }
        }
        Ok(at)
    }
}

/// The names of `rel`'s parent directory, the start of a link's resolution.
pub(super) fn parent_names(rel: &Path) -> Vec<OsString> {
    rel.parent()
        .unwrap_or(Path::new(""))
        .components()
        .map(|c| c.as_os_str().to_os_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_through_the_tree() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("d");
        let mut tree = Tree::new(&dest);
        tree.wrote_dir(Path::new("a"));
        tree.wrote_dir(Path::new("a/b"));
        tree.wrote_link(Path::new("a/up"), Path::new(".."));
        let names = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        let r = |dir: &[&str], t: &str| tree.resolve(&names(dir), Path::new(t), true);
        assert_eq!(r(&["a", "b"], "../c"), Ok(names(&["a", "c"])));
        assert_eq!(r(&[], "a/up/a/b"), Ok(names(&["a", "b"])));
        assert!(r(&["a"], "../..").is_err());
        assert!(r(&[], "..").is_err());
        assert!(r(&["a"], "/etc").is_err());
        let e = r(&[], "a/up/..").unwrap_err();
        assert!(e.contains("a/up -> .."), "{e}");
        assert_eq!(
            tree.resolve(&[], Path::new("a/up"), false),
            Ok(names(&["a", "up"]))
        );
    }

    #[test]
    fn a_file_over_a_link_ends_the_link() {
        let dest = PathBuf::from("/nonexistent-apex-dest");
        let mut tree = Tree::new(&dest);
        tree.wrote_link(Path::new("l"), Path::new("/etc"));
        assert_eq!(tree.lookup(Path::new("l")), Node::Link("/etc".into()));
        tree.wrote_file(Path::new("l"));
        assert_eq!(tree.lookup(Path::new("l")), Node::NotLink);
    }
}
