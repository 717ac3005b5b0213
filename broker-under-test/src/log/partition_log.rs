//! The log of one partition: its segments, log end offset, recovery point and flush policy.
//!
//! Opening a log is crash recovery: segments before the one holding the recovery point are
//! walked header by header; from that segment on every batch's CRC32C is checked, a torn or
//! corrupt tail is truncated (and later segments removed), and indexes are rebuilt. The walk
//! also replays every batch into the producer-state table so deduplication survives restarts.
//! The `recovery-drops-tail` seeded fault corrupts one decision here: `recovery_end`.

use std::fs;
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::batch::{BatchError, BatchHeader};
use super::segment::{self, Segment};
use crate::config::FlushPolicy;
use crate::faults::{SeededFault, SeededFaults};
use crate::producer::state::{BatchMetadata, ProducerStateTable};
use crate::replication::epoch_cache::{EpochEnd, LeaderEpochCache};

#[path = "truncate.rs"]
mod truncate;

/// Log I/O failures (answered KAFKA_STORAGE_ERROR).
#[derive(Debug, Error)]
pub enum LogError {
    /// A file operation failed.
    #[error("{context} ({path}): {source}")]
    Io {
        /// What was being done.
        context: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

fn io<'a>(context: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> LogError + 'a {
    move |source| LogError::Io {
        context,
        path: path.to_path_buf(),
        source,
    }
}

/// What recovery did to a partition, for the startup log.
#[derive(Debug, Default, Clone)]
pub struct RecoveryReport {
    /// Segments found.
    pub segments: usize,
    /// Segments whose batches were CRC-checked (from the recovery point on).
    pub segments_verified: usize,
    /// Bytes cut from a torn or corrupt tail.
    pub truncated_bytes: u64,
    /// Why the tail was cut.
    pub truncation_reason: Option<String>,
    /// Whole segments deleted because they followed a truncation point.
    pub segments_removed: usize,
    /// Batches replayed into the producer-state table.
    pub batches_replayed: usize,
}

/// Tuning shared by all partition logs.
#[derive(Debug, Clone, Copy)]
pub struct LogOptions {
    /// Roll size of a segment (Kafka `segment.bytes`).
    pub segment_bytes: u64,
    /// When to fsync.
    pub flush_policy: FlushPolicy,
    /// Seeded faults of recovery (`recovery-drops-tail`).
    pub faults: SeededFaults,
}

/// Where crash recovery ends the log. Kafka re-reads every segment from the recovery point
/// on and keeps each batch that validates (CRC, offsets), so records written to the page
/// cache but not yet fsynced survive a process crash: the checkpoint only says how far data
/// is known to be flushed, not where the log ends. The `recovery-drops-tail` seeded fault
/// truncates to the checkpoint instead, dropping acknowledged records past it.
pub fn recovery_end(recovery_point: i64, validated_end: i64, faults: SeededFaults) -> i64 {
    if faults.has(SeededFault::RecoveryDropsTail) {
        validated_end.min(recovery_point.max(0))
    } else {
        validated_end
    }
}

/// One partition's log.
#[derive(Debug)]
pub struct PartitionLog {
    dir: PathBuf,
    segments: Vec<Segment>,
    log_end_offset: i64,
    log_start_offset: i64,
    recovery_point: i64,
    unflushed_messages: u64,
    options: LogOptions,
    epochs: LeaderEpochCache,
}

impl PartitionLog {
    /// Opens (creating if needed) the log in `dir`, recovering from `recovery_point`, and
    /// replays its batches into `producers`.
    pub fn open(
        dir: &Path,
        recovery_point: i64,
        options: LogOptions,
        producers: &mut ProducerStateTable,
    ) -> Result<(Self, RecoveryReport), LogError> {
        fs::create_dir_all(dir).map_err(io("create partition directory", dir))?;
        let mut bases: Vec<i64> = fs::read_dir(dir)
            .map_err(io("list partition directory", dir))?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                e.file_name()
                    .to_str()
                    .and_then(segment::parse_log_file_name)
            })
            .collect();
        bases.sort_unstable();
        let mut report = RecoveryReport {
            segments: bases.len(),
            ..Default::default()
        };
        // Verify from the last segment that starts at or below the recovery point.
        let verify_from = bases
            .iter()
            .rposition(|&b| b <= recovery_point)
            .unwrap_or(0);
        let mut segments = Vec::new();
        let mut expected_base = bases.first().copied().unwrap_or(0);
        let mut cut = false;
        let mut epochs = LeaderEpochCache::default();
        for (i, &base) in bases.iter().enumerate() {
            let path = dir.join(segment::log_file_name(base));
            if cut || base != expected_base {
                fs::remove_file(&path)
                    .map_err(io("remove segment after truncation point", &path))?;
                // The stale index file is recreated or removed with its segment.
                let index_path = path.with_extension("index");
                if index_path.exists() {
                    fs::remove_file(&index_path).map_err(io("remove stale index", &index_path))?;
                }
                report.segments_removed += 1;
                cut = true;
                continue;
            }
            let verify = i >= verify_from;
            if verify {
                report.segments_verified += 1;
            }
            let scan = Segment::scan(&path, base, verify).map_err(io("scan segment", &path))?;
            let file_len = fs::metadata(&path)
                .map_err(io("stat segment", &path))?
                .len();
            if scan.valid_bytes < file_len {
                report.truncated_bytes += file_len - scan.valid_bytes;
                report.truncation_reason = Some(
                    scan.stopped_by
                        .as_ref()
                        .map_or_else(|| "unknown".to_string(), BatchError::to_string),
                );
                cut = true;
            }
            for (_, header) in &scan.batches {
                replay(producers, header);
                epochs.assign(header.partition_leader_epoch, header.base_offset);
                report.batches_replayed += 1;
            }
            let seg = Segment::open_scanned(dir, base, &scan).map_err(io("open segment", &path))?;
            expected_base = seg.next_offset();
            segments.push(seg);
        }
        // An empty later segment after a cut would break contiguity; drop empty tails except the first.
        while segments.len() > 1 && segments.last().is_some_and(|s| s.size() == 0) {
            if let Some(s) = segments.pop() {
                fs::remove_file(s.path()).map_err(io("remove empty segment", dir))?;
            }
        }
        if segments.is_empty() {
            segments.push(Segment::create(dir, 0).map_err(io("create first segment", dir))?);
        }
        let log_start_offset = segments[0].base_offset();
        let log_end_offset = segments.last().map_or(0, Segment::next_offset);
        let mut log = PartitionLog {
            dir: dir.to_path_buf(),
            segments,
            log_end_offset,
            log_start_offset,
            // Everything that survived recovery is on disk now (truncations were fsynced).
            recovery_point: recovery_point.min(log_end_offset),
            unflushed_messages: 0,
            options,
            epochs,
        };
        let end = recovery_end(recovery_point, log_end_offset, options.faults);
        if end < log_end_offset {
            tracing::warn!(dir = %dir.display(), recovery_point, log_end_offset, "seeded fault recovery-drops-tail: truncating to the recovery point");
            log.truncate_to(end, producers)?;
            report.truncation_reason = Some(format!(
                "seeded fault recovery-drops-tail: offsets {end}..{log_end_offset} past the recovery point dropped"
            ));
        }
        Ok((log, report))
    }

