//! COMPRESS=DEFLATE (RFC 4978): a stream layer that inflates what it reads and deflates what
//! it writes. The format is raw deflate (RFC 1951: no zlib header or trailer), one stream per
//! direction for the rest of the connection. Each time the session flushes a burst of
//! responses the deflater does a sync flush, so the client can decode everything sent so far
//! without waiting for more (RFC 4978 section 4).
//!
//! Both directions are bounded: reading inflates at most as much as the caller's buffer
//! holds (a "zip bomb" only costs time, one buffer at a time, and the session's line and
//! literal limits apply to the inflated bytes), and compressed output is written out once
//! [`OUT_HIGH`] bytes are pending.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Compressed input read from the inner stream at once.
const IN_BUF: usize = 16 * 1024;
/// Compressed output pending before a write first drains it to the inner stream.
const OUT_HIGH: usize = 64 * 1024;
/// Output space handed to the deflater per call.
const OUT_CHUNK: usize = 16 * 1024;

/// A stream compressed with raw deflate in both directions.
pub(crate) struct Deflate<S> {
    inner: S,
    inflate: Decompress,
    deflate: Compress,
    /// Compressed input not inflated yet: `input[in_pos..]`.
    input: Vec<u8>,
    in_pos: usize,
    /// Compressed output not written yet: `output[out_pos..]`.
    output: Vec<u8>,
    out_pos: usize,
    /// Data was deflated since the last sync flush.
    needs_sync: bool,
}

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

impl<S> Deflate<S> {
    /// Wraps `inner`. `pending` is input already received after the COMPRESS command: the
    /// client's first compressed bytes, inflated before anything read from `inner`.
    pub(crate) fn new(inner: S, pending: Vec<u8>) -> Self {
        Deflate {
            inner,
            inflate: Decompress::new(false),
            deflate: Compress::new(Compression::default(), false),
            input: pending,
            in_pos: 0,
            output: Vec::new(),
            out_pos: 0,
            needs_sync: false,
        }
    }

    /// Deflates `data` (all of it) into the output buffer.
    fn compress(&mut self, mut data: &[u8], flush: FlushCompress) -> io::Result<()> {
        loop {
            let start = self.output.len();
            self.output.resize(start + OUT_CHUNK, 0);
            let (before_in, before_out) = (self.deflate.total_in(), self.deflate.total_out());
            let result = self.deflate.compress(
                data,
                self.output.get_mut(start..).unwrap_or_default(),
                flush,
            );
            let used = (self.deflate.total_in() - before_in) as usize;
            let produced = (self.deflate.total_out() - before_out) as usize;
            self.output.truncate(start + produced);
            result.map_err(|e| invalid(format!("deflate: {e}")))?;
            data = data.get(used..).unwrap_or_default();
            // Done when all input is taken and the deflater had room to spare (so it has
            // nothing more to emit for this flush).
            if data.is_empty() && produced < OUT_CHUNK {
                return Ok(());
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> Deflate<S> {
    /// Writes all pending compressed output to the inner stream.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.out_pos < self.output.len() {
            let pending = self.output.get(self.out_pos..).unwrap_or_default();
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, pending))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.out_pos += n;
        }
        self.output.clear();
        self.out_pos = 0;
        if self.output.capacity() > 4 * OUT_HIGH {
            self.output.shrink_to(OUT_HIGH);
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Deflate<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        loop {
            if this.in_pos < this.input.len() {
                let (before_in, before_out) = (this.inflate.total_in(), this.inflate.total_out());
                let status = this
                    .inflate
                    .decompress(
                        this.input.get(this.in_pos..).unwrap_or_default(),
                        buf.initialize_unfilled(),
                        FlushDecompress::None,
                    )
                    .map_err(|e| invalid(format!("inflate: {e}")))?;
                let used = (this.inflate.total_in() - before_in) as usize;
                let produced = (this.inflate.total_out() - before_out) as usize;
                this.in_pos += used;
                if produced > 0 {
                    buf.advance(produced);
                    return Poll::Ready(Ok(()));
                }
                if status == Status::StreamEnd {
                    // The client ended its deflate stream: nothing can follow it.
                    return Poll::Ready(Ok(()));
                }
                if used > 0 {
                    continue;
                }
                // No progress with the input at hand: more is needed.
            }
            // Keep unconsumed input and read more after it.
            this.input.drain(..this.in_pos.min(this.input.len()));
            this.in_pos = 0;
            let start = this.input.len();
            if start >= IN_BUF {
                return Poll::Ready(Err(invalid("inflate made no progress")));
            }
            this.input.resize(IN_BUF, 0);
            let mut read = ReadBuf::new(this.input.get_mut(start..).unwrap_or_default());
            let result = Pin::new(&mut this.inner).poll_read(cx, &mut read);
            let n = read.filled().len();
            this.input.truncate(start + n);
            match result {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(())) if n == 0 => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(())) => {}
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Deflate<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.output.len() - this.out_pos >= OUT_HIGH {
            ready!(this.poll_drain(cx))?;
        }
        if !data.is_empty() {
            this.compress(data, FlushCompress::None)?;
            this.needs_sync = true;
        }
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.needs_sync {
            this.compress(&[], FlushCompress::Sync)?;
            this.needs_sync = false;
        }
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.as_mut().poll_flush(cx))?;
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn raw_deflate(data: &[u8]) -> Vec<u8> {
        let mut c = Compress::new(Compression::default(), false);
        let mut out = vec![0u8; data.len() + 1024];
        c.compress(data, &mut out, FlushCompress::Sync).unwrap();
        out.truncate(c.total_out() as usize);
        out
    }

    fn raw_inflate(data: &[u8]) -> Vec<u8> {
        let mut d = Decompress::new(false);
        let mut out = vec![0u8; 4 << 20];
        d.decompress(data, &mut out, FlushDecompress::Sync).unwrap();
        out.truncate(d.total_out() as usize);
        out
    }

    #[tokio::test]
    async fn round_trip_both_ways() {
        let (ours, mut theirs) = tokio::io::duplex(64 * 1024);
        let first = raw_deflate(b"a NOOP\r\n");
        // The first bytes arrived before the layer existed; the rest come through the pipe.
        let (pending, rest) = first.split_at(3);
        let mut stream = Deflate::new(ours, pending.to_vec());
        theirs.write_all(rest).await.unwrap();
        let mut got = [0u8; 64];
        let mut n = 0;
        while !got[..n].ends_with(b"\r\n") {
            n += stream.read(&mut got[n..]).await.unwrap();
        }
        assert_eq!(&got[..n], b"a NOOP\r\n");

        // Larger than the pipe and than the output high-water mark: written while read.
        let big: Vec<u8> = (0..300_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let expect = big.clone();
        let writer = tokio::spawn(async move {
            stream.write_all(&big).await.unwrap();
            stream.flush().await.unwrap();
            stream
        });
        let mut wire = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        let mut decoded = Vec::new();
        while decoded.len() < expect.len() {
            let n = theirs.read(&mut chunk).await.unwrap();
            assert!(n > 0, "stream ended early");
            wire.extend_from_slice(&chunk[..n]);
            decoded = raw_inflate(&wire);
        }
        assert_eq!(decoded, expect);
        writer.await.unwrap();
    }

    #[tokio::test]
    async fn garbage_is_an_error() {
        let (ours, mut theirs) = tokio::io::duplex(1024);
        let mut stream = Deflate::new(ours, Vec::new());
        theirs.write_all(&[0xff; 64]).await.unwrap();
        let mut got = [0u8; 64];
        assert!(stream.read(&mut got).await.is_err());
    }
}
