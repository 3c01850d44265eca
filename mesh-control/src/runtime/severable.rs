//! [`Severable`]: a connection the control plane can cut at shutdown.
//!
//! # Why
//!
//! A graceful HTTP/2 shutdown (GOAWAY) waits for open streams to finish, and an ADS stream
//! never finishes: it lives as long as the client. Servers spawn one task per connection, out
//! of reach of the task that accepted it, so after the grace period the only way to close
//! the connections that are left is from inside their I/O: every accepted socket is wrapped,
//! and once the cut signal fires its reads and writes fail, the connection task ends, and the
//! socket is closed (the client sees the stream end and reconnects elsewhere).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tonic::transport::server::{Connected, TcpConnectInfo};

/// A socket whose reads and writes fail once the cut signal is `true` (or its sender is gone).
pub(crate) struct Severable<IO> {
    io: IO,
    cut: Pin<Box<dyn Future<Output = ()> + Send>>,
    severed: bool,
}

impl<IO> Severable<IO> {
    pub(crate) fn new(io: IO, mut cut: watch::Receiver<bool>) -> Self {
        let cut = Box::pin(async move {
            // An error means the sender is gone: cut too.
            let _ = cut.wait_for(|cut| *cut).await;
        });
        Self { io, cut, severed: false }
    }

    /// Whether the connection is cut; registers the task to be woken when it is.
    fn severed(&mut self, cx: &mut Context<'_>) -> bool {
        if !self.severed && self.cut.as_mut().poll(cx).is_ready() {
            self.severed = true;
        }
        self.severed
    }
}

fn aborted() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, "the control plane is shutting down")
}

impl<IO: AsyncRead + Unpin> AsyncRead for Severable<IO> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.severed(cx) {
            return Poll::Ready(Err(aborted()));
        }
        Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Severable<IO> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.severed(cx) {
            return Poll::Ready(Err(aborted()));
        }
        Pin::new(&mut this.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.severed(cx) {
            return Poll::Ready(Err(aborted()));
        }
        Pin::new(&mut this.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.severed(cx) {
            return Poll::Ready(Err(aborted()));
        }
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

impl Connected for Severable<TcpStream> {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.io.connect_info()
    }
}

/// An axum [`Listener`](axum::serve::Listener) handing out [`Severable`] TCP connections.
pub(crate) struct SeverableListener {
    pub(crate) listener: TcpListener,
    pub(crate) cut: watch::Receiver<bool>,
}

impl axum::serve::Listener for SeverableListener {
    type Io = Severable<TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, addr) = axum::serve::Listener::accept(&mut self.listener).await;
        if let Err(e) = io.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        (Severable::new(io, self.cut.clone()), addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.listener.local_addr()
    }
}
