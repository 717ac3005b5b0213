//! Partition replication (issue 4): the leader's engine (follower progress, high watermark,
//! ISR changes, acks=all), the leader-epoch cache and the follower truncation rule.
//!
//! The rules are pure logic (events in, commands out) so each Kafka rule is unit-tested
//! without sockets: `leader`, `epoch_cache`, `truncation`. The running parts drive them:
//! `roles` applies them to a partition under its lock, `manager` follows the controller's
//! metadata, `fetcher` (over `wire`) copies the leader's log, `alter` sends ISR changes.

pub mod alter;
pub mod epoch_cache;
pub mod fetcher;
pub mod leader;
pub mod manager;
pub mod roles;
pub mod truncation;
pub mod wire;
