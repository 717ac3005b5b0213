//! The on-disk partition log: record batch framing, segments, sparse indexes, the
//! recovery-point checkpoint and crash recovery.

pub mod batch;
pub mod checkpoint;
pub mod index;
pub mod partition_log;
pub mod segment;
