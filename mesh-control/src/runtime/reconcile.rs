//! [`Reconciler`]: files + registry → validated config → xDS resources → the cache.
//!
//! One reconcile at a time (a `tokio` mutex): a file reload and a registry change never
//! interleave, so the cache always holds the translation of one consistent input.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use envoy_types::pb::google::protobuf::Any;
use mesh_xds::server::{Change, SnapshotCache};
use mesh_xds::type_url;
use tokio::sync::{Mutex, watch};

use super::{ConfigStatus, LoadedObject, StartError};
use crate::admin::Metrics;
use crate::istio::{self, ConfigIssue, ConfigSet};
use crate::registry::Registry;
use crate::translate::{self, TranslateOptions};

/// The types always written (emptied when translation yields none), in push order.
const TYPES: [&str; 4] = [type_url::CLUSTER, type_url::ENDPOINT, type_url::LISTENER, type_url::ROUTE];

/// Loads, translates and publishes; shared by the reconcile loop and
/// [`RunningControlPlane::reload`](super::RunningControlPlane::reload).
pub(crate) struct Reconciler {
    paths: Vec<PathBuf>,
    namespace: String,
    registry: Arc<dyn Registry>,
    cache: Arc<SnapshotCache>,
    metrics: Arc<Metrics>,
    status: watch::Sender<ConfigStatus>,
    state: Mutex<State>,
}

impl std::fmt::Debug for Reconciler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reconciler")
            .field("paths", &self.paths)
            .field("namespace", &self.namespace)
            .field("generation", &self.status.borrow().generation)
            .finish_non_exhaustive()
    }
}

/// What the last accepted reconcile left.
#[derive(Default)]
struct State {
    /// The configuration served (the last valid load).
    config: Arc<ConfigSet>,
    /// The warnings of the last translation (each is logged once while it lasts).
    warnings: BTreeSet<String>,
    /// Every type URL written so far (a type that disappears is emptied, not left behind).
    types: BTreeSet<String>,
}

/// Why a load was rejected: rendered problems.
type Problems = Vec<String>;

impl Reconciler {
    /// Loads the files and serves their translation, or fails with every problem found.
    pub(crate) async fn start(
        paths: Vec<PathBuf>,
        namespace: String,
        registry: Arc<dyn Registry>,
        cache: Arc<SnapshotCache>,
        metrics: Arc<Metrics>,
    ) -> Result<Self, StartError> {
        let config = match load(paths.clone(), namespace.clone()).await {
            Ok(config) => config,
            Err(Failure::Issues(issues)) => return Err(StartError::Config(issues)),
            Err(Failure::Panicked(panic)) => std::panic::resume_unwind(panic),
        };
        let this = Self {
            paths,
            namespace,
            registry,
            cache,
            metrics,
            status: watch::Sender::new(ConfigStatus::default()),
            state: Mutex::new(State::default()),
        };
        let mut state = this.state.lock().await;
        if let Err(problems) = this.accept(&mut state, Arc::new(config), true).await {
            // Translation is pure: a panic there is a bug, not a configuration problem.
            panic!("translating the initial configuration failed: {}", problems.join("; "));
        }
        drop(state);
        Ok(this)
    }

    /// The status channel (what `RunningControlPlane::subscribe` hands out).
    pub(crate) fn status(&self) -> &watch::Sender<ConfigStatus> {
        &self.status
    }

    /// Reads the files again: a valid result replaces the served configuration; an invalid
    /// one is logged, counted and published, and changes nothing else. Returns whether the
    /// files were accepted.
    pub(crate) async fn reload_files(&self) -> bool {
        let mut state = self.state.lock().await;
        let outcome = match load(self.paths.clone(), self.namespace.clone()).await {
            Ok(config) => self.accept(&mut state, Arc::new(config), true).await,
            Err(Failure::Issues(issues)) => Err(issues.iter().map(|issue| issue.to_string()).collect()),
            Err(Failure::Panicked(panic)) => {
                Err(vec![format!("internal error: loading panicked: {}", message(&panic))])
            }
        };
        match outcome {
            Ok(()) => true,
            Err(problems) => {
                self.reject(problems);
                false
            }
        }
    }

