//! The API versions this broker advertises in ApiVersions (KIP-35/KIP-511).
//!
//! Only versions whose every field is honoured are listed. Fetch stops at v12 because v13+
//! address topics by id only; Produce at v9 (flexible) because v10+ add leader-discovery fields
//! (KIP-951) this broker does not fill yet. OffsetForLeaderEpoch starts at v2 (the first with
//! `current_leader_epoch`, KIP-320).

use kafka_protocol::messages::ApiKey;

/// (api, min version, max version) advertised and accepted.
pub const SUPPORTED: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 9),
    (ApiKey::Fetch, 4, 12),
    (ApiKey::ListOffsets, 1, 6),
    (ApiKey::Metadata, 0, 12),
    (ApiKey::ApiVersions, 0, 3),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::InitProducerId, 0, 4),
    (ApiKey::FindCoordinator, 0, 4),
    (ApiKey::OffsetForLeaderEpoch, 2, 4),
];

/// The accepted version range of `api`, if this broker implements it.
pub fn range(api: ApiKey) -> Option<(i16, i16)> {
    SUPPORTED
        .iter()
        .find(|(k, _, _)| *k == api)
        .map(|&(_, lo, hi)| (lo, hi))
}

/// True if `version` of `api` is implemented.
pub fn is_supported(api: ApiKey, version: i16) -> bool {
    range(api).is_some_and(|(lo, hi)| (lo..=hi).contains(&version))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::*;
    use kafka_protocol::protocol::Message;

    #[test]
    fn every_advertised_version_is_within_the_codec() {
        for &(api, lo, hi) in SUPPORTED {
            let codec = api.valid_versions();
            assert!(
                codec.min <= lo && hi <= codec.max,
                "{api:?} {lo}..={hi} outside codec {codec:?}"
            );
        }
        const { assert!(FetchRequest::VERSIONS.max >= 12) };
        assert!(!is_supported(ApiKey::Fetch, 13));
        assert!(is_supported(ApiKey::ApiVersions, 3));
        assert!(!is_supported(ApiKey::JoinGroup, 0));
    }
}
