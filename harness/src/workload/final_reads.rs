//! Final reads: after the faults healed, a fresh consumer per key reads it from the
//! beginning until it passes the highest acknowledged offset and the log end it found
//! before reading (recorded as the assign's `end_offsets`), so the checker can tell a
//! lost write from one nobody happened to read (`lost-write` and `unseen`), sends
//! acknowledged without an offset (acks=0) included.
//!
//! Each read is bounded in time; a key that cannot be read to its end within the bound is
//! left incomplete, and the checker then treats its unread writes as `unseen`. A read that
//! has reached the log end but not the highest acknowledged offset (the broker truncated
//! acknowledged writes) stops once the log end has stayed put for a few seconds, rather
//! than polling an empty log until the bound.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use checker::history::line::LineValue;
use checker::history::model::Function;

use super::consumer::ConsumerSession;
use super::worker::{assign_value, poll_value};
use super::Shared;
use crate::recorder::{Extra, LineType, RecorderError};

/// How the final read of one key ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalRead {
    /// The partition read.
    pub key: i32,
    /// Whether the read passed the highest acknowledged offset.
    pub complete: bool,
    /// The highest offset it read.
    pub read_to: Option<i64>,
}

/// Reads every key from the beginning, one fresh process each, within `time_max` per key.
pub async fn read_all(
    shared: Arc<Shared>,
    time_max: Duration,
) -> Result<Vec<FinalRead>, RecorderError> {
    let mut reads = Vec::new();
    for key in 0..shared.options.keys {
        reads.push(read_key(&shared, key, time_max).await?);
    }
    Ok(reads)
}

