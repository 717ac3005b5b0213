//! The steps between successive acknowledged sends to one key inside one `ok` transaction,
//! shared by `int-send-skip` and `int-nonmonotonic-send`.

use rustc_hash::FxHashMap;

use super::index::OpPos;
use super::Context;
use crate::history::model::{Function, KeyId, MicroOp, Offset, Outcome, Value};

/// Two successive sends to one key inside one transaction.
#[derive(Debug, Clone, Copy)]
pub struct SendStep {
    /// The key.
    pub key: KeyId,
    /// The earlier send's (offset, value).
    pub from: (Offset, Value),
    /// The later send's (offset, value).
    pub to: (Offset, Value),
    /// The transaction.
    pub op: OpPos,
}

/// Calls `visit` for each step between successive sends to one key in each `ok` txn.
pub fn walk(ctx: &Context<'_>, mut visit: impl FnMut(SendStep)) {
    let mut last: FxHashMap<KeyId, (Offset, Value)> = FxHashMap::default();
    for (pos, op) in ctx.history.ops.iter().enumerate() {
        if op.f != Function::Txn || op.outcome != Outcome::Ok {
            continue;
        }
        last.clear();
        for mop in &op.mops {
            if let MicroOp::Send {
                key,
                value,
                offset: Some(offset),
            } = *mop
            {
                if let Some(from) = last.insert(key, (offset, value)) {
                    visit(SendStep {
                        key,
                        from,
                        to: (offset, value),
                        op: pos as OpPos,
                    });
                }
            }
        }
    }
}
