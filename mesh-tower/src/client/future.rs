use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Response;

use super::ResponseBody;
use crate::MeshError;

/// What every stage returns.
pub(crate) type StageResult = Result<Response<ResponseBody>, MeshError>;

/// A boxed stage future.
pub(crate) type BoxStageFuture = Pin<Box<dyn Future<Output = StageResult> + Send + 'static>>;

pin_project_lite::pin_project! {
    /// The future of a stage: an immediate answer, the next stage's future untouched
    /// (the common, allocation-free case), or a boxed future when the stage has work to
    /// do around the call (sleep, deadline, retry loop).
    #[project = StagedProj]
    pub enum Staged<F> {
        /// Answered without calling the next stage.
        Ready { result: Option<StageResult> },
        /// Passed through.
        Inner { #[pin] future: F },
        /// Wrapped.
        Boxed { future: BoxStageFuture },
    }
}

impl<F> Staged<F> {
    pub(crate) fn ready(result: StageResult) -> Self {
        Self::Ready { result: Some(result) }
    }
    pub(crate) fn inner(future: F) -> Self {
        Self::Inner { future }
    }
    pub(crate) fn boxed(future: impl Future<Output = StageResult> + Send + 'static) -> Self {
        Self::Boxed { future: Box::pin(future) }
    }
}

impl<F: Future<Output = StageResult>> Future for Staged<F> {
    type Output = StageResult;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<StageResult> {
        match self.project() {
            StagedProj::Ready { result } => Poll::Ready(
                result.take().unwrap_or_else(|| Err(MeshError::RequestBody("future polled after completion".into()))),
            ),
            StagedProj::Inner { future } => future.poll(cx),
            StagedProj::Boxed { future } => future.as_mut().poll(cx),
        }
    }
}
