//! One client process's loop: draw an operation, record its invoke, perform it through
//! librdkafka, record how it ended.
//!
//! HISTORY.md's process rule lives here: after an `info` (the outcome is unknown, the
//! client's state is suspect) or a `crash`, the process never appears again; its slot
//! continues as a fresh process number with a new producer session.
//!
//! The consumer instance belongs to the slot, not the process. A consumer with manual
//! assignment keeps nothing on the broker (no group membership, no committed offsets),
//! and each process starts with an `assign` at absolute offsets, which replaces the
//! position and discards whatever an earlier assignment had fetched (librdkafka's fetch
//! version barrier, the same one every re-`assign` within a process relies on). So a
//! fresh process observes nothing of its predecessor's consumer, and re-creating it
//! (threads, connections, a coordinator look-up) cost a quarter of the harness's CPU
//! at one crash per hundred operations.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use checker::history::model::Function;

use super::client_error::is_misconfiguration;
use super::consumer::{ConsumerSession, PollResult};
use super::generator::{OpGenerator, PlannedOp};
use super::producer::{ProducerSession, SendOutcome};
use super::Shared;
use crate::recorder::{Extra, LineType, LineValue, RecorderError};

/// A process's clients: its own producer session, and its slot's consumer.
struct Clients {
    producer: ProducerSession,
    consumer: ConsumerSession,
}

/// What ending an operation means for the process.
enum Next {
    /// Carry on as the same process.
    Continue,
    /// Retire this process number; continue as a fresh one.
    Retire,
}

/// Runs one worker slot until the shared deadline or cancellation.
pub async fn run_slot(shared: Arc<Shared>, first_process: u64) -> Result<(), RecorderError> {
    let mut process = first_process;
    let mut slot_consumer: Option<ConsumerSession> = None;
    let mut spare = SpareProducer::start(&shared);
    'slot: while !shared.should_stop() {
        let producer = std::mem::replace(&mut spare, SpareProducer::start(&shared));
        let mut clients = match new_clients(&shared, process, producer, &mut slot_consumer).await {
            Ok(c) => c,
            Err(e) if is_misconfiguration(&e) => {
                shared.stop_misconfigured(&format!("cannot create a client: {e}"));
                break 'slot;
            }
            Err(e) => {
                tracing::warn!(process, "cannot create clients: {e}; retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let mut generator = OpGenerator::new(
            shared.options.seed,
            process,
            shared.options.keys,
            shared.options.mix,
        );
        let mut pace = shared.pace();
        loop {
            if shared.should_stop() {
                close_in_background(clients, Duration::from_secs(1));
                break 'slot;
            }
            if let Some(p) = pace.as_mut() {
                p.tick().await;
            }
            let op = generator.next_op();
            match perform(&shared, process, &mut clients, op).await? {
                Next::Continue => {}
                Next::Retire => break,
            }
        }
        close_in_background(clients, Duration::from_millis(100));
        process = shared.next_process.fetch_add(1, Ordering::Relaxed);
    }
    spare.discard();
    if let Some(consumer) = slot_consumer {
        // Destroying a librdkafka client joins its threads: not on the async runtime.
        tokio::task::spawn_blocking(move || drop(consumer));
    }
    Ok(())
}

/// The producer session the slot's next process will use, created ahead of need.
///
/// An idempotent librdkafka producer sends nothing until it has connected, learned the
/// cluster and obtained its producer id (InitProducerId, KIP-98): a median 50 ms, and
/// 0.5-1 s when its first attempt is retried. Created while the current process works,
/// the next session is ready when a `crash` or an `info` retires the process, instead of
/// holding the new process's first send.
struct SpareProducer {
    creating: tokio::task::JoinHandle<Result<ProducerSession, rdkafka::error::KafkaError>>,
}

impl SpareProducer {
    /// Starts creating a session (with the next session id) on the blocking pool.
    fn start(shared: &Arc<Shared>) -> SpareProducer {
        let session = shared.next_session.fetch_add(1, Ordering::Relaxed);
        let shared = shared.clone();
        SpareProducer {
            creating: tokio::task::spawn_blocking(move || {
                ProducerSession::new(&shared.options.producer, &shared.options.topic, session)
            }),
        }
    }

    /// The session, once created.
    async fn take(self) -> Result<ProducerSession, rdkafka::error::KafkaError> {
        client_result(self.creating).await
    }

    /// Closes the session unused, in the background.
    fn discard(self) {
        tokio::spawn(async move {
            if let Ok(producer) = self.take().await {
                tokio::task::spawn_blocking(move || producer.close(Duration::ZERO));
            }
        });
    }
}

/// A process's clients: its producer session (the slot's spare), and the slot's consumer,
/// created on the blocking pool the first time (librdkafka's constructors start threads
/// and may block, and the async runtime has only as many workers as cores) and kept in
/// `slot_consumer` from then on.
async fn new_clients(
    shared: &Arc<Shared>,
    process: u64,
    producer: SpareProducer,
    slot_consumer: &mut Option<ConsumerSession>,
) -> Result<Clients, rdkafka::error::KafkaError> {
    let consumer = match slot_consumer {
        Some(consumer) => consumer.clone(),
        None => {
            let shared = shared.clone();
            let created = off_runtime(move || {
                ConsumerSession::new(&shared.options.consumer, &shared.options.topic, process)
            })
            .await?;
            slot_consumer.insert(created).clone()
        }
    };
    Ok(Clients {
        producer: producer.take().await?,
        consumer,
    })
}

/// Runs blocking librdkafka work (create, flush, close) on the blocking pool, so one
/// client's teardown never stalls the other clients' operations.
async fn off_runtime<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, rdkafka::error::KafkaError> + Send + 'static,
) -> Result<T, rdkafka::error::KafkaError> {
    client_result(tokio::task::spawn_blocking(work)).await
}

