//! The controller quorum's state machine (openraft `RaftStateMachine`): `MetadataState` plus
//! the last applied log id and membership.
//!
//! Applying an entry runs `MetadataState::apply` and hands its result back to the proposer
//! (`ControllerResponse`). The state lives in memory and is rebuilt from the log on restart
//! (the log is never purged while snapshots are disabled); snapshots are the JSON of the
//! whole state, which is what a lagging voter installs.

use std::io;
use std::sync::{Arc, Mutex, MutexGuard};

use futures_util::{Stream, StreamExt};
use openraft::alias::{SnapshotMetaOf, SnapshotOf, StoredMembershipOf};
use openraft::storage::{EntryResponder, RaftStateMachine};
use openraft::{EntryPayload, RaftSnapshotBuilder, SnapshotMeta, StoredMembership};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::metadata::MetadataState;
use super::raft_types::{ControllerLogId, ControllerResponse, ControllerTypes};
use crate::faults::SeededFaults;

/// Everything a snapshot carries.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StateMachineData {
    /// Last applied entry.
    pub last_applied: Option<ControllerLogId>,
    /// Last applied membership (the voter set).
    pub membership: StoredMembershipOf<ControllerTypes>,
    /// The replicated metadata.
    pub metadata: MetadataState,
}

#[derive(Debug, Default)]
struct Inner {
    data: StateMachineData,
    snapshot: Option<(SnapshotMetaOf<ControllerTypes>, Vec<u8>)>,
}

/// The state machine; clones share the state (the broker reads metadata through a clone).
#[derive(Debug, Clone)]
pub struct ControllerStateMachine {
    inner: Arc<Mutex<Inner>>,
    applied: Arc<watch::Sender<u64>>,
    faults: SeededFaults,
}

impl Default for ControllerStateMachine {
    fn default() -> Self {
        ControllerStateMachine {
            inner: Arc::default(),
            applied: Arc::new(watch::channel(0).0),
            faults: SeededFaults::NONE,
        }
    }
}

impl ControllerStateMachine {
    /// A state machine whose elections run with `faults` (`--seeded-faults`).
    pub fn with_faults(faults: SeededFaults) -> Self {
        ControllerStateMachine {
            faults,
            ..ControllerStateMachine::default()
        }
    }

    /// A receiver that changes whenever entries were applied or a snapshot installed: the
    /// broker's replica manager wakes on it to follow leadership and ISR changes (Kafka
    /// brokers follow the metadata log the same way).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.applied.subscribe()
    }

    fn notify_applied(&self) {
        self.applied.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A copy of the current metadata (for the broker and the admin endpoint).
    pub fn metadata(&self) -> io::Result<MetadataState> {
        Ok(self.lock()?.data.metadata.clone())
    }

    /// The last applied log id.
    pub fn last_applied(&self) -> io::Result<Option<ControllerLogId>> {
        Ok(self.lock()?.data.last_applied)
    }

    fn lock(&self) -> io::Result<MutexGuard<'_, Inner>> {
        self.inner
            .lock()
            .map_err(|_| io::Error::other("controller state machine lock poisoned by a panic"))
    }
}

impl RaftSnapshotBuilder<ControllerTypes> for ControllerStateMachine {
    type SnapshotData = Vec<u8>;

    async fn build_snapshot(&mut self) -> Result<SnapshotOf<ControllerTypes, Vec<u8>>, io::Error> {
        let mut inner = self.lock()?;
        let bytes = serde_json::to_vec(&inner.data).map_err(io::Error::other)?;
        let meta = SnapshotMeta {
            last_log_id: inner.data.last_applied,
            last_membership: inner.data.membership.clone(),
        };
        inner.snapshot = Some((meta.clone(), bytes.clone()));
        Ok(SnapshotOf::<ControllerTypes, Vec<u8>> {
            meta,
            snapshot: bytes,
        })
    }
}

impl RaftStateMachine<ControllerTypes> for ControllerStateMachine {
    type SnapshotData = Vec<u8>;
    type SnapshotBuilder = Self;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<ControllerLogId>, StoredMembershipOf<ControllerTypes>), io::Error> {
        let inner = self.lock()?;
        Ok((inner.data.last_applied, inner.data.membership.clone()))
    }

    async fn apply<Strm>(&mut self, mut entries: Strm) -> Result<(), io::Error>
    where
        Strm: Stream<Item = Result<EntryResponder<ControllerTypes>, io::Error>> + Unpin + Send,
    {
        while let Some(item) = entries.next().await {
            let (entry, responder) = item?;
            let response = {
                let mut inner = self.lock()?;
                inner.data.last_applied = Some(entry.log_id);
                match entry.payload {
                    EntryPayload::Blank => ControllerResponse(Ok(Vec::new())),
                    EntryPayload::Normal(cmd) => {
                        let result = inner.data.metadata.apply_with(&cmd, self.faults);
                        if let Err(e) = &result {
                            tracing::info!(command = %cmd, error = %e, "controller refused a metadata command");
                        }
                        ControllerResponse(result)
                    }
                    EntryPayload::Membership(m) => {
                        inner.data.membership = StoredMembership::new(Some(entry.log_id), m);
                        ControllerResponse(Ok(Vec::new()))
                    }
                }
            };
            if let Some(responder) = responder {
                responder.send(response);
            }
            self.notify_applied();
        }
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMetaOf<ControllerTypes>,
        snapshot: Vec<u8>,
    ) -> Result<(), io::Error> {
        let data: StateMachineData = serde_json::from_slice(&snapshot)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let mut inner = self.lock()?;
        inner.data = data;
        inner.snapshot = Some((meta.clone(), snapshot));
        drop(inner);
        self.notify_applied();
        Ok(())
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<SnapshotOf<ControllerTypes, Vec<u8>>>, io::Error> {
        let inner = self.lock()?;
        Ok(inner
            .snapshot
            .as_ref()
            .map(|(meta, bytes)| SnapshotOf::<ControllerTypes, Vec<u8>> {
                meta: meta.clone(),
                snapshot: bytes.clone(),
            }))
    }
}
