//! Finding the partitions of a disk image (MBR or GPT) by reading its table.
//!
//! Why not the kernel's partition scan (`LO_FLAGS_PARTSCAN`): kernels built
//! without MSDOS/EFI partition support (VM and CI kernels often are) never
//! create `/dev/loopNpK`. Reading start and length from the table and
//! attaching that byte range (`lo_offset`, `lo_sizelimit`) works everywhere.

use std::fs::File;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::Path;

use anyhow::{Context as _, bail};

const SECTOR: u64 = 512;

/// One partition: its number (1-based, as `/dev/sdaN`) and byte range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    pub number: u32,
    pub start: u64,
    pub size: u64,
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// The partitions of `image`; empty when it has no partition table (a bare
/// filesystem, like overcloud-full.qcow2).
pub fn read_partitions(image: &Path) -> anyhow::Result<Vec<Partition>> {
    let mut f = File::open(image).with_context(|| format!("cannot read {}", image.display()))?;
    let len = f.metadata()?.len();
    let mut mbr = [0u8; 512];
    if len < 1024 || f.read_exact(&mut mbr).is_err() || mbr[510..512] != [0x55, 0xaa] {
        return Ok(Vec::new());
    }
    let entries: Vec<(u8, u64, u64)> = (0..4)
        .map(|i| {
            let e = &mbr[446 + 16 * i..446 + 16 * (i + 1)];
            (e[4], u32_at(e, 8) as u64, u32_at(e, 12) as u64)
        })
        .collect();
    // A filesystem boot sector also ends in 55 AA; a real table has sane entries.
    let sane = entries
        .iter()
        .all(|&(kind, start, count)| kind == 0 || (start > 0 && (start + count) * SECTOR <= len));
    if !sane || entries.iter().all(|e| e.0 == 0) {
        return Ok(Vec::new());
    }
    if entries.iter().any(|e| e.0 == 0xee) {
        return read_gpt(&mut f, len);
    }
    Ok(entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.0 != 0 && !matches!(e.0, 0x05 | 0x0f | 0x85))
        .map(|(i, &(_, start, count))| Partition {
            number: i as u32 + 1,
            start: start * SECTOR,
            size: count * SECTOR,
        })
        .collect())
}

fn read_gpt(f: &mut File, len: u64) -> anyhow::Result<Vec<Partition>> {
    let mut header = [0u8; 92];
    f.seek(SeekFrom::Start(SECTOR))?;
    f.read_exact(&mut header)?;
    if &header[0..8] != b"EFI PART" {
        bail!("protective MBR without a GPT header");
    }
    let (table, count, entry_size) = (
        u64_at(&header, 72),
        u32_at(&header, 80),
        u32_at(&header, 84) as usize,
    );
    if !(128..=4096).contains(&entry_size) || count > 1024 {
        bail!("GPT header has implausible entries ({count} x {entry_size} bytes)");
    }
    let mut raw = vec![0u8; count as usize * entry_size];
    f.seek(SeekFrom::Start(table * SECTOR))?;
    f.read_exact(&mut raw)
        .context("GPT partition entries are cut off")?;
    Ok(raw
        .chunks(entry_size)
        .enumerate()
        .filter(|(_, e)| e[0..16].iter().any(|&b| b != 0))
        .map(|(i, e)| (i, u64_at(e, 32), u64_at(e, 40)))
        .filter(|&(_, first, last)| last >= first && (last + 1) * SECTOR <= len)
        .map(|(i, first, last)| Partition {
            number: i as u32 + 1,
            start: first * SECTOR,
            size: (last - first + 1) * SECTOR,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, at: u64, bytes: &[u8]) {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        f.seek(SeekFrom::Start(at)).unwrap();
        f.write_all(bytes).unwrap();
    }

    #[test]
    fn gpt_partitions_are_read_from_the_table() {
        let dir = tempfile::tempdir().unwrap();
        let img = dir.path().join("gpt.raw");
        File::create(&img).unwrap().set_len(8 << 20).unwrap();
        let mut mbr = [0u8; 512];
        mbr[446 + 4] = 0xee;
        mbr[446 + 8..446 + 12].copy_from_slice(&1u32.to_le_bytes());
        mbr[446 + 12..446 + 16].copy_from_slice(&(16383u32).to_le_bytes());
        mbr[510..].copy_from_slice(&[0x55, 0xaa]);
        write(&img, 0, &mbr);
        let mut hdr = [0u8; 92];
        hdr[..8].copy_from_slice(b"EFI PART");
        hdr[72..80].copy_from_slice(&2u64.to_le_bytes());
        hdr[80..84].copy_from_slice(&4u32.to_le_bytes());
        hdr[84..88].copy_from_slice(&128u32.to_le_bytes());
        write(&img, 512, &hdr);
        let mut entry = [0u8; 128];
        entry[0] = 0xaf; // a non-zero type GUID
        entry[32..40].copy_from_slice(&2048u64.to_le_bytes());
        entry[40..48].copy_from_slice(&6143u64.to_le_bytes());
        write(&img, 1024 + 128, &entry); // the second slot: partition 2
        assert_eq!(
            read_partitions(&img).unwrap(),
            vec![Partition {
                number: 2,
                start: 1 << 20,
                size: 2 << 20
            }]
        );
    }

    #[test]
    fn a_bare_filesystem_has_no_partitions() {
        let dir = tempfile::tempdir().unwrap();
        let img = dir.path().join("bare.raw");
        File::create(&img).unwrap().set_len(1 << 20).unwrap();
        assert!(read_partitions(&img).unwrap().is_empty());
    }
}
