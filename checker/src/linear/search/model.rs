//! The contract of the search engine: a sequential specification ([`Model`]) and the
//! concurrent calls to check against it ([`Call`], [`Partition`]).
//!
//! This is the shape of Knossos and Porcupine: a model says how one operation changes the
//! state of one object, or that it cannot happen in that state; `partition` splits a
//! history into independent objects, which is sound because linearizability is
//! P-compositional (Herlihy & Wing 1990): a history is linearizable iff every object's
//! sub-history is.

use std::hash::Hash;

/// A sequential specification of one kind of object.
pub trait Model: Sized {
    /// What `partition` splits (a whole history of the kind this model describes).
    type Input: ?Sized;
    /// One operation, with the arguments and the results it observed.
    type Op: Clone + std::fmt::Debug;
    /// The object's state; hashed for the search's memo of visited configurations.
    type State: Clone + Eq + Hash + std::fmt::Debug;

    /// Splits `input` into independent objects, each with its own model and calls.
    fn partition(input: &Self::Input) -> Vec<Partition<Self>>;

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// The state after `op` in `state`, or `None` if `op` (with the results it observed)
    /// cannot happen in `state`.
    fn step(&self, state: &Self::State, op: &Self::Op) -> Option<Self::State>;
}

/// One operation of a concurrent history: what it did and when it was pending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call<O> {
    /// The operation.
    pub op: O,
    /// When it was invoked (a history `index`: only the order matters).
    pub call: u64,
    /// When it completed; `None` if it may take effect arbitrarily late (`info`, open).
    pub ret: Option<u64>,
    /// Which unit of the source it came from (for shrinking and witnesses); `None` for
    /// calls the partition made up.
    pub origin: Option<usize>,
}

/// One independent object: its model and the calls made on it.
#[derive(Debug, Clone)]
pub struct Partition<M: Model> {
    /// A name for reports (the key).
    pub name: String,
    /// The model of this object.
    pub model: M,
    /// The calls on it, in any order.
    pub calls: Vec<Call<M::Op>>,
}
