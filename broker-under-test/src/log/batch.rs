//! Record batch v2 framing: parse and validate the 61-byte header, rewrite the broker-owned
//! fields (base offset, partition leader epoch) without breaking the CRC.
//!
//! The broker stores batches exactly as producers sent them, so this is the only place that
//! knows the byte layout. CRC32C covers the bytes from `attributes` to the end, so the base
//! offset (bytes 0..8) and partition leader epoch (12..16) can be rewritten in place.

use thiserror::Error;

/// Size of the v2 batch header up to and including `records_count`.
pub const HEADER_BYTES: usize = 61;
/// Bytes before `batch_length` is counted: base offset (8) + batch length (4).
pub const LOG_OVERHEAD: usize = 12;
const MAGIC_OFFSET: usize = 16;
const CRC_OFFSET: usize = 17;
const ATTRIBUTES_OFFSET: usize = 21;
const PARTITION_LEADER_EPOCH_OFFSET: usize = 12;
const TRANSACTIONAL_FLAG: i16 = 0x10;
const CONTROL_FLAG: i16 = 0x20;

/// Why a batch was refused (maps to Kafka's CORRUPT_MESSAGE / INVALID_RECORD).
#[derive(Debug, Error, PartialEq, Eq)]
pub enum BatchError {
    /// Fewer bytes than a header, or than the header's length field claims.
    #[error("batch truncated: need {needed} bytes, have {available}")]
    Truncated {
        /// Bytes the header says the batch spans.
        needed: usize,
        /// Bytes actually present.
        available: usize,
    },
    /// `batch_length` smaller than a header, i.e. nonsense.
    #[error("batch length {0} is smaller than a v2 header")]
    BadLength(i32),
    /// Only record batch v2 (magic 2) is accepted.
    #[error("unsupported magic byte {0} (only record batch v2 is accepted)")]
    BadMagic(i8),
    /// Stored CRC32C does not match the bytes.
    #[error("CRC32C mismatch: header says {stored:#010x}, bytes give {computed:#010x}")]
    BadCrc {
        /// CRC in the header.
        stored: u32,
        /// CRC computed over attributes..end.
        computed: u32,
    },
    /// A stored batch does not start where the previous one ended (recovery only).
    #[error("offset gap: expected a batch at offset {expected}, found {found}")]
    OffsetGap {
        /// Offset after the previous batch.
        expected: i64,
        /// Base offset of the batch found.
        found: i64,
    },
    /// `records_count` disagrees with `last_offset_delta` (offsets must be dense).
    #[error("records_count {count} does not match last_offset_delta {last_offset_delta}")]
    BadCount {
        /// Declared record count.
        count: i32,
        /// Declared last offset delta.
        last_offset_delta: i32,
    },
}

/// The header fields the broker needs: offsets, producer identity and sequence, timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    /// First offset of the batch (as stored; producers send 0).
    pub base_offset: i64,
    /// Total bytes of the batch including the 12-byte log overhead.
    pub total_bytes: usize,
    /// Leader epoch stamped by the broker at append.
    pub partition_leader_epoch: i32,
    /// Batch attributes (compression, timestamp type, transactional, control).
    pub attributes: i16,
    /// Offset of the last record relative to `base_offset`.
    pub last_offset_delta: i32,
    /// Largest record timestamp in the batch.
    pub max_timestamp: i64,
    /// Idempotent producer id, -1 when not idempotent (KIP-98).
    pub producer_id: i64,
    /// Producer epoch paired with `producer_id`.
    pub producer_epoch: i16,
    /// Sequence number of the first record, -1 when not idempotent.
    pub base_sequence: i32,
    /// Number of records in the batch.
    pub records_count: i32,
}

impl BatchHeader {
    /// Offset of the last record in the batch.
    pub fn last_offset(&self) -> i64 {
        self.base_offset + i64::from(self.last_offset_delta)
    }

    /// Sequence number of the last record (sequences wrap at i32::MAX, as in Kafka).
    pub fn last_sequence(&self) -> i32 {
        let last = i64::from(self.base_sequence) + i64::from(self.last_offset_delta);
        if last > i64::from(i32::MAX) {
            (last - i64::from(i32::MAX) - 1) as i32
        } else {
            last as i32
        }
    }

    /// True for transactional batches (not supported by this broker yet).
    pub fn is_transactional(&self) -> bool {
        self.attributes & TRANSACTIONAL_FLAG != 0
    }

    /// True for control batches (transaction markers).
    pub fn is_control(&self) -> bool {
        self.attributes & CONTROL_FLAG != 0
    }

    /// True when the producer is idempotent (has a producer id).
    pub fn is_idempotent(&self) -> bool {
        self.producer_id >= 0
    }
}

fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}
fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn be_i64(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}

/// Reads the total size of the batch starting at `bytes` from its first 12 bytes.
pub fn peek_total_bytes(bytes: &[u8]) -> Result<usize, BatchError> {
    if bytes.len() < LOG_OVERHEAD {
        return Err(BatchError::Truncated {
            needed: LOG_OVERHEAD,
            available: bytes.len(),
        });
    }
    let length = be_i32(bytes, 8);
    if (length as i64) < (HEADER_BYTES - LOG_OVERHEAD) as i64 {
        return Err(BatchError::BadLength(length));
    }
    Ok(LOG_OVERHEAD + length as usize)
}