async fn read_key(
    shared: &Shared,
    key: i32,
    time_max: Duration,
) -> Result<FinalRead, RecorderError> {
    let process = shared.next_process.fetch_add(1, Ordering::Relaxed);
    let final_extra = Extra {
        is_final: true,
        ..Extra::default()
    };
    let acked = shared.acked.highest(key);
    let deadline = Instant::now() + time_max;
    let mut read_to: Option<i64> = None;
    let consumer = loop {
        match ConsumerSession::new(&shared.options.consumer, &shared.options.topic, process) {
            Ok(c) => break c,
            Err(e) if Instant::now() < deadline => {
                tracing::warn!(key, "final read: cannot create a consumer: {e}");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(_) => {
                return Ok(FinalRead {
                    key,
                    complete: false,
                    read_to,
                })
            }
        }
    };
    // The end of the readable log before reading: the read must reach it too, which is
    // what judges sends acknowledged without an offset (acks=0). Recorded in the assign
    // (`end_offsets`) so the checker knows what "complete" meant for this read.
    let mut end = match end_offset(&consumer, key, deadline).await {
        Ok(end) => Some(end),
        Err(e) => {
            tracing::warn!(key, "final read: the log end is unknown: {e}");
            None
        }
    };
    let mut value = assign_value(&[key], true);
    if let (Some(end), LineValue::Assignment(a)) = (end, &mut value) {
        a.end_offsets = Some([(key.to_string(), end)].into());
    }
    shared.recorder.record(
        process,
        LineType::Invoke,
        Function::Assign,
        value.clone(),
        &final_extra,
    )?;
    if let Err(e) = consumer.assign(&[key], true) {
        let extra = final_extra.with_error(&e);
        shared
            .recorder
            .record(process, LineType::Fail, Function::Assign, value, &extra)?;
        return Ok(FinalRead {
            key,
            complete: false,
            read_to,
        });
    }
    shared
        .recorder
        .record(process, LineType::Ok, Function::Assign, value, &final_extra)?;
    let mut empty_polls = 0;
    let mut past_log_end = LogEndWait::default();
    loop {
        let target = target(acked, end);
        let reached = matches!((read_to, target), (Some(r), Some(t)) if r >= t);
        // With no acknowledged offset and no known log end there is nothing to reach: two
        // empty polls in a row after the consumer settled are as far as a read can tell.
        if reached || (target.is_none() && empty_polls >= 2) || Instant::now() >= deadline {
            break;
        }
        let at_log_end = end.is_some_and(|e| e <= 0 || read_to.is_some_and(|r| r >= e - 1));
        if at_log_end && empty_polls > 0 {
            match past_log_end.check(&consumer, key, end) {
                LogEnd::Moved(e) => end = Some(e),
                LogEnd::Waiting => {}
                LogEnd::Settled => {
                    tracing::warn!(
                        key,
                        ?read_to,
                        ?acked,
                        "final read: the log ends below the highest acknowledged offset and stayed there for {PAST_LOG_END_SETTLE:?}"
                    );
                    break;
                }
            }
        } else {
            past_log_end = LogEndWait::default();
        }
        shared.recorder.record(
            process,
            LineType::Invoke,
            Function::Poll,
            LineValue::poll(),
            &final_extra,
        )?;
        match consumer.poll().await {
            Ok(result) => {
                let records = result.get(&key).map(Vec::as_slice).unwrap_or_default();
                if let Some(&(o, _)) = records.iter().max_by_key(|(o, _)| *o) {
                    read_to = Some(read_to.map_or(o, |r| r.max(o)));
                    empty_polls = 0;
                } else {
                    empty_polls += 1;
                }
                let v = poll_value(&result);
                shared
                    .recorder
                    .record(process, LineType::Ok, Function::Poll, v, &final_extra)?;
            }
            Err(e) => {
                let extra = final_extra.with_error(&e);
                shared.recorder.record(
                    process,
                    LineType::Fail,
                    Function::Poll,
                    LineValue::poll(),
                    &extra,
                )?;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    let target = target(acked, end);
    let complete = match target {
        Some(t) => read_to.is_some_and(|r| r >= t),
        None => true,
    };
    if !complete {
        tracing::warn!(
            key,
            ?read_to,
            ?target,
            "final read did not reach the highest acknowledged offset"
        );
    }
    Ok(FinalRead {
        key,
        complete,
        read_to,
    })
}

/// How long a final read that has read to the log end it found waits for an acknowledged
/// offset beyond that end to appear (a high watermark still catching up after the heal)
/// before it stops. No producer runs during the final reads, so a log end that stays put
/// this long will not reach it: the write was truncated away. Without this bound a broker
/// that loses writes kept every final read polling an empty log until
/// `--final-read-time-max` (60 s a key).
const PAST_LOG_END_SETTLE: Duration = Duration::from_secs(5);

/// How often the log end is asked again while a read waits past it.
const LOG_END_RECHECK: Duration = Duration::from_secs(1);

/// The offset a final read must reach: the highest acknowledged one and the last one the
/// log held (`end - 1`), whichever is higher.
fn target(acked: Option<i64>, end: Option<i64>) -> Option<i64> {
    [acked, end.filter(|&e| e > 0).map(|e| e - 1)]
        .into_iter()
        .flatten()
        .max()
}

/// What a read waiting at the log end learned from asking for it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LogEnd {
    /// The log end grew to this: there is more to read.
    Moved(i64),
    /// Still at the same end, not for long enough yet.
    Waiting,
    /// At the same end for [`PAST_LOG_END_SETTLE`].
    Settled,
}

/// A final read's wait at the log end below the highest acknowledged offset.
#[derive(Debug, Default)]
struct LogEndWait {
    /// When the read reached the log end, and when it last asked for it again.
    since_and_asked: Option<(Instant, Instant)>,
}

impl LogEndWait {
    /// Asks for the log end again at most every [`LOG_END_RECHECK`]; a new end restarts
    /// the wait.
    fn check(&mut self, consumer: &ConsumerSession, key: i32, end: Option<i64>) -> LogEnd {
        let now = Instant::now();
        let (since, asked) = *self.since_and_asked.get_or_insert((now, now));
        if now.duration_since(asked) >= LOG_END_RECHECK {
            self.since_and_asked = Some((since, now));
            match consumer.end_offset(key) {
                Ok(e) if Some(e) > end => {
                    self.since_and_asked = None;
                    return LogEnd::Moved(e);
                }
                Ok(_) => {}
                Err(e) => tracing::debug!(key, "final read: log end not known: {e}"),
            }
        }
        if now.duration_since(since) >= PAST_LOG_END_SETTLE {
            LogEnd::Settled
        } else {
            LogEnd::Waiting
        }
    }
}

/// The key's log end offset (ListOffsets "latest"), retried until `deadline`: the first
/// request after a heal can meet a leader election still in progress.
async fn end_offset(
    consumer: &ConsumerSession,
    key: i32,
    deadline: Instant,
) -> Result<i64, rdkafka::error::KafkaError> {
    loop {
        match consumer.end_offset(key) {
            Ok(end) => return Ok(end),
            Err(e) if Instant::now() + Duration::from_millis(500) < deadline => {
                tracing::debug!(key, "final read: log end not known yet: {e}");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: a final read aims at the higher of the highest acknowledged offset and the last
    // offset the log held, and an empty or unknown log end adds nothing. Method: the four
    // combinations, and the empty log (end 0, whose last offset does not exist).
    #[test]
    fn the_target_is_the_highest_acknowledged_or_the_last_logged_offset() {
        assert_eq!(target(Some(10), Some(5)), Some(10));
        assert_eq!(target(Some(3), Some(8)), Some(7));
        assert_eq!(target(None, Some(8)), Some(7));
        assert_eq!(target(Some(4), None), Some(4));
        assert_eq!(target(None, None), None);
        assert_eq!(target(None, Some(0)), None);
        assert_eq!(target(Some(2), Some(0)), Some(2));
    }
}