    /// Next offset to be assigned (LEO).
    pub fn log_end_offset(&self) -> i64 {
        self.log_end_offset
    }

    /// First offset still in the log.
    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset
    }

    /// Offset below which data is known flushed.
    pub fn recovery_point(&self) -> i64 {
        self.recovery_point
    }

    /// The leader-epoch cache (KIP-101), rebuilt from the stored batches' partition leader
    /// epochs on open and extended by every append.
    pub fn leader_epochs(&self) -> &LeaderEpochCache {
        &self.epochs
    }

    /// Records that `epoch` starts at `start_offset` (a new leader, before its first append).
    pub fn assign_leader_epoch(&mut self, epoch: i32, start_offset: i64) {
        self.epochs.assign(epoch, start_offset);
    }

    /// The OffsetForLeaderEpoch answer of this log for `epoch` (what a follower asks the
    /// leader before truncating, KIP-101).
    pub fn end_offset_for_epoch(&self, epoch: i32) -> EpochEnd {
        self.epochs.end_offset_for(epoch, self.log_end_offset)
    }

    /// Appends one validated batch as leader: assigns it the next offsets and `leader_epoch`,
    /// rolls the segment when full, and fsyncs according to the flush policy. Returns the
    /// stored header.
    pub fn append(&mut self, bytes: &mut [u8], leader_epoch: i32) -> Result<BatchHeader, LogError> {
        super::batch::assign(bytes, self.log_end_offset, leader_epoch);
        let header = super::batch::parse_header(bytes).map_err(|e| LogError::Io {
            context: "re-parse assigned batch",
            path: self.dir.clone(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()),
        })?;
        self.store(bytes, &header)?;
        Ok(header)
    }

    /// Appends a batch copied from the leader as it is (offsets and partition leader epoch
    /// already assigned there): how a follower's log stays a prefix-copy of the leader's.
    /// The batch must start exactly at this log's end offset.
    pub fn append_replicated(&mut self, bytes: &[u8]) -> Result<BatchHeader, LogError> {
        let header = super::batch::validate(bytes).map_err(|e| LogError::Io {
            context: "validate replicated batch",
            path: self.dir.clone(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()),
        })?;
        if header.base_offset != self.log_end_offset {
            return Err(LogError::Io {
                context: "append replicated batch",
                path: self.dir.clone(),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "batch starts at offset {} but the log ends at {}",
                        header.base_offset, self.log_end_offset
                    ),
                ),
            });
        }
        self.store(bytes, &header)?;
        Ok(header)
    }

    fn store(&mut self, bytes: &[u8], header: &BatchHeader) -> Result<(), LogError> {
        let base_offset = header.base_offset;
        let active_full = self.segments.last().is_some_and(|s| {
            s.size() > 0 && s.size() + bytes.len() as u64 > self.options.segment_bytes
        });
        if active_full {
            let seg =
                Segment::create(&self.dir, base_offset).map_err(io("roll segment", &self.dir))?;
            tracing::info!(dir = %self.dir.display(), base_offset, "rolled to a new segment");
            self.segments.push(seg);
        }
        let Some(active) = self.segments.last_mut() else {
            unreachable!("a partition log always has an active segment");
        };
        active
            .append(bytes, header)
            .map_err(io("append to segment", &self.dir))?;
        self.log_end_offset = header.last_offset() + 1;
        self.epochs
            .assign(header.partition_leader_epoch, base_offset);
        self.unflushed_messages += header.records_count as u64;
        let flush_now = match self.options.flush_policy {
            FlushPolicy::EveryBatch => true,
            FlushPolicy::EveryMessages(n) => self.unflushed_messages >= n,
            FlushPolicy::Os => false,
        };
        if flush_now {
            self.flush()?;
        }
        Ok(())
    }

    /// fsyncs every segment written since the recovery point and advances the recovery point.
    pub fn flush(&mut self) -> Result<(), LogError> {
        if self.recovery_point >= self.log_end_offset {
            return Ok(());
        }
        for seg in self
            .segments
            .iter()
            .filter(|s| s.next_offset() > self.recovery_point)
        {
            seg.sync().map_err(io("fsync segment", seg.path()))?;
        }
        self.recovery_point = self.log_end_offset;
        self.unflushed_messages = 0;
        Ok(())
    }

    /// Whole batches from the one containing `offset`, below `max_offset`, about `max_bytes`.
    pub fn read(
        &self,
        offset: i64,
        max_offset: i64,
        max_bytes: usize,
    ) -> Result<Option<Vec<u8>>, LogError> {
        let start = self
            .segments
            .partition_point(|s| s.base_offset() <= offset)
            .saturating_sub(1);
        for seg in &self.segments[start..] {
            if seg.next_offset() <= offset {
                continue;
            }
            return seg
                .read(offset, max_offset, max_bytes)
                .map_err(io("read segment", seg.path()));
        }
        Ok(None)
    }

    /// First offset of a batch with a timestamp >= `timestamp` (batch granularity).
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Result<Option<i64>, LogError> {
        for seg in &self.segments {
            if let Some(o) = seg
                .offset_for_timestamp(timestamp)
                .map_err(io("search timestamps", seg.path()))?
            {
                return Ok(Some(o));
            }
        }
        Ok(None)
    }
}

