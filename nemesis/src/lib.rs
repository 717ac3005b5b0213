//! Faults and their schedules: partitions applied as iptables grudges inside each
//! container's network namespace, kill and restart, pause and resume.
#![deny(missing_docs)]