/// The result of blocking client work; a task that panicked or was cancelled counts as a
/// cancelled client call.
async fn client_result<T>(
    task: tokio::task::JoinHandle<Result<T, rdkafka::error::KafkaError>>,
) -> Result<T, rdkafka::error::KafkaError> {
    match task.await {
        Ok(result) => result,
        Err(join) => {
            tracing::warn!("blocking client task ended abnormally: {join}");
            Err(rdkafka::error::KafkaError::Canceled)
        }
    }
}

/// Flushes (bounded) and drops clients on the blocking pool, without waiting for it (the
/// consumer is the slot's: `run_slot` releases it when the slot ends).
fn close_in_background(clients: Clients, flush_wait: Duration) {
    tokio::task::spawn_blocking(move || {
        clients.producer.close(flush_wait);
        drop(clients);
    });
}

async fn perform(
    shared: &Arc<Shared>,
    process: u64,
    clients: &mut Clients,
    op: PlannedOp,
) -> Result<Next, RecorderError> {
    let rec = &shared.recorder;
    let none = Extra::default();
    match op {
        PlannedOp::Send { key, value } => {
            let invoke = LineValue::send(key.to_string(), value);
            rec.record(
                process,
                LineType::Invoke,
                Function::Send,
                invoke.clone(),
                &none,
            )?;
            let outcome = clients.producer.send(key, value).await;
            if let Some(error) = outcome.misconfiguration() {
                shared.stop_misconfigured(&format!("a send failed: {error}"));
            }
            let mut extra = Extra {
                producer: Some(clients.producer.session),
                ..Extra::default()
            };
            match outcome {
                SendOutcome::Ok { offset } => {
                    if let Some(o) = offset {
                        shared.acked.note(key, o);
                    }
                    let done = LineValue::sent(key.to_string(), offset, value);
                    rec.record(process, LineType::Ok, Function::Send, done, &extra)?;
                    Ok(Next::Continue)
                }
                SendOutcome::Fail { error, .. } => {
                    extra.error = Some(error);
                    rec.record(process, LineType::Fail, Function::Send, invoke, &extra)?;
                    Ok(Next::Continue)
                }
                SendOutcome::Info { error, .. } => {
                    extra.error = Some(error);
                    rec.record(process, LineType::Info, Function::Send, invoke, &extra)?;
                    Ok(Next::Retire)
                }
            }
        }
        PlannedOp::Poll => {
            rec.record(
                process,
                LineType::Invoke,
                Function::Poll,
                LineValue::poll(),
                &none,
            )?;
            match clients.consumer.poll().await {
                Ok(result) => {
                    let done = poll_value(&result);
                    rec.record(process, LineType::Ok, Function::Poll, done, &none)?;
                }
                Err(e) => {
                    if is_misconfiguration(&e) {
                        shared.stop_misconfigured(&format!("a poll failed: {e}"));
                    }
                    // A poll changes nothing on the broker, so a failed one certainly did
                    // not "happen" in any way the checker cares about.
                    let extra = Extra::default().with_error(&e);
                    rec.record(
                        process,
                        LineType::Fail,
                        Function::Poll,
                        LineValue::poll(),
                        &extra,
                    )?;
                }
            }
            Ok(Next::Continue)
        }
        PlannedOp::Assign {
            keys,
            seek_to_beginning,
        } => {
            let value = assign_value(&keys, seek_to_beginning);
            rec.record(
                process,
                LineType::Invoke,
                Function::Assign,
                value.clone(),
                &none,
            )?;
            // The process's one consumer instance is re-positioned at absolute offsets
            // (see `ConsumerSession::assign`). A new librdkafka client per assignment
            // (threads, connections, metadata, offset resolution) left most polls waiting
            // on a consumer that was still starting up.
            let consumer = clients.consumer.clone();
            let partitions = keys.clone();
            let outcome =
                off_runtime(move || consumer.assign(&partitions, seek_to_beginning)).await;
            match outcome {
                Ok(()) => rec.record(process, LineType::Ok, Function::Assign, value, &none)?,
                Err(e) => {
                    if is_misconfiguration(&e) {
                        shared.stop_misconfigured(&format!("an assign failed: {e}"));
                    }
                    let extra = Extra::default().with_error(&e);
                    rec.record(process, LineType::Fail, Function::Assign, value, &extra)?
                }
            };
            Ok(Next::Continue)
        }
        PlannedOp::Crash => {
            rec.record(
                process,
                LineType::Invoke,
                Function::Crash,
                LineValue::null(),
                &none,
            )?;
            let extra = Extra {
                error: Some("client re-created by the generator".into()),
                producer: Some(clients.producer.session),
                ..Extra::default()
            };
            rec.record(
                process,
                LineType::Info,
                Function::Crash,
                LineValue::null(),
                &extra,
            )?;
            Ok(Next::Retire)
        }
    }
}

/// `[["poll", {"key": [[offset, value], ...]}]]`: a poll's result as a history value.
pub fn poll_value(result: &PollResult) -> LineValue {
    LineValue::polled(
        result
            .iter()
            .map(|(p, records)| (p.to_string(), records.clone()))
            .collect(),
    )
}

/// `{"keys": [...], "seek_to_beginning": bool}`, the value of an assign.
pub fn assign_value(keys: &[i32], seek_to_beginning: bool) -> LineValue {
    LineValue::assign(keys.iter().map(i32::to_string).collect(), seek_to_beginning)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // Goal: poll and assign values have the shapes of docs/history-format.md.
    #[test]
    fn values_have_the_history_shapes() {
        let mut r = PollResult::new();
        r.insert(0, vec![(41, 16), (42, 17)]);
        assert_eq!(
            serde_json::to_value(poll_value(&r)).unwrap(),
            json!([["poll", {"0": [[41, 16], [42, 17]]}]])
        );
        assert_eq!(
            serde_json::to_value(assign_value(&[0, 2], true)).unwrap(),
            json!({"keys": ["0", "2"], "seek_to_beginning": true})
        );
    }
}
