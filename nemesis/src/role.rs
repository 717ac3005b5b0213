//! Roles: the kinds of container a cluster is made of. Brokers are the role `broker`; a
//! profile for a broker built on shared storage or a coordination service (Bufstream,
//! WarpStream, AutoMQ, tansu on PostgreSQL) declares its other services as roles, and
//! faults can aim at a whole role, as Jepsen's Bufstream suite kills, pauses and
//! partitions each role separately: `kill:role=storage`, `partition:role=storage`.
//!
//! A role name is a short identifier held inline, so fault specs that name one stay
//! `Copy` like the others and schedules stay plain data.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::NemesisError;

/// The longest role name.
pub const ROLE_NAME_MAX: usize = 15;

/// The role of the brokers themselves.
pub const BROKER_ROLE: &str = "broker";

/// A role name: 1 to [`ROLE_NAME_MAX`] lowercase ASCII letters, digits or `-`, starting
/// with a letter.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoleName {
    len: u8,
    bytes: [u8; ROLE_NAME_MAX],
}

impl RoleName {
    /// The name as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)])
            .expect("built from validated ASCII")
    }

    /// The role of the brokers.
    pub fn broker() -> Self {
        BROKER_ROLE.parse().expect("a valid role name")
    }
}

impl FromStr for RoleName {
    type Err = NemesisError;

    fn from_str(word: &str) -> Result<Self, Self::Err> {
        let valid = !word.is_empty()
            && word.len() <= ROLE_NAME_MAX
            && word.starts_with(|c: char| c.is_ascii_lowercase())
            && word
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid {
            return Err(NemesisError::BadRoleName(word.to_string()));
        }
        let mut bytes = [0u8; ROLE_NAME_MAX];
        bytes[..word.len()].copy_from_slice(word.as_bytes());
        Ok(Self {
            len: word.len() as u8,
            bytes,
        })
    }
}

impl fmt::Display for RoleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for RoleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RoleName({:?})", self.as_str())
    }
}

impl Serialize for RoleName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RoleName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The role named by a `role=NAME` narrowing of a `--nemesis` word, if it is one.
pub fn parse_role_word(word: &str) -> Option<Result<RoleName, NemesisError>> {
    word.strip_prefix("role=").map(str::parse)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: valid names round-trip through text and JSON; invalid ones are named errors.
    #[test]
    fn role_names_are_checked_and_round_trip() {
        let storage: RoleName = "storage".parse().unwrap();
        assert_eq!(storage.as_str(), "storage");
        assert_eq!(storage.to_string(), "storage");
        let json = serde_json::to_string(&storage).unwrap();
        assert_eq!(json, "\"storage\"");
        assert_eq!(serde_json::from_str::<RoleName>(&json).unwrap(), storage);
        assert_eq!(RoleName::broker().as_str(), BROKER_ROLE);
        for bad in [
            "",
            "Storage",
            "1db",
            "a_b",
            "sixteen-letters!",
            "abcdefghijklmnop",
        ] {
            let err = bad.parse::<RoleName>().unwrap_err().to_string();
            assert!(err.contains("role name"), "{bad}: {err}");
        }
        assert!(serde_json::from_str::<RoleName>("\"UP\"").is_err());
        assert_eq!(parse_role_word("role=db").unwrap().unwrap().as_str(), "db");
        assert!(parse_role_word("leaders").is_none());
    }
}
