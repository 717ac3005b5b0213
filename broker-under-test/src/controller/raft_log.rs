//! The controller quorum's Raft log and vote, stored in the data dir (openraft `RaftLogStorage`).
//!
//! One append-only file, `controller/raft-log.jsonl`: every mutation (append an entry, save the
//! vote or the committed id, truncate after, purge up to) is one JSON line, written and
//! fsynced before openraft is told it is done, so a completed write survives kill -9 as Raft
//! requires. Opening replays the lines into memory; a torn last line (a crash mid-write, never
//! acknowledged) is cut off, a bad line elsewhere is an error. The log is small (metadata only),
//! so replaying it whole is fine; compaction comes with snapshots.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use openraft::entry::RaftEntry;
use openraft::storage::{IOFlushed, RaftLogStorage};
use openraft::{LogState, RaftLogReader};
use serde::{Deserialize, Serialize};

use super::raft_types::{ControllerEntry, ControllerLogId, ControllerTypes, ControllerVote};

/// File name of the log inside the controller directory.
pub const LOG_FILE: &str = "raft-log.jsonl";

#[derive(Serialize, Deserialize)]
enum LogOp {
    Append(ControllerEntry),
    Vote(ControllerVote),
    Committed(Option<ControllerLogId>),
    TruncateAfter(Option<ControllerLogId>),
    Purge(ControllerLogId),
}

#[derive(Debug)]
struct Inner {
    entries: BTreeMap<u64, ControllerEntry>,
    last_purged: Option<ControllerLogId>,
    vote: Option<ControllerVote>,
    committed: Option<ControllerLogId>,
    file: File,
}

impl Inner {
    fn apply(&mut self, op: LogOp) {
        match op {
            LogOp::Append(entry) => {
                self.entries.insert(entry.index(), entry);
            }
            LogOp::Vote(vote) => self.vote = Some(vote),
            LogOp::Committed(c) => self.committed = c,
            LogOp::TruncateAfter(last) => {
                let from = last.map_or(0, |l| l.index() + 1);
                self.entries.split_off(&from);
            }
            LogOp::Purge(upto) => {
                let keep = self.entries.split_off(&(upto.index() + 1));
                self.entries = keep;
                self.last_purged = Some(upto);
            }
        }
    }

    fn write(&mut self, ops: Vec<LogOp>) -> io::Result<()> {
        let mut buf = Vec::new();
        for op in &ops {
            serde_json::to_writer(&mut buf, op).map_err(io::Error::other)?;
            buf.push(b'\n');
        }
        self.file.write_all(&buf)?;
        self.file.sync_data()?;
        for op in ops {
            self.apply(op);
        }
        Ok(())
    }
}

/// The controller's log store; clones share one file and one in-memory copy.
#[derive(Debug, Clone)]
pub struct ControllerLogStore {
    inner: Arc<Mutex<Inner>>,
    path: PathBuf,
}

impl ControllerLogStore {
    /// Opens (or creates) `dir/raft-log.jsonl` and replays it.
    pub fn open(dir: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(LOG_FILE);
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)?;
        let mut ops = Vec::new();
        let mut good_len = 0u64;
        let mut torn = false;
        for line in BufReader::new(&mut file).split(b'\n') {
            let line = line?;
            if torn {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: unreadable line before the last one", path.display()),
                ));
            }
            match serde_json::from_slice::<LogOp>(&line) {
                Ok(op) => {
                    ops.push(op);
                    good_len += line.len() as u64 + 1;
                }
                Err(_) => torn = true,
            }
        }
        if good_len < file.metadata()?.len() {
            tracing::warn!(path = %path.display(), keep_bytes = good_len, "controller log: cutting a torn last line");
            file.set_len(good_len)?;
            file.sync_all()?;
        }
        let mut inner = Inner {
            entries: BTreeMap::new(),
            last_purged: None,
            vote: None,
            committed: None,
            file,
        };
        for op in ops {
            inner.apply(op);
        }
        Ok(ControllerLogStore {
            inner: Arc::new(Mutex::new(inner)),
            path,
        })
    }

    /// Path of the log file (for logs and the admin endpoint).
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> io::Result<MutexGuard<'_, Inner>> {
        self.inner
            .lock()
            .map_err(|_| io::Error::other("controller log lock poisoned by a panic"))
    }
}

impl RaftLogReader<ControllerTypes> for ControllerLogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<ControllerEntry>, io::Error> {
        let inner = self.lock()?;
        Ok(inner.entries.range(range).map(|(_, e)| e.clone()).collect())
    }

    async fn read_vote(&mut self) -> Result<Option<ControllerVote>, io::Error> {
        Ok(self.lock()?.vote)
    }
}

impl RaftLogStorage<ControllerTypes> for ControllerLogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<ControllerTypes>, io::Error> {
        let inner = self.lock()?;
        let last = inner.entries.values().next_back().map(|e| e.log_id());
        Ok(LogState {
            last_purged_log_id: inner.last_purged,
            last_log_id: last.or_else(|| inner.last_purged),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &ControllerVote) -> Result<(), io::Error> {
        self.lock()?.write(vec![LogOp::Vote(*vote)])
    }

    async fn save_committed(
        &mut self,
        committed: Option<ControllerLogId>,
    ) -> Result<(), io::Error> {
        self.lock()?.write(vec![LogOp::Committed(committed)])
    }

    async fn read_committed(&mut self) -> Result<Option<ControllerLogId>, io::Error> {
        Ok(self.lock()?.committed)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: IOFlushed<ControllerTypes>,
    ) -> Result<(), io::Error>
    where
        I: IntoIterator<Item = ControllerEntry> + Send,
        I::IntoIter: Send,
    {
        let ops = entries.into_iter().map(LogOp::Append).collect();
        let result = self.lock().and_then(|mut inner| inner.write(ops));
        let reported = result
            .as_ref()
            .map(|_| ())
            .map_err(|e| io::Error::new(e.kind(), e.to_string()));
        callback.io_completed(reported);
        result
    }

    async fn truncate_after(
        &mut self,
        last_log_id: Option<ControllerLogId>,
    ) -> Result<(), io::Error> {
        self.lock()?.write(vec![LogOp::TruncateAfter(last_log_id)])
    }

    async fn purge(&mut self, log_id: ControllerLogId) -> Result<(), io::Error> {
        self.lock()?.write(vec![LogOp::Purge(log_id)])
    }
}
