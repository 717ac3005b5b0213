//! Request decoding: a frame's bytes to a typed request, or a reason it cannot be served.
//!
//! Pure (no I/O) so it can be fuzzed: any byte string yields `Ok` or a `DecodeError`, never a
//! panic. The api key and version are checked against what this broker advertises *before* the
//! body is decoded, so only the seven implemented APIs ever reach kafka-protocol's decoders.

use bytes::{Buf, Bytes};
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind};
use kafka_protocol::protocol::Decodable;
use thiserror::Error;

use super::versions;

/// A request ready to be handled.
#[derive(Debug)]
pub enum Decoded {
    /// An implemented API at an advertised version.
    Request {
        /// The request header (correlation id, client id).
        header: RequestHeader,
        /// Which API.
        api_key: ApiKey,
        /// The body.
        body: Box<RequestKind>,
    },
    /// An implemented API at a version this broker does not advertise but can decode and
    /// answer: the handler replies UNSUPPORTED_VERSION in every error field.
    UnsupportedVersion {
        /// The request header.
        header: RequestHeader,
        /// Which API.
        api_key: ApiKey,
        /// The body.
        body: Box<RequestKind>,
    },
    /// ApiVersions newer than advertised: answered with UNSUPPORTED_VERSION and the v0-encoded
    /// list so the client can downgrade (KIP-511), as Kafka does.
    ApiVersionsTooNew {
        /// Correlation id to echo.
        correlation_id: i32,
        /// The version the client tried.
        version: i16,
    },
}

/// Why a frame cannot be served. The connection is closed with this reason logged.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum DecodeError {
    /// Shorter than api key + version + correlation id.
    #[error("frame of {0} bytes is too short for a request header")]
    TooShort(usize),
    /// An api key the protocol does not define.
    #[error("unknown api key {api_key} (correlation id {correlation_id})")]
    UnknownApiKey {
        /// The raw key.
        api_key: i16,
        /// Correlation id of the request.
        correlation_id: i32,
    },
    /// A defined API this broker does not implement, or a version it does not advertise
    /// (UNSUPPORTED_VERSION, error 35).
    #[error("unsupported request {api_key:?} v{version} (UNSUPPORTED_VERSION, correlation id {correlation_id})")]
    Unsupported {
        /// The API.
        api_key: ApiKey,
        /// The requested version.
        version: i16,
        /// Correlation id of the request.
        correlation_id: i32,
    },
    /// Header or body bytes do not decode.
    #[error("malformed {api_key:?} v{version} request: {reason}")]
    Malformed {
        /// The API.
        api_key: ApiKey,
        /// The requested version.
        version: i16,
        /// Decoder message.
        reason: String,
    },
}