/// Parses the header of the batch at the start of `bytes` without checking the CRC.
pub fn parse_header(bytes: &[u8]) -> Result<BatchHeader, BatchError> {
    let total_bytes = peek_total_bytes(bytes)?;
    if bytes.len() < HEADER_BYTES {
        return Err(BatchError::Truncated {
            needed: HEADER_BYTES,
            available: bytes.len(),
        });
    }
    let magic = bytes[MAGIC_OFFSET] as i8;
    if magic != 2 {
        return Err(BatchError::BadMagic(magic));
    }
    Ok(BatchHeader {
        base_offset: be_i64(bytes, 0),
        total_bytes,
        partition_leader_epoch: be_i32(bytes, PARTITION_LEADER_EPOCH_OFFSET),
        attributes: be_i16(bytes, ATTRIBUTES_OFFSET),
        last_offset_delta: be_i32(bytes, 23),
        max_timestamp: be_i64(bytes, 35),
        producer_id: be_i64(bytes, 43),
        producer_epoch: be_i16(bytes, 51),
        base_sequence: be_i32(bytes, 53),
        records_count: be_i32(bytes, 57),
    })
}

/// Parses and fully validates the batch at the start of `bytes`: length, magic, CRC32C and
/// the record count. Returns the header; the batch occupies `header.total_bytes` bytes.
pub fn validate(bytes: &[u8]) -> Result<BatchHeader, BatchError> {
    let header = parse_header(bytes)?;
    if bytes.len() < header.total_bytes {
        return Err(BatchError::Truncated {
            needed: header.total_bytes,
            available: bytes.len(),
        });
    }
    let stored = u32::from_be_bytes([
        bytes[CRC_OFFSET],
        bytes[CRC_OFFSET + 1],
        bytes[CRC_OFFSET + 2],
        bytes[CRC_OFFSET + 3],
    ]);
    let computed = crc32c::crc32c(&bytes[ATTRIBUTES_OFFSET..header.total_bytes]);
    if stored != computed {
        return Err(BatchError::BadCrc { stored, computed });
    }
    if header.records_count < 1
        || header.last_offset_delta < 0
        || i64::from(header.records_count) != i64::from(header.last_offset_delta) + 1
    {
        return Err(BatchError::BadCount {
            count: header.records_count,
            last_offset_delta: header.last_offset_delta,
        });
    }
    Ok(header)
}

/// Stamps the broker-assigned base offset and leader epoch into a batch. Both fields lie
/// outside the CRC32C range, so the batch stays valid.
pub fn assign(bytes: &mut [u8], base_offset: i64, leader_epoch: i32) {
    assert!(
        bytes.len() >= HEADER_BYTES,
        "assign on a batch shorter than its header"
    );
    bytes[0..8].copy_from_slice(&base_offset.to_be_bytes());
    bytes[PARTITION_LEADER_EPOCH_OFFSET..PARTITION_LEADER_EPOCH_OFFSET + 4]
        .copy_from_slice(&leader_epoch.to_be_bytes());
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a valid uncompressed batch with `count` records via kafka-protocol's encoder.
    pub(crate) fn make_batch(
        count: i32,
        producer_id: i64,
        epoch: i16,
        base_sequence: i32,
    ) -> Vec<u8> {
        use bytes::Bytes;
        use kafka_protocol::records::{
            Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
        };
        let records: Vec<Record> = (0..count)
            .map(|i| Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: 0,
                producer_id,
                producer_epoch: epoch,
                timestamp_type: TimestampType::Creation,
                offset: i64::from(i),
                // The encoder splits batches where offset - sequence changes, so keep it constant.
                sequence: if producer_id >= 0 {
                    base_sequence + i
                } else {
                    i - 1
                },
                timestamp: 1_000 + i64::from(i),
                key: None,
                value: Some(Bytes::from(format!("value-{i}"))),
                headers: Default::default(),
            })
            .collect();
        let mut buf = bytes::BytesMut::new();
        let options = RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        };
        RecordBatchEncoder::encode(&mut buf, &records, &options).expect("encode test batch");
        buf.to_vec()
    }

    #[test]
    fn valid_batch_parses_and_survives_offset_assignment() {
        let mut b = make_batch(3, 7, 1, 10);
        let h = validate(&b).expect("valid");
        assert_eq!(
            (
                h.records_count,
                h.producer_id,
                h.producer_epoch,
                h.base_sequence
            ),
            (3, 7, 1, 10)
        );
        assert_eq!(h.last_sequence(), 12);
        assign(&mut b, 500, 4);
        let h = validate(&b).expect("still valid after assigning offset");
        assert_eq!(
            (h.base_offset, h.last_offset(), h.partition_leader_epoch),
            (500, 502, 4)
        );
    }

    #[test]
    fn corrupted_payload_fails_crc_and_short_input_is_truncated() {
        let mut b = make_batch(2, -1, -1, -1);
        let last = b.len() - 1;
        b[last] ^= 0xff;
        assert!(matches!(validate(&b), Err(BatchError::BadCrc { .. })));
        let b = make_batch(2, -1, -1, -1);
        assert!(matches!(
            validate(&b[..b.len() - 1]),
            Err(BatchError::Truncated { .. })
        ));
        assert!(matches!(
            validate(&b[..5]),
            Err(BatchError::Truncated { .. })
        ));
    }

    #[test]
    fn wrong_magic_is_refused() {
        let mut b = make_batch(1, -1, -1, -1);
        b[MAGIC_OFFSET] = 1;
        assert_eq!(validate(&b), Err(BatchError::BadMagic(1)));
    }

    #[test]
    fn sequence_wraps_like_kafka() {
        let mut h = parse_header(&make_batch(3, 1, 0, 0)).expect("header");
        h.base_sequence = i32::MAX - 1;
        assert_eq!(h.last_sequence(), 0);
    }
}
