//! Kafka framing: a 4-byte big-endian size then that many bytes, with a size limit.
//!
//! Reading is bounded in size (`--max-frame-bytes`) and, once a frame has started, in time, so
//! a slow or hostile client holds one connection's task and nothing else.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Why a connection's framing failed; every variant closes the connection with a log line.
#[derive(Debug, Error)]
pub enum FrameError {
    /// Peer closed the connection between frames (normal end).
    #[error("peer closed the connection")]
    Closed,
    /// No frame started within the idle timeout.
    #[error("idle for longer than {0:?}")]
    Idle(Duration),
    /// A frame started but its body did not arrive in time.
    #[error("frame body not received within {0:?}")]
    SlowBody(Duration),
    /// Negative or zero size prefix.
    #[error("invalid frame size {0}")]
    BadSize(i32),
    /// Frame larger than the configured limit.
    #[error("frame of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Announced size.
        size: i32,
        /// Configured limit.
        limit: u32,
    },
    /// Socket error.
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
}

/// Time allowed for a frame body or a response write once started.
pub const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// Reads one request frame.
pub async fn read_frame<R: AsyncRead + Unpin>(
    reader: &mut R,
    limit: u32,
    idle: Duration,
) -> Result<Bytes, FrameError> {
    let mut size_buf = [0u8; 4];
    match tokio::time::timeout(idle, reader.read_exact(&mut size_buf)).await {
        Err(_) => return Err(FrameError::Idle(idle)),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            return Err(FrameError::Closed)
        }
        Ok(Err(e)) => return Err(e.into()),
        Ok(Ok(_)) => {}
    }
    let size = i32::from_be_bytes(size_buf);
    if size <= 0 {
        return Err(FrameError::BadSize(size));
    }
    if size as u32 > limit {
        return Err(FrameError::TooLarge { size, limit });
    }
    let mut body = BytesMut::zeroed(size as usize);
    match tokio::time::timeout(IO_TIMEOUT, reader.read_exact(&mut body)).await {
        Err(_) => Err(FrameError::SlowBody(IO_TIMEOUT)),
        Ok(Err(e)) => Err(e.into()),
        Ok(Ok(_)) => Ok(body.freeze()),
    }
}

/// Writes one response frame (size prefix + body) within `IO_TIMEOUT`.
pub async fn write_frame<W: AsyncWrite + Unpin>(
    writer: &mut W,
    body: &[u8],
) -> std::io::Result<()> {
    let size = u32::try_from(body.len())
        .map_err(|_| std::io::Error::other("response larger than 4 GiB"))?;
    let mut out = Vec::with_capacity(4 + body.len());
    out.extend_from_slice(&size.to_be_bytes());
    out.extend_from_slice(body);
    match tokio::time::timeout(IO_TIMEOUT, writer.write_all(&out)).await {
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "response write timed out",
        )),
        Ok(r) => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_are_bounded() {
        let idle = Duration::from_secs(1);
        let mut ok: &[u8] = &[0, 0, 0, 2, 7, 8];
        assert_eq!(
            read_frame(&mut ok, 10, idle).await.expect("frame").as_ref(),
            &[7, 8]
        );
        let mut big: &[u8] = &[0, 0, 1, 0];
        assert!(matches!(
            read_frame(&mut big, 10, idle).await,
            Err(FrameError::TooLarge { .. })
        ));
        let mut neg: &[u8] = &[0xff, 0xff, 0xff, 0xff];
        assert!(matches!(
            read_frame(&mut neg, 10, idle).await,
            Err(FrameError::BadSize(-1))
        ));
        let mut empty: &[u8] = &[];
        assert!(matches!(
            read_frame(&mut empty, 10, idle).await,
            Err(FrameError::Closed)
        ));
        let mut short: &[u8] = &[0, 0, 0, 5, 1];
        assert!(matches!(
            read_frame(&mut short, 10, idle).await,
            Err(FrameError::Io(_))
        ));
    }
}
