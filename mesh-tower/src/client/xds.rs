//! Channels configured by an xDS control plane: `xds:///host:port` targets.
//!
//! The shared [`XdsClient`] publishes one snapshot per target; a small task installs each
//! into the channel's [`ConfigHandle`] — the same atomic swap static configuration uses —
//! so requests in flight finish on the configuration they started with. The task ends
//! when the channel (all its clones) is dropped. When the control plane goes away, the
//! last configuration keeps serving.

use std::sync::Arc;

use mesh_core::Snapshot;
use mesh_xds::client::{TargetState, XdsClient};

use super::{ConfigHandle, MeshChannel};
use crate::BoxError;

impl MeshChannel {
    /// A channel to `target` (`xds:///host:port`) configured by the process-wide xDS
    /// client, which reads gRPC's bootstrap from `GRPC_XDS_BOOTSTRAP` or
    /// `GRPC_XDS_BOOTSTRAP_CONFIG` — the same file grpc-go, grpcio and tonic-xds use.
    pub async fn xds(target: &str) -> Result<MeshChannel, BoxError> {
        let client = XdsClient::global().map_err(|e| -> BoxError { e.to_string().into() })?;
        Self::from_xds(&client, target).await
    }

    /// A channel to `target` (`xds:///reviews.default.svc.cluster.local:9080`) whose
    /// configuration comes from `client`. Waits until the first configuration for the
    /// target has arrived (or the target is known not to exist).
    pub async fn from_xds(client: &XdsClient, target: &str) -> Result<MeshChannel, BoxError> {
        let authority = target.strip_prefix("xds:///").unwrap_or(target).to_string();
        let mut rx = client.watch(target).await?;
        let first = rx.wait_for(|s| !matches!(s, TargetState::Pending)).await?.clone();
        let config =
            ConfigHandle::with_certificate_providers(Snapshot::default(), client.certificate_providers().clone());
        match first {
            TargetState::Ready(s) => config.update_shared(s),
            TargetState::Failed(reason) => return Err(format!("xDS target {target:?}: {reason}").into()),
            TargetState::Pending => {}
        }
        let weak = config.downgrade();
        tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                let Some(config) = ConfigHandle::from_weak(&weak) else { return };
                let state = rx.borrow_and_update().clone();
                match state {
                    TargetState::Ready(s) => config.update_shared(s),
                    TargetState::Failed(reason) => {
                        // The listener or its routes are gone: stop routing (gRPC fails RPCs
                        // too) rather than serve a configuration the server withdrew.
                        tracing::warn!(%reason, "xDS target failed; routes removed");
                        config.update_shared(Arc::new(Snapshot::default()));
                    }
                    TargetState::Pending => {}
                }
            }
        });
        Ok(MeshChannel::builder(config).authority(&authority)?.build())
    }
}
