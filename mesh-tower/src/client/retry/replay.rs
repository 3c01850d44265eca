use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;

use crate::BoxError;

/// Default cap on how much of a request body is kept for replay (64 KiB).
pub const DEFAULT_REPLAY_CAP: usize = 64 * 1024;

/// A request body that can be sent again by a retry (or copied to a mirror).
///
/// The first attempt streams the caller's body through, keeping a copy of each chunk
/// (so streaming and bidirectional calls are not held back); clones made for later
/// attempts replay the copy and then continue from the caller's body if it is not
/// finished. Once more than `cap` bytes have passed the copy is dropped and the body is
/// no longer replayable: a large upload is never buffered, and never retried.
///
/// A mirror must never be the one reading the caller's body (were it ahead of the
/// request and the body grew past `cap`, the request itself could no longer be sent), so
/// it waits with [`finished`](Self::finished) until the request has read the body to its
/// end, and then replays the copy.
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
    /// Live `ReplayBody` handles on this state.
    handles: usize,
    /// Woken when `done`, `overflow` or `failed` is set, or a handle is dropped.
    waiters: Vec<Waker>,
}

impl Shared {
    fn wake(&mut self) {
        for w in self.waiters.drain(..) {
            w.wake();
        }
    }
}

/// Why [`ReplayBody::finished`] yields no body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotReplayable {
    /// More than the cap was read (or announced).
    TooLarge,
    /// Reading the caller's body failed, or every other handle was dropped before the
    /// body was read to its end (the request ended without sending it all).
    Unfinished,
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
                handles: 1,
                waiters: Vec::new(),
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
        let mut s = self.lock();
        let replayable = !s.failed && (s.read == 0 || (s.done && !s.overflow));
        replayable.then(|| Self::handle_locked(&self.shared, &mut s))
    }

    /// Another handle that replays from the start, replayable or not.
    pub(crate) fn handle(&self) -> Self {
        let mut s = self.lock();
        Self::handle_locked(&self.shared, &mut s)
    }

    fn handle_locked(shared: &Arc<Mutex<Shared>>, s: &mut Shared) -> Self {
        s.handles += 1;
        Self { shared: shared.clone(), pos: 0, trailers_sent: false }
    }

    /// Waits until other handles (the request's attempts) have read the caller's body to
    /// its end, then gives a body replaying all of it. Never reads the caller's body
    /// itself.
    pub(crate) async fn finished(self) -> Result<Self, NotReplayable> {
        std::future::poll_fn(|cx| self.poll_finished(cx)).await
    }

    fn poll_finished(&self, cx: &mut Context<'_>) -> Poll<Result<Self, NotReplayable>> {
        let mut s = self.lock();
        if s.overflow {
            return Poll::Ready(Err(NotReplayable::TooLarge));
        }
        if s.failed {
            return Poll::Ready(Err(NotReplayable::Unfinished));
        }
        if s.done {
            return Poll::Ready(Ok(Self::handle_locked(&self.shared, &mut s)));
        }
        if s.handles <= 1 {
            return Poll::Ready(Err(NotReplayable::Unfinished));
        }
        if !s.waiters.iter().any(|w| w.will_wake(cx.waker())) {
            s.waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl Drop for ReplayBody {
    fn drop(&mut self) {
        let mut s = self.lock();
        s.handles = s.handles.saturating_sub(1);
        s.wake();
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
            s.wake();
        }
        match polled {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => {
                s.done = true;
                s.inner = None;
                s.wake();
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(e))) => {
                s.failed = true;
                s.wake();
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
                            s.wake();
                        } else {
                            s.chunks.push(data.clone());
                        }
                    }
                } else if let Some(t) = frame.trailers_ref() {
                    s.trailers = Some(t.clone());
                    s.done = true;
                    s.inner = None;
                    this.trailers_sent = true;
                    s.wake();
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
        let keep = body.handle();
        assert_eq!(body.collect().await.expect("read").to_bytes().len(), 30);
        let again = keep.try_clone().expect("fully read, within cap");
        assert_eq!(again.size_hint().exact(), Some(30));
        assert_eq!(again.collect().await.expect("read").to_bytes().len(), 30);
    }

    #[tokio::test]
    async fn large_bodies_are_not_replayable() {
        let body = ReplayBody::new(Some(Chunks { n: 4, size: 40 }.boxed_unsync()), 100);
        let keep = body.handle();
        let read = body.collect().await.expect("read").to_bytes();
        assert_eq!(read.len(), 160, "the first attempt still gets every byte");
        assert!(keep.try_clone().is_none(), "160 bytes > cap 100 must not be replayable");
    }

    #[tokio::test(start_paused = true)]
    async fn finished_waits_for_the_request_to_read_the_body() {
        let body = ReplayBody::new(Some(Chunks { n: 3, size: 10 }.boxed_unsync()), 100);
        let waiter = tokio::spawn(body.handle().finished());
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "nothing read yet: the mirror waits");
        assert_eq!(body.collect().await.expect("read").to_bytes().len(), 30);
        let copy = tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("woken when the body ends")
            .expect("task")
            .expect("replayable");
        assert_eq!(copy.collect().await.expect("read").to_bytes().len(), 30);
    }

    #[tokio::test]
    async fn finished_gives_up_on_large_or_abandoned_bodies() {
        let body = ReplayBody::new(Some(Chunks { n: 4, size: 40 }.boxed_unsync()), 100);
        let waiter = body.handle();
        assert_eq!(body.collect().await.expect("read").to_bytes().len(), 160);
        assert_eq!(waiter.finished().await.err(), Some(NotReplayable::TooLarge));

        let body = ReplayBody::new(Some(Chunks { n: 2, size: 10 }.boxed_unsync()), 100);
        let waiter = body.handle();
        drop(body);
        assert_eq!(waiter.finished().await.err(), Some(NotReplayable::Unfinished), "nobody will read it");

        let empty = ReplayBody::new(None, 100);
        assert!(empty.handle().finished().await.is_ok(), "an empty body is finished at once");
    }
}
