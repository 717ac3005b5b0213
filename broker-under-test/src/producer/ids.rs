//! Producer id allocation that stays unique across restarts.
//!
//! Ids are handed out from blocks reserved on disk before use (the shape of KIP-730's
//! AllocateProducerIds, which part 2's controller will own): the file holds the first id of the
//! next unreserved block, and is advanced and fsynced before any id of a new block is returned.
//! A crash can waste the rest of a block but never reuse an id.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// File name inside the data directory.
pub const FILE_NAME: &str = "producer-id-block";
/// Ids reserved per disk write.
pub const BLOCK_SIZE: i64 = 1000;

/// Allocation failures.
#[derive(Debug, Error)]
pub enum ProducerIdError {
    /// The block file could not be read or written.
    #[error("producer id block file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The block file holds something other than a non-negative integer.
    #[error("producer id block file {0} is corrupt")]
    Corrupt(PathBuf),
    /// The presented epoch is not the producer's current one (KIP-360 fencing).
    #[error("producer {producer_id} presented epoch {presented}, current is {current}")]
    Fenced {
        /// The producer id.
        producer_id: i64,
        /// Epoch in the request.
        presented: i16,
        /// Epoch this broker handed out last.
        current: i16,
    },
}

/// Hands out (producer id, epoch) pairs for InitProducerId.
#[derive(Debug)]
pub struct ProducerIdAllocator {
    path: PathBuf,
    next_id: i64,
    block_end: i64,
    namespace: i64,
    epochs: HashMap<i64, i16>,
}

/// Bits of a producer id below the broker's namespace (a cluster of brokers hands out
/// disjoint ids without asking each other).
const NAMESPACE_SHIFT: u32 = 40;

impl ProducerIdAllocator {
    /// Loads the block file (missing means start at 0); no block is reserved until needed.
    pub fn open(data_dir: &Path) -> Result<Self, ProducerIdError> {
        let path = data_dir.join(FILE_NAME);
        let next = match fs::read_to_string(&path) {
            Ok(text) => text
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| ProducerIdError::Corrupt(path.clone()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(source) => return Err(ProducerIdError::Io { path, source }),
        };
        Ok(ProducerIdAllocator {
            path,
            next_id: next,
            block_end: next,
            namespace: 0,
            epochs: HashMap::new(),
        })
    }

    /// Clustered brokers each allocate in their own id range (`node_id << 40`), so two
    /// brokers never hand out the same producer id — Kafka gets the same guarantee from
    /// controller-allocated blocks (KIP-730). Deduplication after a failover depends on it.
    pub fn with_namespace(mut self, node_id: i32) -> Self {
        self.namespace = i64::from(node_id.max(0)) << NAMESPACE_SHIFT;
        self
    }

    fn reserve_block(&mut self) -> Result<(), ProducerIdError> {
        let end = self.block_end + BLOCK_SIZE;
        let io = |source| ProducerIdError::Io {
            path: self.path.clone(),
            source,
        };
        let tmp = self.path.with_extension("tmp");
        let mut f = fs::File::create(&tmp).map_err(io)?;
        f.write_all(format!("{end}\n").as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
        fs::rename(&tmp, &self.path).map_err(io)?;
        if let Some(dir) = self.path.parent() {
            fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
        }
        self.block_end = end;
        Ok(())
    }

    /// A fresh producer id with epoch 0.
    pub fn allocate(&mut self) -> Result<(i64, i16), ProducerIdError> {
        if self.next_id >= self.block_end {
            self.reserve_block()?;
        }
        let id = self.namespace + self.next_id;
        self.next_id += 1;
        self.epochs.insert(id, 0);
        Ok((id, 0))
    }

    /// KIP-360: a producer presenting its id and epoch gets the epoch bumped (a fresh id once
    /// the epoch would overflow). A presented epoch older than the last one handed out is fenced.
    pub fn bump(&mut self, producer_id: i64, epoch: i16) -> Result<(i64, i16), ProducerIdError> {
        if let Some(&current) = self.epochs.get(&producer_id) {
            if epoch != current {
                return Err(ProducerIdError::Fenced {
                    producer_id,
                    presented: epoch,
                    current,
                });
            }
        }
        if epoch >= i16::MAX - 1 {
            return self.allocate();
        }
        let next = epoch + 1;
        self.epochs.insert(producer_id, next);
        Ok((producer_id, next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_across_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut a = ProducerIdAllocator::open(dir.path()).expect("open");
        let first: Vec<i64> = (0..3).map(|_| a.allocate().expect("alloc").0).collect();
        drop(a);
        let mut b = ProducerIdAllocator::open(dir.path()).expect("reopen");
        let next = b.allocate().expect("alloc").0;
        assert!(first.iter().all(|&id| id < next), "{first:?} then {next}");
    }

    #[test]
    fn namespaces_keep_brokers_ids_apart() {
        let (d1, d2) = (
            tempfile::tempdir().expect("tempdir"),
            tempfile::tempdir().expect("tempdir"),
        );
        let mut one = ProducerIdAllocator::open(d1.path())
            .expect("open")
            .with_namespace(1);
        let mut two = ProducerIdAllocator::open(d2.path())
            .expect("open")
            .with_namespace(2);
        let a: Vec<i64> = (0..5).map(|_| one.allocate().expect("alloc").0).collect();
        let b: Vec<i64> = (0..5).map(|_| two.allocate().expect("alloc").0).collect();
        assert!(a.iter().all(|id| !b.contains(id)), "{a:?} {b:?}");
    }

    #[test]
    fn bump_increments_epoch_and_fences_stale_epochs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut a = ProducerIdAllocator::open(dir.path()).expect("open");
        let (id, e) = a.allocate().expect("alloc");
        assert_eq!(a.bump(id, e).expect("bump"), (id, 1));
        assert!(matches!(a.bump(id, 0), Err(ProducerIdError::Fenced { .. })));
        let (other, epoch) = a.bump(77, i16::MAX - 1).expect("overflow gives new id");
        assert_ne!(other, 77);
        assert_eq!(epoch, 0);
    }
}
