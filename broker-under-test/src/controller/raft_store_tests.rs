//! Tests of the controller's openraft storage: openraft's own storage conformance suite
//! against the file-backed log and the metadata state machine, plus restart and torn-tail
//! behaviour of the log file.

use openraft::testing::log::{StoreBuilder, Suite};
use openraft::{RaftLogReader, StorageError};

use super::raft_log::{ControllerLogStore, LOG_FILE};
use super::raft_state_machine::ControllerStateMachine;
use super::raft_types::ControllerTypes;

struct Builder;

impl StoreBuilder<ControllerTypes, ControllerLogStore, ControllerStateMachine, tempfile::TempDir>
    for Builder
{
    async fn build(
        &self,
    ) -> Result<
        (
            tempfile::TempDir,
            ControllerLogStore,
            ControllerStateMachine,
        ),
        StorageError<ControllerTypes>,
    > {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = ControllerLogStore::open(dir.path()).expect("open log");
        Ok((dir, log, ControllerStateMachine::default()))
    }
}

#[tokio::test]
async fn passes_openraft_storage_suite() {
    Suite::test_all(Builder)
        .await
        .expect("openraft storage suite");
}

#[tokio::test]
async fn vote_and_entries_survive_reopen_and_a_torn_tail_is_cut() {
    use super::raft_types::ControllerVote;
    use openraft::storage::{IOFlushed, RaftLogStorage};
    use openraft::testing::{blank_ent, log_id};

    let dir = tempfile::tempdir().expect("tempdir");
    {
        let mut log = ControllerLogStore::open(dir.path()).expect("open");
        let vote = ControllerVote::new_committed(3, 2);
        log.save_vote(&vote).await.expect("vote");
        let entries = (1..=3).map(|i| blank_ent::<ControllerTypes>(1, 2, i));
        log.append(entries, IOFlushed::noop())
            .await
            .expect("append");
        log.truncate_after(Some(log_id::<ControllerTypes>(1, 2, 2)))
            .await
            .expect("truncate");
    }
    // A crash mid-write leaves half a line at the end.
    let path = dir.path().join(LOG_FILE);
    let mut bytes = std::fs::read(&path).expect("read");
    let good = bytes.len();
    bytes.extend_from_slice(b"{\"Append\":{\"log_id\"");
    std::fs::write(&path, &bytes).expect("write");

    let mut log = ControllerLogStore::open(dir.path()).expect("reopen");
    assert_eq!(std::fs::metadata(&path).expect("stat").len() as usize, good);
    let vote = log
        .read_vote()
        .await
        .expect("read vote")
        .expect("vote kept");
    assert_eq!(vote, ControllerVote::new_committed(3, 2));
    let entries = log.try_get_log_entries(0..10).await.expect("entries");
    let indexes: Vec<u64> = entries.iter().map(|e| e.log_id.index).collect();
    assert_eq!(
        indexes,
        vec![1, 2],
        "entry 3 was truncated before the crash"
    );

    // Garbage before the last line is corruption, not a torn tail.
    let mut bytes = std::fs::read(&path).expect("read");
    bytes.splice(0..0, b"garbage\n".iter().copied());
    std::fs::write(&path, &bytes).expect("write");
    assert!(ControllerLogStore::open(dir.path()).is_err());
}
