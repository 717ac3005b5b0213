//! Sparse offset index of one segment: (relative offset, file position) every N bytes.
//!
//! Same on-disk shape as Kafka's `.index` files (8-byte entries: u32 relative offset, u32
//! position, big-endian). A lookup gives the position of the last indexed batch at or below an
//! offset; the segment then walks batch headers from there.

use std::fs::File;
use std::io::Write;

/// Bytes of log between two index entries (Kafka `index.interval.bytes`).
pub const INDEX_INTERVAL_BYTES: u64 = 4096;

/// In-memory entries mirrored to the segment's `.index` file.
#[derive(Debug)]
pub struct OffsetIndex {
    base_offset: i64,
    entries: Vec<(i64, u64)>,
    bytes_since_last_entry: u64,
    file: File,
}

impl OffsetIndex {
    /// Starts an empty index over `file` (truncated: indexes are rebuilt on open).
    pub fn new(base_offset: i64, file: File) -> std::io::Result<Self> {
        file.set_len(0)?;
        Ok(OffsetIndex {
            base_offset,
            entries: Vec::new(),
            bytes_since_last_entry: 0,
            file,
        })
    }

    /// Records that a batch starting at `offset` was written at `position` with `size` bytes.
    pub fn on_append(&mut self, offset: i64, position: u64, size: u64) -> std::io::Result<()> {
        if self.entries.is_empty() || self.bytes_since_last_entry >= INDEX_INTERVAL_BYTES {
            assert!(
                self.entries
                    .last()
                    .is_none_or(|&(o, p)| o < offset && p < position),
                "index entries must grow"
            );
            let relative = u32::try_from(offset - self.base_offset).unwrap_or(u32::MAX);
            let pos = u32::try_from(position).unwrap_or(u32::MAX);
            let mut entry = [0u8; 8];
            entry[..4].copy_from_slice(&relative.to_be_bytes());
            entry[4..].copy_from_slice(&pos.to_be_bytes());
            self.file.write_all(&entry)?;
            self.entries.push((offset, position));
            self.bytes_since_last_entry = 0;
        }
        self.bytes_since_last_entry += size;
        Ok(())
    }

    /// Position of the last indexed batch whose base offset is <= `offset` (0 if none).
    pub fn lookup(&self, offset: i64) -> u64 {
        let idx = self.entries.partition_point(|&(o, _)| o <= offset);
        if idx == 0 {
            0
        } else {
            self.entries[idx - 1].1
        }
    }

    /// Number of entries (for recovery reports and tests).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing was indexed yet.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// fsyncs the index file alongside its segment.
    pub fn sync(&self) -> std::io::Result<()> {
        self.file.sync_data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_returns_floor_entry() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = File::create(dir.path().join("x.index")).expect("create");
        let mut idx = OffsetIndex::new(100, file).expect("index");
        idx.on_append(100, 0, 5000).expect("append");
        idx.on_append(110, 5000, 10).expect("append");
        idx.on_append(111, 5010, 5000).expect("append");
        assert_eq!(idx.len(), 2);
        assert_eq!(idx.lookup(99), 0);
        assert_eq!(idx.lookup(105), 0);
        assert_eq!(idx.lookup(110), 5000);
        assert_eq!(idx.lookup(200), 5000);
        let on_disk = std::fs::metadata(dir.path().join("x.index"))
            .expect("meta")
            .len();
        assert_eq!(on_disk, 16);
    }
}
