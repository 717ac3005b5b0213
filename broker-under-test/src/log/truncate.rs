//! Log truncation (Kafka's `Log.truncateTo`): how a follower, or an old leader coming back,
//! drops its divergent tail after the OffsetForLeaderEpoch exchange (KIP-101).
//!
//! Files are cut on disk first (later segments deleted, the segment holding the offset cut at
//! the first batch that reaches it), then the log is reopened, which rebuilds the offset
//! indexes, the leader-epoch cache and the idempotent-producer table from what remains: one
//! code path for recovery and truncation, so they cannot disagree. Reopening re-reads the
//! remaining batch headers, which is fine for test-sized logs.

use std::fs::{self, OpenOptions};

use super::{io, LogError, PartitionLog};
use crate::log::segment::Segment;
use crate::producer::state::ProducerStateTable;

impl PartitionLog {
    /// Truncates so that the LEO is at most `offset`; a batch straddling `offset` is removed
    /// whole (the LEO becomes its base offset). `producers` is replaced by the table rebuilt
    /// from the remaining log. Returns the new LEO. A no-op when `offset` ≥ LEO.
    pub fn truncate_to(
        &mut self,
        offset: i64,
        producers: &mut ProducerStateTable,
    ) -> Result<i64, LogError> {
        if offset >= self.log_end_offset {
            return Ok(self.log_end_offset);
        }
        self.flush()?;
        let offset = offset.max(self.log_start_offset);
        let dir = self.dir.clone();
        let first_base = self.segments.first().map(Segment::base_offset);
        for seg in std::mem::take(&mut self.segments) {
            let (base, next) = (seg.base_offset(), seg.next_offset());
            let path = seg.path().to_path_buf();
            drop(seg);
            if base >= offset && Some(base) != first_base {
                fs::remove_file(&path).map_err(io("remove truncated segment", &path))?;
                let index_path = path.with_extension("index");
                if index_path.exists() {
                    fs::remove_file(&index_path)
                        .map_err(io("remove truncated index", &index_path))?;
                }
            } else if next > offset {
                let scan = Segment::scan(&path, base, false).map_err(io("scan segment", &path))?;
                let cut = scan
                    .batches
                    .iter()
                    .find(|(_, h)| h.last_offset() >= offset)
                    .map_or(scan.valid_bytes, |(position, _)| *position);
                let file = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(io("open segment to truncate", &path))?;
                file.set_len(cut).map_err(io("truncate segment", &path))?;
                file.sync_all()
                    .map_err(io("fsync truncated segment", &path))?;
            }
        }
        fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(io("fsync partition directory", &dir))?;
        let mut rebuilt = ProducerStateTable::default();
        let (log, _) = PartitionLog::open(&dir, offset, self.options, &mut rebuilt)?;
        tracing::info!(dir = %dir.display(), requested = offset, log_end_offset = log.log_end_offset, "log truncated");
        *self = log;
        *producers = rebuilt;
        Ok(self.log_end_offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FlushPolicy;
    use crate::log::batch::tests::make_batch;
    use crate::log::partition_log::LogOptions;
    use crate::log::partition_log::PartitionLog;
    use crate::producer::state::SequenceDecision;

    #[test]
    fn truncation_cuts_segments_epochs_and_producer_state() {
        let dir = tempfile::tempdir().expect("tempdir");
        // Small segments: every couple of batches rolls a new one.
        let options = LogOptions {
            segment_bytes: 200,
            flush_policy: FlushPolicy::Os,
            faults: crate::faults::SeededFaults::NONE,
        };
        let mut producers = ProducerStateTable::default();
        let (mut log, _) =
            PartitionLog::open(dir.path(), 0, options, &mut producers).expect("open");
        // Producer 7 writes sequences 0..10 in five batches of 2, epochs 0,0,1,1,2.
        for (i, epoch) in [0, 0, 1, 1, 2].into_iter().enumerate() {
            let seq = i32::try_from(i * 2).expect("seq");
            let header = log
                .append(&mut make_batch(2, 7, 0, seq), epoch)
                .expect("append");
            crate::log::partition_log::replay(&mut producers, &header);
        }
        assert!(log.segments.len() > 2, "test needs several segments");
        assert_eq!(log.log_end_offset(), 10);

        // Offset 5 is inside the third batch (4..=5): that batch goes whole.
        let leo = log.truncate_to(5, &mut producers).expect("truncate");
        assert_eq!(leo, 4);
        assert_eq!(log.leader_epochs().entries(), &[(0, 0)]);
        assert!(log.read(4, 10, 1 << 20).expect("read").is_none());
        // The producer table forgot the truncated batches: sequence 4 is new again.
        assert_eq!(producers.check(7, 0, 4, 5), Ok(SequenceDecision::Append));
        let header = log
            .append(&mut make_batch(2, 7, 0, 4), 3)
            .expect("append after truncation");
        assert_eq!(header.base_offset, 4);
        assert_eq!(log.leader_epochs().entries(), &[(0, 0), (3, 4)]);

        // Reopening gives the same log.
        drop(log);
        let mut reopened_producers = ProducerStateTable::default();
        let (log, _) =
            PartitionLog::open(dir.path(), 0, options, &mut reopened_producers).expect("reopen");
        assert_eq!(log.log_end_offset(), 6);
        assert_eq!(log.leader_epochs().entries(), &[(0, 0), (3, 4)]);
        assert!(matches!(
            reopened_producers.check(7, 0, 4, 5),
            Ok(SequenceDecision::Duplicate(_))
        ));
    }

    #[test]
    fn truncating_to_the_start_empties_the_log_and_beyond_the_end_is_a_no_op() {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = LogOptions {
            segment_bytes: 1 << 20,
            flush_policy: FlushPolicy::EveryBatch,
            faults: crate::faults::SeededFaults::NONE,
        };
        let mut producers = ProducerStateTable::default();
        let (mut log, _) =
            PartitionLog::open(dir.path(), 0, options, &mut producers).expect("open");
        log.append(&mut make_batch(3, -1, -1, -1), 0)
            .expect("append");
        assert_eq!(log.truncate_to(9, &mut producers).expect("no-op"), 3);
        assert_eq!(log.truncate_to(0, &mut producers).expect("truncate"), 0);
        assert!(log.leader_epochs().entries().is_empty());
        let header = log
            .append(&mut make_batch(1, -1, -1, -1), 1)
            .expect("append");
        assert_eq!(header.base_offset, 0);
    }
}
