//! The proposing controller's clock. Time enters the metadata log only through the
//! commands the leader stamps (broker registrations and heartbeats), so every voter applies
//! the same time; both the local proposer (`node`) and the peer transport (`transport`,
//! proposals forwarded to the leader) stamp through here.

use super::commands::MetadataCommand;

/// Milliseconds since the Unix epoch on this host (the leader's clock for liveness).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Stamps registrations and heartbeats with the proposing leader's clock, so every voter
/// applies the same time and liveness is judged by one clock at a time.
pub fn stamp(cmd: MetadataCommand) -> MetadataCommand {
    match cmd {
        MetadataCommand::RegisterBroker {
            broker_id,
            host,
            port,
            incarnation,
            ..
        } => MetadataCommand::RegisterBroker {
            broker_id,
            host,
            port,
            now_ms: now_ms(),
            incarnation,
        },
        MetadataCommand::Heartbeat { broker_id, .. } => MetadataCommand::Heartbeat {
            broker_id,
            now_ms: now_ms(),
        },
        other => other,
    }
}
