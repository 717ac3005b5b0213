//! The operation generator: what each client process does next.
//!
//! Each process draws from its own RNG seeded by `(run seed, process number)`, so the same
//! `--seed` reproduces every process's sequence of operations and values, whatever the
//! interleaving the machine produces. Values are unique per history by construction:
//! `process * VALUES_PER_PROCESS + n` — HISTORY.md requires that the harness never sends
//! the same value twice.

use checker::history::model::Function;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Room for values of one process; a process never sends this many.
pub const VALUES_PER_PROCESS: i64 = 1_000_000_000;

/// The relative weights of the operations a process performs after its first assign.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct OpMix {
    /// Weight of `send`.
    pub send: u32,
    /// Weight of `poll`.
    pub poll: u32,
    /// Weight of a re-`assign` (resets the consumer's position).
    pub assign: u32,
    /// Weight of `crash` (the process's clients are torn down and re-created).
    pub crash: u32,
}

impl std::str::FromStr for OpMix {
    type Err = String;

    /// `send=55,poll=40,assign=4,crash=1`: integer weights; an omitted name weighs 0.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut mix = OpMix {
            send: 0,
            poll: 0,
            assign: 0,
            crash: 0,
        };
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (name, weight) = item
                .split_once('=')
                .ok_or_else(|| format!("mix item {item:?}: expected NAME=WEIGHT"))?;
            let weight: u32 = weight.trim().parse().map_err(|e| {
                format!("mix item {item:?}: the weight is not a non-negative integer: {e}")
            })?;
            let slot = match Function::from_name(name.trim()) {
                Some(Function::Send) => &mut mix.send,
                Some(Function::Poll) => &mut mix.poll,
                Some(Function::Assign) => &mut mix.assign,
                Some(Function::Crash) => &mut mix.crash,
                _ => {
                    return Err(format!(
                        "mix item {item:?}: unknown operation {:?} (send, poll, assign, crash)",
                        name.trim()
                    ))
                }
            };
            *slot = weight;
        }
        if mix.send + mix.poll + mix.assign + mix.crash == 0 {
            return Err("the operation mix needs a positive weight".into());
        }
        Ok(mix)
    }
}

impl std::fmt::Display for OpMix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "send={},poll={},assign={},crash={}",
            self.send, self.poll, self.assign, self.crash
        )
    }
}

impl Default for OpMix {
    fn default() -> Self {
        OpMix {
            send: 55,
            poll: 40,
            assign: 4,
            crash: 1,
        }
    }
}

/// One operation a process is to perform. Keys are partition numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlannedOp {
    /// Produce `value` to partition `key`.
    Send {
        /// The partition.
        key: i32,
        /// The unique value.
        value: i64,
    },
    /// Poll the assigned partitions once.
    Poll,
    /// Assign these partitions, from the beginning or from the end.
    Assign {
        /// The partitions.
        keys: Vec<i32>,
        /// Whether to start at the beginning of each.
        seek_to_beginning: bool,
    },
    /// Tear the clients down and continue as a fresh process.
    Crash,
}

/// The generator of one process.
pub struct OpGenerator {
    rng: ChaCha8Rng,
    process: u64,
    keys: i32,
    mix: OpMix,
    sent: i64,
    assigned: bool,
}

impl OpGenerator {
    /// The generator of `process` in a run seeded with `seed`, over `keys` partitions.
    pub fn new(seed: u64, process: u64, keys: i32, mix: OpMix) -> OpGenerator {
        assert!(keys > 0, "a workload needs at least one key");
        assert!(
            mix.send + mix.poll + mix.assign + mix.crash > 0,
            "an operation mix needs a positive weight"
        );
        // Mix the process number into the seed so processes differ but stay reproducible.
        let stream = seed ^ process.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        OpGenerator {
            rng: ChaCha8Rng::seed_from_u64(stream),
            process,
            keys,
            mix,
            sent: 0,
            assigned: false,
        }
    }