/// Decodes one request frame (without its size prefix).
pub fn decode_request(frame: Bytes) -> Result<Decoded, DecodeError> {
    if frame.len() < 8 {
        return Err(DecodeError::TooShort(frame.len()));
    }
    let mut fixed = &frame[..8];
    let raw_key = fixed.get_i16();
    let version = fixed.get_i16();
    let correlation_id = fixed.get_i32();
    let api_key = ApiKey::try_from(raw_key).map_err(|()| DecodeError::UnknownApiKey {
        api_key: raw_key,
        correlation_id,
    })?;
    let supported = versions::is_supported(api_key, version);
    if !supported {
        if api_key == ApiKey::ApiVersions && version > 0 {
            return Ok(Decoded::ApiVersionsTooNew {
                correlation_id,
                version,
            });
        }
        let codec = api_key.valid_versions();
        let answerable =
            versions::range(api_key).is_some() && (codec.min..=codec.max).contains(&version);
        if !answerable {
            return Err(DecodeError::Unsupported {
                api_key,
                version,
                correlation_id,
            });
        }
    }
    let malformed = |e: anyhow::Error| DecodeError::Malformed {
        api_key,
        version,
        reason: format!("{e:#}"),
    };
    let mut buf = frame;
    let header = RequestHeader::decode(&mut buf, api_key.request_header_version(version))
        .map_err(malformed)?;
    let body = Box::new(RequestKind::decode(api_key, &mut buf, version).map_err(malformed)?);
    if supported {
        Ok(Decoded::Request {
            header,
            api_key,
            body,
        })
    } else {
        Ok(Decoded::UnsupportedVersion {
            header,
            api_key,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use kafka_protocol::messages::{ApiVersionsRequest, MetadataRequest};
    use kafka_protocol::protocol::{Encodable, StrBytes};
    use proptest::prelude::*;

    /// Encodes a header + body the way a client would (without the size prefix).
    pub(crate) fn encode<T: Encodable>(
        api_key: ApiKey,
        version: i16,
        correlation_id: i32,
        body: &T,
    ) -> Bytes {
        let mut buf = BytesMut::new();
        let header = RequestHeader::default()
            .with_request_api_key(api_key as i16)
            .with_request_api_version(version)
            .with_correlation_id(correlation_id)
            .with_client_id(Some(StrBytes::from_static_str("test")));
        header
            .encode(&mut buf, api_key.request_header_version(version))
            .expect("header");
        body.encode(&mut buf, version).expect("body");
        buf.freeze()
    }

    fn valid_frames() -> Vec<Bytes> {
        vec![
            encode(ApiKey::ApiVersions, 3, 1, &ApiVersionsRequest::default()),
            encode(ApiKey::Metadata, 12, 2, &MetadataRequest::default()),
            encode(ApiKey::Metadata, 1, 3, &MetadataRequest::default()),
        ]
    }

    #[test]
    fn valid_requests_decode() {
        for frame in valid_frames() {
            assert!(matches!(decode_request(frame), Ok(Decoded::Request { .. })));
        }
    }

    #[test]
    fn unknown_and_unsupported_are_told_apart() {
        let mut f = vec![0x7f, 0x00, 0, 1, 0, 0, 0, 9];
        assert_eq!(
            decode_request(Bytes::from(f.clone())).err(),
            Some(DecodeError::UnknownApiKey {
                api_key: 0x7f00,
                correlation_id: 9
            })
        );
        f[0] = 0;
        f[1] = 11; // JoinGroup: defined, not implemented
        assert!(matches!(
            decode_request(Bytes::from(f.clone())),
            Err(DecodeError::Unsupported {
                api_key: ApiKey::JoinGroup,
                ..
            })
        ));
        f[1] = 18; // ApiVersions v1 is fine; v9 is too new
        f[3] = 9;
        assert!(matches!(
            decode_request(Bytes::from(f)),
            Ok(Decoded::ApiVersionsTooNew {
                correlation_id: 9,
                version: 9
            })
        ));
        assert_eq!(
            decode_request(Bytes::from_static(&[0, 3])).err(),
            Some(DecodeError::TooShort(2))
        );
    }

    #[test]
    fn unadvertised_but_decodable_versions_are_answerable() {
        use kafka_protocol::messages::FetchRequest;
        let frame = encode(ApiKey::Fetch, 13, 5, &FetchRequest::default());
        assert!(matches!(
            decode_request(frame),
            Ok(Decoded::UnsupportedVersion {
                api_key: ApiKey::Fetch,
                ..
            })
        ));
        let mut beyond_codec = encode(ApiKey::Fetch, 12, 6, &FetchRequest::default()).to_vec();
        beyond_codec[3] = 99;
        assert!(matches!(
            decode_request(Bytes::from(beyond_codec)),
            Err(DecodeError::Unsupported { version: 99, .. })
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        // Goal: arbitrary bytes never panic the decoder. Method: random frames, some starting
        // with a supported api key/version so the body decoders are exercised.
        #[test]
        fn arbitrary_bytes_never_panic(api in prop::sample::select(vec![0i16, 1, 2, 3, 18, 19, 22]), version in 0i16..14, rest in prop::collection::vec(any::<u8>(), 0..300)) {
            let mut frame = Vec::new();
            frame.extend_from_slice(&api.to_be_bytes());
            frame.extend_from_slice(&version.to_be_bytes());
            frame.extend_from_slice(&rest);
            let _decoded = decode_request(Bytes::from(frame));
        }

        // Goal: mutations of valid requests never panic. Method: flip, truncate and extend.
        #[test]
        fn mutated_valid_requests_never_panic(which in 0usize..3, flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..8), cut in any::<usize>(), tail in prop::collection::vec(any::<u8>(), 0..16)) {
            let mut frame = valid_frames()[which].to_vec();
            for (at, byte) in flips {
                let len = frame.len();
                frame[at % len] ^= byte;
            }
            frame.truncate(cut % (frame.len() + 1));
            frame.extend(tail);
            let _decoded = decode_request(Bytes::from(frame));
        }
    }
}
