//! Wakes an async task when a librdkafka client's main event queue receives something.
//!
//! librdkafka hands its results (a producer's delivery reports) to the application through
//! an event queue that must be polled. rdkafka's `ThreadedProducer` dedicates a thread per
//! client to that, waking on every report and, at the end of each 100 ms wait, spinning on
//! the clock for the last sub-millisecond: with one producer per client process, those
//! threads cost about a tenth of the machine. Instead, librdkafka is asked to call back
//! when the queue goes from empty to non-empty (`rd_kafka_queue_cb_event_enable`); the
//! callback only wakes the task waiting on a [`Notify`], and that task serves the queue
//! with zero-wait polls on its own thread.

use std::ffi::c_void;

use rdkafka::bindings as rdsys;
use tokio::sync::Notify;

/// A reference to a client's main queue with a non-empty callback installed.
///
/// Must be dropped before the client it was taken from (declare it before the client in
/// a struct: fields drop in declaration order).
pub struct MainQueueSignal {
    queue: *mut rdsys::rd_kafka_queue_t,
    /// Kept alive for as long as librdkafka may call back with its address.
    notify: Box<Notify>,
}

// SAFETY: the queue handle is reference-counted by librdkafka and its functions used here
// (length, callback enable, destroy) are thread-safe; the `Notify` is `Send + Sync`.
unsafe impl Send for MainQueueSignal {}
// SAFETY: as above; `&self` methods only read the length and wait on the `Notify`.
unsafe impl Sync for MainQueueSignal {}

/// Called by librdkafka, on one of its threads and under the queue's lock, when the queue
/// becomes non-empty. Only wakes the waiter; it must not call back into librdkafka.
unsafe extern "C" fn queue_became_non_empty(_client: *mut rdsys::rd_kafka_t, opaque: *mut c_void) {
    // SAFETY: `opaque` is the address of the `Notify` boxed in `MainQueueSignal`, which
    // disables this callback before freeing it.
    let notify = unsafe { &*(opaque as *const Notify) };
    notify.notify_one();
}

impl MainQueueSignal {
    /// Installs the callback on the main queue of `client` (a live `rd_kafka_t`).
    ///
    /// # Safety
    /// `client` must stay alive until the returned value is dropped.
    pub unsafe fn install(client: *mut rdsys::rd_kafka_t) -> MainQueueSignal {
        // SAFETY: the caller guarantees `client` is live; the returned handle is ours to
        // destroy.
        let queue = unsafe { rdsys::rd_kafka_queue_get_main(client) };
        let notify = Box::new(Notify::new());
        let opaque = &*notify as *const Notify as *mut c_void;
        // SAFETY: `queue` is a valid handle and `opaque` outlives the callback (see Drop).
        unsafe {
            rdsys::rd_kafka_queue_cb_event_enable(queue, Some(queue_became_non_empty), opaque)
        };
        MainQueueSignal { queue, notify }
    }

    /// Whether nothing waits in the queue.
    pub fn is_empty(&self) -> bool {
        // SAFETY: `self.queue` is a valid handle until drop.
        unsafe { rdsys::rd_kafka_queue_length(self.queue) == 0 }
    }

    /// Completes once the queue has become non-empty since the last wake-up was taken
    /// (immediately if that already happened).
    pub async fn became_non_empty(&self) {
        self.notify.notified().await;
    }
}

impl Drop for MainQueueSignal {
    fn drop(&mut self) {
        // SAFETY: disabling the callback first means librdkafka no longer holds the
        // address of `self.notify` when it is freed; then our queue reference is released.
        unsafe {
            rdsys::rd_kafka_queue_cb_event_enable(self.queue, None, std::ptr::null_mut());
            rdsys::rd_kafka_queue_destroy(self.queue);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rdkafka::config::ClientConfig;
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer, PurgeConfig};

    use super::*;

    // Goal: the waiter is woken when an event lands in the client's main queue. librdkafka
    // calls back only when the queue goes from empty to non-empty, so the test first empties
    // the queue (the refused connection to a closed port may already have queued error
    // events, possibly before the callback was installed), then makes the next event
    // certain: purging a queued message produces its delivery report (`_PURGE_QUEUE`) before
    // `purge` returns. Only the callback can wake the waiter; without it the 30 s bound fails
    // the test instead of hanging the suite.
    #[tokio::test]
    async fn wakes_the_waiter_when_an_event_arrives() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a loopback port")
            .port();
        let producer: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", format!("127.0.0.1:{port}"))
            .set("log_level", "0")
            .create()
            .expect("producer");
        // SAFETY: `signal` is dropped (end of scope, declared later) before `producer`.
        let signal = unsafe { MainQueueSignal::install(producer.client().native_ptr()) };
        while !signal.is_empty() {
            producer.poll(Duration::ZERO);
        }
        producer
            .send(BaseRecord::<(), str>::to("nowhere").payload("x"))
            .map_err(|(e, _)| e)
            .expect("enqueued");
        producer.purge(PurgeConfig::default().queue());
        tokio::time::timeout(Duration::from_secs(30), signal.became_non_empty())
            .await
            .expect("the queue's signal fired");
        assert!(!signal.is_empty(), "woken with nothing in the queue");
    }
}
