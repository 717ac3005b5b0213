//! A read/write register model: the textbook object of the linearizability literature,
//! kept so the search engine is exercised on a model other than the log (and so the
//! engine stays general, as Knossos' and Porcupine's are).

use super::model::{Call, Model, Partition};

/// One register operation, with what it observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterOp {
    /// Set the register to this value.
    Write(i64),
    /// Read the register and saw this value.
    Read(i64),
}

/// A call on a named register (the input of [`RegisterModel::partition`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterCall {
    /// Which register.
    pub register: String,
    /// The call itself.
    pub call: Call<RegisterOp>,
}

/// A register holding an `i64`, starting at `initial`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegisterModel {
    /// The value before any write.
    pub initial: i64,
}

impl Model for RegisterModel {
    type Input = [RegisterCall];
    type Op = RegisterOp;
    type State = i64;

    fn partition(input: &[RegisterCall]) -> Vec<Partition<RegisterModel>> {
        let mut parts: Vec<Partition<RegisterModel>> = Vec::new();
        for c in input {
            let part = match parts.iter().position(|p| p.name == c.register) {
                Some(i) => &mut parts[i],
                None => {
                    parts.push(Partition {
                        name: c.register.clone(),
                        model: RegisterModel { initial: 0 },
                        calls: Vec::new(),
                    });
                    parts.last_mut().expect("just pushed")
                }
            };
            part.calls.push(c.call.clone());
        }
        parts
    }

    fn init(&self) -> i64 {
        self.initial
    }

    fn step(&self, state: &i64, op: &RegisterOp) -> Option<i64> {
        match *op {
            RegisterOp::Write(v) => Some(v),
            RegisterOp::Read(v) => (v == *state).then_some(*state),
        }
    }
}
