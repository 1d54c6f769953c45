//! The mount points of this process's mount namespace, from
//! `/proc/self/mountinfo`: what is mounted below an image root or a work
//! directory, so clean-up can undo exactly that.

use std::os::unix::ffi::OsStringExt as _;
use std::path::PathBuf;

/// Every mount point, in mount order.
pub fn mount_points() -> std::io::Result<Vec<PathBuf>> {
    let info = std::fs::read_to_string("/proc/self/mountinfo")?;
    Ok(info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| PathBuf::from(std::ffi::OsString::from_vec(unescape(p))))
        .collect())
}

/// Mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn octal_escapes_are_undone() {
        assert_eq!(super::unescape(r"/a\040b\134c"), b"/a b\\c");
        assert_eq!(super::unescape(r"/x\04"), b"/x\\04");
        assert!(
            super::mount_points()
                .unwrap()
                .iter()
                .any(|p| p == std::path::Path::new("/"))
        );
    }
}
