//! AlterPartition (KIP-497): a leader's ISR proposal sent to the active controller, and the
//! answer fed back to the leader engine.
//!
//! The proposal carries the leader epoch and partition epoch the leader holds, so the
//! controller refuses a stale one; the leader acts on an ISR only once it is committed
//! (except under the `zombie-leader` seeded fault, which the engine implements).

use std::sync::Arc;
use std::time::Duration;

use crate::broker::Broker;
use crate::controller::commands::{MetadataChange, MetadataCommand};
use crate::controller::raft_types::ControllerResponse;
use crate::partition::Partition;
use crate::replication::leader::IsrProposal;

/// How long one AlterPartition may take before the leader counts it as undelivered.
const LIMIT: Duration = Duration::from_secs(2);

/// Sends `proposal` in the background; its answer reaches the partition's engine.
pub fn send(broker: &Arc<Broker>, partition: &Arc<Partition>, proposal: IsrProposal) {
    let Some(node) = broker.controller.get().cloned() else {
        // Single node: the ISR is this broker alone and never changes.
        return;
    };
    let (broker, partition) = (Arc::clone(broker), Arc::clone(partition));
    tokio::spawn(async move {
        let cmd = MetadataCommand::AlterPartition {
            topic: partition.topic.clone(),
            partition: partition.index,
            broker_id: broker.config.node_id,
            leader_epoch: proposal.leader_epoch,
            partition_epoch: proposal.partition_epoch,
            new_isr: proposal.isr.clone(),
        };
        let committed = match node.propose_via_leader(cmd, LIMIT).await {
            Ok(ControllerResponse(Ok(changes))) => changes.into_iter().find_map(|c| match c {
                MetadataChange::IsrChanged {
                    isr,
                    partition_epoch,
                    ..
                } => Some((isr, partition_epoch)),
                _ => None,
            }),
            Ok(ControllerResponse(Err(e))) => {
                tracing::info!(topic = %partition.topic, partition = partition.index, proposed = ?proposal.isr, code = e.code(), reason = %e, "AlterPartition refused");
                None
            }
            Err(e) => {
                tracing::info!(topic = %partition.topic, partition = partition.index, proposed = ?proposal.isr, reason = %e, "AlterPartition not delivered");
                None
            }
        };
        if let Some((isr, _)) = &committed {
            tracing::info!(topic = %partition.topic, partition = partition.index, ?isr, "AlterPartition committed");
        }
        if partition.isr_answer(proposal.leader_epoch, committed) {
            partition.notify_changed();
        }
    });
}
