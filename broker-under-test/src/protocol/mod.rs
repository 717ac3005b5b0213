//! The Kafka wire protocol at the broker's edge: framing, request decoding and the table of
//! advertised API versions. Message codecs come from the `kafka-protocol` crate.

pub mod decode;
pub mod frame;
pub mod versions;
