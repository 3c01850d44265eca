//! gRPC's `file_watcher` certificate provider: certificate chain, private key and trust
//! bundle read from files and re-read every `refresh_interval` (gRPC's default: 10 min).
//!
//! A file that changed to something unusable (half-written, wrong key) is reported and
//! skipped: the last good material keeps serving, as with every other configuration
//! source of the mesh.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::{IdentityStore, TrustBundle, WorkloadCertificate};
use crate::TlsError;

/// The files of a `file_watcher` certificate provider instance.
#[derive(Debug, Clone)]
pub struct FileWatcherConfig {
    /// PEM certificate chain, leaf first (`certificate_file`).
    pub certificate_file: Option<PathBuf>,
    /// PEM private key (`private_key_file`).
    pub private_key_file: Option<PathBuf>,
    /// PEM roots (`ca_certificate_file`).
    pub ca_certificate_file: Option<PathBuf>,
    /// How often the files are read again (`refresh_interval`).
    pub refresh_interval: Duration,
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Contents {
    cert: Option<String>,
    key: Option<String>,
    ca: Option<String>,
}

async fn read(path: &Option<PathBuf>) -> Result<Option<String>, TlsError> {
    match path {
        None => Ok(None),
        Some(p) => tokio::fs::read_to_string(p)
            .await
            .map(Some)
            .map_err(|source| TlsError::Io { path: p.display().to_string(), source }),
    }
}

fn named(path: &Option<PathBuf>, e: TlsError) -> TlsError {
    let p = path.as_deref().unwrap_or(Path::new("-")).display().to_string();
    match e {
        TlsError::Pem { reason, .. } => TlsError::Pem { what: p, reason },
        TlsError::Certificate { reason, .. } => TlsError::Certificate { what: p, reason },
        other => other,
    }
}

/// Reads the files and installs what they hold into `store`. Errors name the file.
pub async fn load(config: &FileWatcherConfig, store: &IdentityStore) -> Result<(), TlsError> {
    let contents = read_all(config).await?;
    apply(config, &contents, store)
}

async fn read_all(config: &FileWatcherConfig) -> Result<Contents, TlsError> {
    Ok(Contents {
        cert: read(&config.certificate_file).await?,
        key: read(&config.private_key_file).await?,
        ca: read(&config.ca_certificate_file).await?,
    })
}

fn apply(config: &FileWatcherConfig, c: &Contents, store: &IdentityStore) -> Result<(), TlsError> {
    let bundle =
        c.ca.as_deref().map(TrustBundle::from_pem).transpose().map_err(|e| named(&config.ca_certificate_file, e))?;
    let cert = match (&c.cert, &c.key) {
        (Some(cert), Some(key)) => {
            Some(WorkloadCertificate::from_pem(cert, key).map_err(|e| named(&config.certificate_file, e))?)
        }
        (None, None) => None,
        _ => return Err(TlsError::Key("certificate_file and private_key_file must be given together".into())),
    };
    if let Some(bundle) = bundle {
        store.set_trust_bundle(bundle);
    }
    if let Some(cert) = cert {
        store.set_certificate(cert);
    }
    Ok(())
}

/// The running watcher; stops when dropped.
#[derive(Debug)]
pub struct FileWatcher {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FileWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Loads the files once (errors returned) and then re-reads them every
/// `refresh_interval` in a task, installing changed, valid contents.
pub async fn watch(config: FileWatcherConfig, store: Arc<IdentityStore>) -> Result<FileWatcher, TlsError> {
    let mut last = read_all(&config).await?;
    apply(&config, &last, &store)?;
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(config.refresh_interval.max(Duration::from_millis(10)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let now = match read_all(&config).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "file_watcher: cannot read; keeping the last good certificate");
                    continue;
                }
            };
            if now == last {
                continue;
            }
            match apply(&config, &now, &store) {
                Ok(()) => last = now,
                Err(e) => tracing::warn!(error = %e, "file_watcher: unusable files; keeping the last good certificate"),
            }
        }
    });
    Ok(FileWatcher { task })
}
