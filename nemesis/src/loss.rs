//! The probability of the `packet-loss` fault (`--packet-loss-p`): each packet on a lossy
//! link is dropped independently with it, by iptables' `statistic --mode random` match.
//! There is no netem in these kernels, so loss is all a link can be made to suffer short
//! of a partition: TCP retransmits what is lost (200 ms at least on Linux, doubling), so a
//! broker's fetches, heartbeats and produce responses arrive late and in bursts, which is
//! where timeouts (`replica.lag.time.max.ms`, session timeouts, `request.timeout.ms`)
//! decide what happens.
//!
//! The probability is kept in millionths, so a fault is `Eq` and a replayed timeline plays
//! exactly the probability that was recorded.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Millionths in one.
const SCALE: u32 = 1_000_000;

/// A drop probability in (0, 1], exact to a millionth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "f64", try_from = "f64")]
pub struct LossProbability {
    millionths: u32,
}

/// `--packet-loss-p`'s default: one packet in five, enough that most requests of a busy
/// connection meet a retransmission within a fault window, not so many that the link is
/// as good as cut.
pub const DEFAULT_LOSS: LossProbability = LossProbability {
    millionths: 200_000,
};

/// Why a probability was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("packet-loss probability {given}: {problem}")]
pub struct LossProbabilityError {
    /// The value as given.
    pub given: String,
    /// What is wrong with it.
    pub problem: &'static str,
}

impl LossProbability {
    /// The probability as a fraction of one.
    pub fn as_f64(self) -> f64 {
        f64::from(self.millionths) / f64::from(SCALE)
    }

    /// The probability as iptables' `--probability` takes it.
    pub fn iptables_arg(self) -> String {
        format!("{:.6}", self.as_f64())
    }

    /// A probability from a fraction of one: above 0, at most 1, and a whole number of
    /// millionths (iptables' own resolution is coarser still).
    pub fn from_f64(p: f64) -> Result<Self, LossProbabilityError> {
        let refuse = |problem| LossProbabilityError {
            given: p.to_string(),
            problem,
        };
        if !p.is_finite() || p <= 0.0 || p > 1.0 {
            return Err(refuse(
                "must be above 0 and at most 1 (a fraction of packets)",
            ));
        }
        let scaled = p * f64::from(SCALE);
        let millionths = scaled.round();
        if (scaled - millionths).abs() > 1e-6 {
            return Err(refuse("has more than 6 decimal places"));
        }
        Ok(Self {
            millionths: millionths as u32,
        })
    }
}

impl fmt::Display for LossProbability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_f64())
    }
}

impl FromStr for LossProbability {
    type Err = LossProbabilityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let p: f64 = s.trim().parse().map_err(|_| LossProbabilityError {
            given: s.to_string(),
            problem: "is not a number",
        })?;
        Self::from_f64(p)
    }
}

impl From<LossProbability> for f64 {
    fn from(p: LossProbability) -> f64 {
        p.as_f64()
    }
}

impl TryFrom<f64> for LossProbability {
    type Error = LossProbabilityError;

    fn try_from(p: f64) -> Result<Self, Self::Error> {
        Self::from_f64(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: the CLI's values parse exactly, out-of-range and over-precise ones are refused
    // by name, and the JSON form is the plain number. Method: a table of inputs.
    #[test]
    fn probabilities_parse_exactly_and_refuse_nonsense() {
        assert_eq!("0.2".parse::<LossProbability>().unwrap(), DEFAULT_LOSS);
        assert_eq!("1".parse::<LossProbability>().unwrap().as_f64(), 1.0);
        assert_eq!(
            "0.000001"
                .parse::<LossProbability>()
                .unwrap()
                .iptables_arg(),
            "0.000001"
        );
        assert_eq!(DEFAULT_LOSS.iptables_arg(), "0.200000");
        for (bad, problem) in [
            ("0", "must be above 0"),
            ("-0.1", "must be above 0"),
            ("1.5", "must be above 0"),
            ("NaN", "must be above 0"),
            ("0.0000001", "more than 6 decimal places"),
            ("a fifth", "not a number"),
        ] {
            let err = bad.parse::<LossProbability>().unwrap_err().to_string();
            assert!(err.contains(problem), "{bad}: {err}");
        }
        assert_eq!(serde_json::to_string(&DEFAULT_LOSS).unwrap(), "0.2");
        assert_eq!(
            serde_json::from_str::<LossProbability>("0.35").unwrap(),
            "0.35".parse().unwrap()
        );
        assert!(serde_json::from_str::<LossProbability>("2").is_err());
    }
}