    /// The next operation. A process's first operation is always an assign, so its polls
    /// have a position.
    pub fn next_op(&mut self) -> PlannedOp {
        if !self.assigned {
            self.assigned = true;
            return self.assign();
        }
        let total = self.mix.send + self.mix.poll + self.mix.assign + self.mix.crash;
        let mut draw = self.rng.random_range(0..total);
        if draw < self.mix.send {
            return self.send();
        }
        draw -= self.mix.send;
        if draw < self.mix.poll {
            return PlannedOp::Poll;
        }
        draw -= self.mix.poll;
        if draw < self.mix.assign {
            return self.assign();
        }
        PlannedOp::Crash
    }

    fn send(&mut self) -> PlannedOp {
        let key = self.rng.random_range(0..self.keys);
        self.sent += 1;
        assert!(
            self.sent < VALUES_PER_PROCESS,
            "value space of a process exhausted"
        );
        let process = i64::try_from(self.process).expect("process numbers fit in i64");
        PlannedOp::Send {
            key,
            value: process * VALUES_PER_PROCESS + self.sent,
        }
    }

    fn assign(&mut self) -> PlannedOp {
        // Mostly every key, sometimes a random non-empty subset.
        let keys: Vec<i32> = if self.rng.random_bool(0.7) {
            (0..self.keys).collect()
        } else {
            let picked: Vec<i32> = (0..self.keys)
                .filter(|_| self.rng.random_bool(0.5))
                .collect();
            if picked.is_empty() {
                vec![self.rng.random_range(0..self.keys)]
            } else {
                picked
            }
        };
        PlannedOp::Assign {
            keys,
            seek_to_beginning: self.rng.random_bool(0.5),
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn mixes_parse_print_and_refuse_nonsense() {
        let mix: OpMix = "send=600, poll=396,assign=3,crash=1".parse().unwrap();
        assert_eq!(
            (mix.send, mix.poll, mix.assign, mix.crash),
            (600, 396, 3, 1)
        );
        assert_eq!(mix.to_string().parse::<OpMix>(), Ok(mix));
        assert_eq!(OpMix::default().to_string().parse(), Ok(OpMix::default()));
        let only_sends: OpMix = "send=1".parse().unwrap();
        assert_eq!((only_sends.poll, only_sends.crash), (0, 0));
        for bad in ["", "send=0", "send", "send=-1", "send=x", "fly=3"] {
            assert!(bad.parse::<OpMix>().is_err(), "{bad:?} must be refused");
        }
    }
    use super::*;
    use std::collections::HashSet;

    fn ops(seed: u64, process: u64, n: usize) -> Vec<PlannedOp> {
        let mut g = OpGenerator::new(seed, process, 3, OpMix::default());
        (0..n).map(|_| g.next_op()).collect()
    }

    // Goal: --seed reproduces a process's operations exactly; another seed differs.
    #[test]
    fn same_seed_same_operations() {
        assert_eq!(ops(7, 2, 500), ops(7, 2, 500));
        assert_ne!(ops(7, 2, 500), ops(8, 2, 500));
        assert_ne!(ops(7, 2, 500), ops(7, 3, 500));
    }

    // Goal: values never repeat across processes (HISTORY.md requires unique values).
    #[test]
    fn values_are_unique_across_processes() {
        let mut seen = HashSet::new();
        for process in 0..20 {
            for op in ops(1, process, 2_000) {
                if let PlannedOp::Send { value, key } = op {
                    assert!((0..3).contains(&key));
                    assert!(seen.insert(value), "value {value} sent twice");
                }
            }
        }
        assert!(seen.len() > 10_000);
    }

    // Goal: the first operation assigns, and the mix yields every kind of operation.
    #[test]
    fn starts_with_assign_and_covers_the_mix() {
        let all = ops(3, 0, 5_000);
        assert!(matches!(all[0], PlannedOp::Assign { .. }));
        assert!(all.iter().any(|o| matches!(o, PlannedOp::Crash)));
        assert!(all.iter().any(|o| matches!(o, PlannedOp::Poll)));
        assert!(all
            .iter()
            .skip(1)
            .any(|o| matches!(o, PlannedOp::Assign { .. })));
    }
}
