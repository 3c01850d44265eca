//! The reconcile loop: waits for a file change or a registry change, lets the burst settle
//! (debounce), then reconciles once.
//!
//! # Why debounce
//!
//! Saving a file is rarely one event: editors write, truncate, rename and chmod; `kubectl cp`,
//! `git checkout` and ConfigMap updates touch many files at once. Reloading on each event
//! would translate half-written states (rejected, then accepted: error noise) and push every
//! client several times for one change. Like Istio's `PILOT_DEBOUNCE_AFTER`, the loop waits
//! until no event has arrived for the debounce delay (100 ms by default) — but at most
//! [`MAX_DELAY_FACTOR`] times that delay after the first one (Istio's `PILOT_DEBOUNCE_MAX`),
//! so a file rewritten continuously still gets reloaded.
//!
//! File changes reload the files (which also re-reads the registry); registry changes alone
//! only re-translate the configuration already loaded — as do registry changes that came
//! with file changes that were rejected.

use std::future::pending;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};

use super::reconcile::Reconciler;

/// A burst is cut after this many debounce delays.
pub(crate) const MAX_DELAY_FACTOR: u32 = 10;

/// Runs the loop until `stop` turns true.
pub(crate) fn spawn(
    reconciler: Arc<Reconciler>,
    files: Arc<Notify>,
    registry: watch::Receiver<u64>,
    debounce: Duration,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let mut registry = Some(registry);
    tokio::spawn(async move {
        loop {
            let (mut files_changed, mut registry_changed_too) = (false, false);
            tokio::select! {
                () = files.notified() => files_changed = true,
                () = registry_changed(&mut registry) => registry_changed_too = true,
                _ = stop.wait_for(|stop| *stop) => return,
            }
            let deadline = Instant::now() + debounce * MAX_DELAY_FACTOR;
            loop {
                let quiet = (Instant::now() + debounce).min(deadline);
                tokio::select! {
                    () = files.notified() => files_changed = true,
                    () = registry_changed(&mut registry) => registry_changed_too = true,
                    () = sleep_until(quiet) => break,
                    _ = stop.wait_for(|stop| *stop) => return,
                }
                if Instant::now() >= deadline {
                    break;
                }
            }
            // A rejected reload changes nothing, so a registry change folded into it must
            // still be applied to the configuration already served.
            let accepted = files_changed && reconciler.reload_files().await;
            if registry_changed_too && !accepted {
                reconciler.refresh_registry().await;
            }
        }
    })
}

/// Resolves on the next registry change; never, once the registry is gone.
async fn registry_changed(registry: &mut Option<watch::Receiver<u64>>) {
    let Some(rx) = registry else { return pending().await };
    if rx.changed().await.is_err() {
        *registry = None;
        pending::<()>().await;
    }
}