/// Feeds one stored batch into the producer-state table (recovery, and followers in part 2).
pub fn replay(producers: &mut ProducerStateTable, header: &BatchHeader) {
    if header.is_idempotent() {
        producers.record(
            header.producer_id,
            header.producer_epoch,
            BatchMetadata {
                first_sequence: header.base_sequence,
                last_sequence: header.last_sequence(),
                first_offset: header.base_offset,
                last_offset: header.last_offset(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::batch::tests::make_batch;
    use crate::producer::state::SequenceDecision;
    use std::io::Write;

    fn opts(policy: FlushPolicy, segment_bytes: u64) -> LogOptions {
        LogOptions {
            segment_bytes,
            flush_policy: policy,
            faults: SeededFaults::NONE,
        }
    }

    // Goal: reads that scan batch headers across many read-ahead chunks return exactly the
    // whole batches a one-header-at-a-time scan would: from the batch holding the offset,
    // stopping before the limit offset and after max_bytes (at least one batch).
    // Method: ~300 KiB of batches of 1-7 records; every 37th offset, three limits, four sizes,
    // compared with the batches recorded at append time.
    #[test]
    fn reads_across_scan_chunks_match_a_batch_by_batch_reference() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut p = ProducerStateTable::default();
        let (mut log, _) =
            PartitionLog::open(dir.path(), 0, opts(FlushPolicy::Os, 1 << 30), &mut p)
                .expect("open");
        // (base offset, last offset, bytes) of every batch, in log order.
        let mut batches: Vec<(i64, i64, Vec<u8>)> = Vec::new();
        for i in 0..4_000 {
            let mut b = make_batch(1 + (i % 7), -1, -1, -1);
            let stored = log.append(&mut b, 0).expect("append");
            batches.push((stored.base_offset, stored.last_offset(), b));
        }
        let leo = log.log_end_offset();
        let expected = |offset: i64, limit: i64, max_bytes: usize| -> Option<Vec<u8>> {
            let mut out: Vec<u8> = Vec::new();
            for (base, last, bytes) in &batches {
                if *base >= limit {
                    break;
                }
                if *last < offset {
                    continue;
                }
                if !out.is_empty() && out.len() + bytes.len() > max_bytes {
                    break;
                }
                out.extend_from_slice(bytes);
            }
            (!out.is_empty()).then_some(out)
        };
        for offset in (0..leo).step_by(37) {
            for limit in [offset + 1, offset + 500, leo] {
                for max_bytes in [1, 700, 64 * 1024, 1 << 20] {
                    assert_eq!(
                        log.read(offset, limit, max_bytes).expect("read"),
                        expected(offset, limit, max_bytes),
                        "offset {offset}, limit {limit}, max_bytes {max_bytes}"
                    );
                }
            }
        }
    }

    #[test]
    fn appends_assign_dense_offsets_and_reads_return_whole_batches() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut p = ProducerStateTable::default();
        let (mut log, _) = PartitionLog::open(
            dir.path(),
            0,
            opts(FlushPolicy::EveryBatch, 1 << 20),
            &mut p,
        )
        .expect("open");
        for _ in 0..3 {
            log.append(&mut make_batch(4, -1, -1, -1), 0)
                .expect("append");
        }
        assert_eq!(log.log_end_offset(), 12);
        assert_eq!(log.recovery_point(), 12);
        let bytes = log.read(5, 12, 1).expect("read").expect("some");
        let h = crate::log::batch::validate(&bytes).expect("valid batch");
        assert_eq!((h.base_offset, h.last_offset()), (4, 7));
        assert!(log.read(12, 12, 1000).expect("read").is_none());
        // High watermark limits reads.
        let bytes = log.read(0, 4, 1 << 20).expect("read").expect("some");
        assert_eq!(
            crate::log::batch::validate(&bytes)
                .expect("valid")
                .total_bytes,
            bytes.len()
        );
    }

    #[test]
    fn leader_epoch_cache_follows_appends_and_is_rebuilt_on_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = opts(FlushPolicy::EveryBatch, 1 << 20);
        let mut p = ProducerStateTable::default();
        let (mut log, _) = PartitionLog::open(dir.path(), 0, options, &mut p).expect("open");
        for epoch in [0, 0, 3, 5] {
            log.append(&mut make_batch(2, -1, -1, -1), epoch)
                .expect("append");
        }
        let expected = [(0, 0), (3, 4), (5, 6)];
        assert_eq!(log.leader_epochs().entries(), &expected);
        let answer = |leader_epoch, end_offset| EpochEnd {
            leader_epoch,
            end_offset,
        };
        assert_eq!(log.end_offset_for_epoch(2), answer(0, 4));
        assert_eq!(log.end_offset_for_epoch(5), answer(5, 8));
        drop(log);
        let mut p = ProducerStateTable::default();
        let (log, _) = PartitionLog::open(dir.path(), 0, options, &mut p).expect("reopen");
        assert_eq!(log.leader_epochs().entries(), &expected);
    }

    #[test]
    fn flush_every_n_messages_advances_the_recovery_point_in_steps() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut p = ProducerStateTable::default();
        let (mut log, _) = PartitionLog::open(
            dir.path(),
            0,
            opts(FlushPolicy::EveryMessages(5), 1 << 20),
            &mut p,
        )
        .expect("open");
        log.append(&mut make_batch(2, -1, -1, -1), 0)
            .expect("append");
        log.append(&mut make_batch(2, -1, -1, -1), 0)
            .expect("append");
        assert_eq!(log.recovery_point(), 0, "4 messages < 5: not flushed yet");
        log.append(&mut make_batch(2, -1, -1, -1), 0)
            .expect("append");
        assert_eq!(log.recovery_point(), 6, "6 messages >= 5: flushed");
        let (mut os_log, _) = PartitionLog::open(
            &dir.path().join("os"),
            0,
            opts(FlushPolicy::Os, 1 << 20),
            &mut p,
        )
        .expect("open");
        os_log
            .append(&mut make_batch(50, -1, -1, -1), 0)
            .expect("append");
        assert_eq!(
            os_log.recovery_point(),
            0,
            "os policy never fsyncs on append"
        );
        os_log.flush().expect("explicit flush");
        assert_eq!(os_log.recovery_point(), 50);
    }

    #[test]
    fn rolls_segments_and_reads_across_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut p = ProducerStateTable::default();
        let (mut log, _) =
            PartitionLog::open(dir.path(), 0, opts(FlushPolicy::Os, 200), &mut p).expect("open");
        for _ in 0..10 {
            log.append(&mut make_batch(2, -1, -1, -1), 0)
                .expect("append");
        }
        let logs = fs::read_dir(dir.path())
            .expect("ls")
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "log"))
            })
            .count();
        assert!(logs > 1, "expected several segments, got {logs}");
        for offset in 0..20 {
            let bytes = log.read(offset, 20, 1).expect("read").expect("batch");
            let h = crate::log::batch::validate(&bytes).expect("valid");
            assert!(h.base_offset <= offset && offset <= h.last_offset());
        }
        drop(log);
        let (log, report) =
            PartitionLog::open(dir.path(), 0, opts(FlushPolicy::Os, 200), &mut p).expect("reopen");
        assert_eq!(log.log_end_offset(), 20);
        assert_eq!(report.truncated_bytes, 0);
    }

    // Goal: recovery keeps every valid batch past the recovery point, and the
    // `recovery-drops-tail` fault cuts the log back to it (with the producer table). Method:
    // the pure rule, then a log of 5 idempotent batches written without fsync reopened with
    // a recovery point of 4, once correct and once faulty.
    #[test]
    fn recovery_drops_tail_fault_truncates_to_the_recovery_point() {
        let faulty = SeededFaults::NONE.with(SeededFault::RecoveryDropsTail);
        assert_eq!(recovery_end(4, 10, SeededFaults::NONE), 10);
        assert_eq!(recovery_end(4, 10, faulty), 4);
        assert_eq!(recovery_end(12, 10, faulty), 10);
        for (faults, leo, producer_next) in [(SeededFaults::NONE, 10, 10), (faulty, 4, 4)] {
            let dir = tempfile::tempdir().expect("tempdir");
            let mut p = ProducerStateTable::default();
            let (mut log, _) =
                PartitionLog::open(dir.path(), 0, opts(FlushPolicy::Os, 1 << 20), &mut p)
                    .expect("open");
            for seq in (0..10).step_by(2) {
                log.append(&mut make_batch(2, 7, 0, seq), 0)
                    .expect("append");
            }
            drop(log);
            let options = LogOptions {
                faults,
                ..opts(FlushPolicy::Os, 1 << 20)
            };
            let mut p = ProducerStateTable::default();
            let (log, _) = PartitionLog::open(dir.path(), 4, options, &mut p).expect("reopen");
            assert_eq!(log.log_end_offset(), leo, "faults {faults}");
            // The next sequence the producer table expects follows the kept records only.
            assert_eq!(
                p.check(7, 0, producer_next, producer_next + 1),
                Ok(SequenceDecision::Append),
                "faults {faults}"
            );
        }
    }

    #[test]
    fn recovery_truncates_a_torn_tail_and_rebuilds_producer_state() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut p = ProducerStateTable::default();
        let (mut log, _) = PartitionLog::open(
            dir.path(),
            0,
            opts(FlushPolicy::EveryBatch, 1 << 20),
            &mut p,
        )
        .expect("open");
        log.append(&mut make_batch(3, 5, 0, 0), 0).expect("append");
        log.append(&mut make_batch(3, 5, 0, 3), 0).expect("append");
        drop(log);
        // Simulate a crash mid-write: half a batch at the end of the segment.
        let torn = make_batch(3, 5, 0, 6);
        let seg_path = dir.path().join(segment::log_file_name(0));
        let mut f = fs::OpenOptions::new()
            .append(true)
            .open(&seg_path)
            .expect("open seg");
        f.write_all(&torn[..torn.len() / 2]).expect("write torn");
        drop(f);
        let mut fresh = ProducerStateTable::default();
        let (log, report) = PartitionLog::open(
            dir.path(),
            3,
            opts(FlushPolicy::EveryBatch, 1 << 20),
            &mut fresh,
        )
        .expect("recover");
        assert_eq!(log.log_end_offset(), 6);
        assert_eq!(report.truncated_bytes, (torn.len() / 2) as u64);
        assert_eq!(report.batches_replayed, 2);
        // The retried second batch is recognised as a duplicate with its original offset.
        match fresh.check(5, 0, 3, 5) {
            Ok(SequenceDecision::Duplicate(m)) => assert_eq!(m.first_offset, 3),
            other => panic!("expected duplicate, got {other:?}"),
        }
    }

    #[test]
    fn recovery_truncates_at_a_bad_crc() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut p = ProducerStateTable::default();
        let (mut log, _) = PartitionLog::open(
            dir.path(),
            0,
            opts(FlushPolicy::EveryBatch, 1 << 20),
            &mut p,
        )
        .expect("open");
        let first_len = make_batch(2, -1, -1, -1).len();
        log.append(&mut make_batch(2, -1, -1, -1), 0)
            .expect("append");
        log.append(&mut make_batch(2, -1, -1, -1), 0)
            .expect("append");
        drop(log);
        let seg_path = dir.path().join(segment::log_file_name(0));
        let mut bytes = fs::read(&seg_path).expect("read");
        let last = bytes.len() - 1;
        bytes[last] ^= 0x55;
        fs::write(&seg_path, &bytes).expect("corrupt");
        let (log, report) = PartitionLog::open(
            dir.path(),
            0,
            opts(FlushPolicy::EveryBatch, 1 << 20),
            &mut p,
        )
        .expect("recover");
        assert_eq!(log.log_end_offset(), 2);
        assert_eq!(report.truncated_bytes, (bytes.len() - first_len) as u64);
        assert!(report.truncation_reason.expect("reason").contains("CRC"));
    }
}
