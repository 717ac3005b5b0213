//! Partition replication (issue 4): the leader's engine (follower progress, high watermark,
//! ISR changes, acks=all), the leader-epoch cache and the follower truncation rule.
//!
//! Everything here is pure logic (events in, commands out) so each Kafka rule is unit-tested
//! without sockets; the network wiring (follower fetchers, AlterPartition to the controller)
//! drives it from outside.

pub mod epoch_cache;
pub mod leader;
pub mod truncation;
