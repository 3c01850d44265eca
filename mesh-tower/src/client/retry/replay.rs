use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;

use crate::BoxError;

/// Default cap on how much of a request body is kept for replay (64 KiB).
pub const DEFAULT_REPLAY_CAP: usize = 64 * 1024;

/// A request body that can be sent again by a retry.
///
/// The first attempt streams the caller's body through, keeping a copy of each chunk
/// (so streaming and bidirectional calls are not held back); clones made for later
/// attempts replay the copy and then continue from the caller's body if it is not
/// finished. Once more than `cap` bytes have passed the copy is dropped and the body is
/// no longer replayable: a large upload is never buffered, and never retried.
#[derive(Debug)]
pub struct ReplayBody {
    shared: Arc<Mutex<Shared>>,
    /// Data chunks this clone has yielded.
    pos: usize,
    trailers_sent: bool,
}

#[derive(Debug)]
struct Shared {
    inner: Option<UnsyncBoxBody<Bytes, BoxError>>,
    chunks: Vec<Bytes>,
    /// Data chunks read from the caller's body so far.
    read: usize,
    buffered: usize,
    cap: usize,
    trailers: Option<HeaderMap>,
    done: bool,
    overflow: bool,
    failed: bool,
}

impl ReplayBody {
    /// Wraps a body, keeping up to `cap` bytes for replay.
    pub fn new(inner: Option<UnsyncBoxBody<Bytes, BoxError>>, cap: usize) -> Self {
        let too_big = inner.as_ref().and_then(|b| b.size_hint().exact()).is_some_and(|n| n > cap as u64);
        let done = inner.is_none();
        Self {
            shared: Arc::new(Mutex::new(Shared {
                inner,
                chunks: Vec::new(),
                read: 0,
                buffered: 0,
                cap,
                trailers: None,
                done,
                overflow: too_big,
                failed: false,
            })),
            pos: 0,
            trailers_sent: false,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A body for another attempt, if the request can still be sent in full: the
    /// caller's body has not been read at all (any size), or it has been read to its end
    /// and nothing was dropped from the copy.
    pub fn try_clone(&self) -> Option<Self> {
        let s = self.lock();
        let replayable = !s.failed && (s.read == 0 || (s.done && !s.overflow));
        replayable.then(|| Self { shared: self.shared.clone(), pos: 0, trailers_sent: false })
    }
}

impl Body for ReplayBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let shared = this.shared.clone();
        let mut s = shared.lock().unwrap_or_else(PoisonError::into_inner);
        if !s.overflow && this.pos < s.chunks.len() {
            this.pos += 1;
            return Poll::Ready(Some(Ok(Frame::data(s.chunks[this.pos - 1].clone()))));
        }
        if s.done {
            if !this.trailers_sent
                && let Some(t) = s.trailers.clone()
            {
                this.trailers_sent = true;
                return Poll::Ready(Some(Ok(Frame::trailers(t))));
            }
            return Poll::Ready(None);
        }
        if this.pos != s.read {
            return Poll::Ready(Some(Err("request body is no longer replayable".into())));
        }
        let Some(inner) = s.inner.as_mut() else { return Poll::Ready(None) };
        let polled = Pin::new(inner).poll_frame(cx);
        // A sender that knows the length (HTTP/1.1 content-length) stops polling after
        // the last byte, so notice the end without waiting for a final `None`.
        if s.inner.as_ref().is_some_and(Body::is_end_stream) {
            s.done = true;
            s.inner = None;
        }
        match polled {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => {
                s.done = true;
                s.inner = None;
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(e))) => {
                s.failed = true;
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    s.read += 1;
                    this.pos = s.read;
                    if !s.overflow {
                        s.buffered += data.len();
                        if s.buffered > s.cap {
                            s.overflow = true;
                            s.chunks = Vec::new();
                        } else {
                            s.chunks.push(data.clone());
                        }
                    }
                } else if let Some(t) = frame.trailers_ref() {
                    s.trailers = Some(t.clone());
                    s.done = true;
                    s.inner = None;
                    this.trailers_sent = true;
                }
                Poll::Ready(Some(Ok(frame)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        let s = self.lock();
        if !s.overflow && self.pos < s.chunks.len() {
            return false;
        }
        if s.done {
            return self.trailers_sent || s.trailers.is_none();
        }
        s.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        let s = self.lock();
        if s.done && !s.overflow {
            let rest: usize = s.chunks.iter().skip(self.pos).map(Bytes::len).sum();
            return SizeHint::with_exact(rest as u64);
        }
        match (&s.inner, self.pos == s.read) {
            (Some(b), true) => b.size_hint(),
            _ => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::{BodyExt, Full};

    use super::*;

    /// A body yielding `n` chunks of `size` bytes, one per poll.
    struct Chunks {
        n: usize,
        size: usize,
    }

    impl Body for Chunks {
        type Data = Bytes;
        type Error = BoxError;
        fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
            if self.n == 0 {
                return Poll::Ready(None);
            }
            self.n -= 1;
            Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![7u8; self.size])))))
        }
    }

    #[tokio::test]
    async fn replays_small_bodies() {
        let full = Full::new(Bytes::from_static(b"hello")).map_err(|e| match e {});
        let body = ReplayBody::new(Some(full.boxed_unsync()), 1024);
        let again = body.try_clone().expect("unread body is replayable");
        let first = body.collect().await.expect("read").to_bytes();
        let second = again.collect().await.expect("read").to_bytes();
        assert_eq!(first, second);
        assert_eq!(&first[..], b"hello");
    }

    #[tokio::test]
    async fn replay_after_full_read_yields_the_same_bytes() {
        let body = ReplayBody::new(Some(Chunks { n: 3, size: 10 }.boxed_unsync()), 100);
        let keep = ReplayBody { shared: body.shared.clone(), pos: 0, trailers_sent: false };
        assert_eq!(body.collect().await.expect("read").to_bytes().len(), 30);
        let again = keep.try_clone().expect("fully read, within cap");
        assert_eq!(again.size_hint().exact(), Some(30));
        assert_eq!(again.collect().await.expect("read").to_bytes().len(), 30);
    }

    #[tokio::test]
    async fn large_bodies_are_not_replayable() {
        let body = ReplayBody::new(Some(Chunks { n: 4, size: 40 }.boxed_unsync()), 100);
        let keep = ReplayBody { shared: body.shared.clone(), pos: 0, trailers_sent: false };
        let read = body.collect().await.expect("read").to_bytes();
        assert_eq!(read.len(), 160, "the first attempt still gets every byte");
        assert!(keep.try_clone().is_none(), "160 bytes > cap 100 must not be replayable");
    }
}