    /// Translates the served configuration again with the registry's current instances.
    pub(crate) async fn refresh_registry(&self) {
        let mut state = self.state.lock().await;
        let config = state.config.clone();
        if let Err(problems) = self.accept(&mut state, config, false).await {
            for problem in &problems {
                tracing::error!("{problem}");
            }
        }
    }

    /// Translates `config`, writes the result into the cache and publishes the new generation.
    async fn accept(&self, state: &mut State, config: Arc<ConfigSet>, from_files: bool) -> Result<(), Problems> {
        let accepted_at = Instant::now();
        let registered = self.registry.list();
        let input = config.clone();
        let resources = tokio::task::spawn_blocking(move || {
            translate::translate(&input, &registered, &TranslateOptions::default())
        })
        .await
        .map_err(|e| vec![format!("internal error: translation panicked: {}", join_message(e))])?;

        if from_files {
            self.metrics.reload_ok();
        }
        self.write(state, resources.by_type, accepted_at);
        let warnings: BTreeSet<String> = resources.warnings.into_iter().collect();
        for warning in warnings.difference(&state.warnings) {
            tracing::warn!("{warning}");
        }
        state.warnings = warnings;
        state.config = config.clone();
        let objects = from_files.then(|| Arc::new(LoadedObject::list(&config)));
        let warnings = Arc::new(state.warnings.iter().cloned().collect::<Vec<_>>());
        // Every status write happens under the state lock: this is the next generation. The
        // metrics first, so that whoever wakes on the status sees them updated.
        let generation = self.status.borrow().generation + 1;
        self.metrics.generation(generation);
        self.status.send_modify(|status| {
            status.generation = generation;
            status.warnings = warnings;
            if let Some(objects) = objects {
                status.objects = objects;
                status.errors.clear();
                status.reloads_ok += 1;
            }
        });
        tracing::info!(generation, objects = config.len(), from_files, "configuration accepted");
        Ok(())
    }

    /// One atomic cache write: every type replaced as a whole; the cache turns identical
    /// resources into no-ops, so clients are pushed only what really changed.
    fn write(&self, state: &mut State, mut by_type: BTreeMap<&'static str, BTreeMap<String, Any>>, at: Instant) {
        let mut types: Vec<String> = TYPES.iter().map(|t| (*t).to_owned()).collect();
        for t in by_type.keys().map(|t| (*t).to_owned()).chain(state.types.iter().cloned()) {
            if !types.contains(&t) {
                types.push(t);
            }
        }
        let before: Vec<String> = types.iter().map(|t| self.cache.version(t)).collect();
        let changes = types
            .iter()
            .map(|t| Change::SetAll { type_url: t.clone(), resources: by_type.remove(t.as_str()).unwrap_or_default() })
            .collect();
        self.cache.apply(changes);
        for (t, before) in types.iter().zip(before) {
            let version = self.cache.version(t);
            if version != before {
                self.metrics.accepted(t, version, at);
            }
        }
        state.types.extend(types);
    }

    /// Records a rejected load: logs, metrics, status; the served configuration is untouched.
    fn reject(&self, problems: Problems) {
        for problem in &problems {
            tracing::error!("{problem}");
        }
        tracing::error!(
            problems = problems.len(),
            "configuration rejected; still serving the last valid configuration"
        );
        self.metrics.reload_error(problems.len());
        self.status.send_modify(|status| {
            status.errors = problems;
            status.reloads_error += 1;
        });
    }
}

enum Failure {
    Issues(Vec<ConfigIssue>),
    Panicked(Box<dyn std::any::Any + Send>),
}

/// Runs `istio::load_paths` on the blocking pool (it reads files).
async fn load(paths: Vec<PathBuf>, namespace: String) -> Result<ConfigSet, Failure> {
    match tokio::task::spawn_blocking(move || istio::load_paths(&paths, &namespace)).await {
        Ok(Ok(config)) => Ok(config),
        Ok(Err(issues)) => Err(Failure::Issues(issues)),
        Err(e) if e.is_panic() => Err(Failure::Panicked(e.into_panic())),
        Err(e) => Err(Failure::Panicked(Box::new(e.to_string()))),
    }
}

fn join_message(error: tokio::task::JoinError) -> String {
    if error.is_panic() { message(&error.into_panic()) } else { error.to_string() }
}

fn message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_owned()
    }
}
