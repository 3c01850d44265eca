//! [`ConfigWatcher`]: tells the reconcile loop that a configuration file may have changed.
//!
//! # inotify, with polling as the fallback
//!
//! On Linux `notify`'s recommended watcher is inotify: changes are reported within
//! microseconds and an idle watch costs nothing, so the debounce delay is the only latency
//! of a reload. inotify does not see changes made on another machine (NFS, some network or
//! FUSE mounts) and can run out of watches (`fs.inotify.max_user_watches`); when it cannot
//! be set up the watcher falls back to polling (a scan of the tree every second, comparing
//! modification times and content hashes),
//! and [`ControlPlaneBuilder::poll_interval`](super::ControlPlaneBuilder::poll_interval)
//! forces polling where inotify is known not to work. Both only *signal*: the reload reads
//! everything again, so a lost or coalesced event costs at most one extra reload, never a
//! missed one (a watcher error triggers a reload too).
//!
//! What counts as a change: under a watched directory (recursively), a create, remove or
//! rename of a `*.yaml`/`*.yml` file, of a directory, or of Kubernetes' `..data` symlink
//! (ConfigMap volumes swap it atomically), and content or metadata changes of `*.yaml` /
//! `*.yml` files — except under dot files and directories, which the loader skips too
//! (editor swap files, `.git`); for a watched file, any change of that file (its directory
//! is watched, so an editor that replaces the file by a rename is seen).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind};
use notify::{Event, PollWatcher, RecursiveMode, Watcher};
use tokio::sync::Notify;

use super::StartError;

/// How often the fallback poller scans the tree.
const FALLBACK_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Watches the configuration paths until dropped.
pub(crate) struct ConfigWatcher {
    _watcher: Box<dyn Watcher + Send>,
}

impl std::fmt::Debug for ConfigWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigWatcher").finish_non_exhaustive()
    }
}

/// What is watched: directories (recursively) and single files.
#[derive(Clone, Debug)]
struct Targets {
    dirs: Vec<PathBuf>,
    files: Vec<PathBuf>,
}

impl ConfigWatcher {
    /// Watches `paths` (directories and files), notifying `trigger` on every relevant change.
    /// Uses polling every `poll` if given, else inotify (falling back to polling).
    pub(crate) fn start(paths: &[PathBuf], trigger: Arc<Notify>, poll: Option<Duration>) -> Result<Self, StartError> {
        let mut targets = Targets { dirs: Vec::new(), files: Vec::new() };
        let mut watches = Vec::new();
        for path in paths {
            let watch_error =
                |e: std::io::Error| StartError::Watch { path: path.clone(), source: notify::Error::io(e) };
            if path.is_dir() {
                let dir = path.canonicalize().map_err(watch_error)?;
                targets.dirs.push(dir.clone());
                watches.push((dir, RecursiveMode::Recursive));
            } else {
                // Watch the file's directory: editors and ConfigMaps replace files by renames,
                // which would end a watch on the file itself.
                let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
                let parent = parent.canonicalize().map_err(watch_error)?;
                let Some(name) = path.file_name() else {
                    return Err(watch_error(std::io::Error::other("not a file or directory")));
                };
                targets.files.push(parent.join(name));
                watches.push((parent, RecursiveMode::NonRecursive));
            }
        }
        if let Some(interval) = poll {
            return Self::poll(&targets, &watches, trigger, interval);
        }
        match Self::native(&targets, &watches, trigger.clone()) {
            Ok(watcher) => Ok(watcher),
            Err(error) => {
                tracing::warn!(%error, "cannot watch the configuration with inotify; polling every second instead");
                Self::poll(&targets, &watches, trigger, FALLBACK_POLL_INTERVAL)
            }
        }
    }

    fn native(
        targets: &Targets,
        watches: &[(PathBuf, RecursiveMode)],
        trigger: Arc<Notify>,
    ) -> Result<Self, StartError> {
        let handler = handler(targets.clone(), trigger);
        let watcher = notify::recommended_watcher(handler)
            .map_err(|source| StartError::Watch { path: PathBuf::new(), source })?;
        Self::add(Box::new(watcher), watches)
    }

    fn poll(
        targets: &Targets,
        watches: &[(PathBuf, RecursiveMode)],
        trigger: Arc<Notify>,
        interval: Duration,
    ) -> Result<Self, StartError> {
        // notify's poller compares mtimes in whole seconds: hash contents too, or a file
        // rewritten twice within a second would look unchanged (config trees are small).
        let config = notify::Config::default().with_poll_interval(interval).with_compare_contents(true);
        let watcher = PollWatcher::new(handler(targets.clone(), trigger), config)
            .map_err(|source| StartError::Watch { path: PathBuf::new(), source })?;
        tracing::info!(interval_ms = interval.as_millis() as u64, "watching the configuration by polling");
        Self::add(Box::new(watcher), watches)
    }

    fn add(mut watcher: Box<dyn Watcher + Send>, watches: &[(PathBuf, RecursiveMode)]) -> Result<Self, StartError> {
        for (path, mode) in watches {
            watcher.watch(path, *mode).map_err(|source| StartError::Watch { path: path.clone(), source })?;
            tracing::debug!(path = %path.display(), ?mode, "watching");
        }
        Ok(Self { _watcher: watcher })
    }
}

/// The event handler: runs on notify's thread, so it only filters and wakes the loop.
fn handler(targets: Targets, trigger: Arc<Notify>) -> impl FnMut(notify::Result<Event>) + Send + 'static {
    move |event: notify::Result<Event>| match event {
        Ok(event) => {
            if targets.relevant(&event) {
                tracing::debug!(kind = ?event.kind, paths = ?event.paths, "configuration change");
                trigger.notify_one();
            }
        }
        Err(error) => {
            // Events may have been lost (e.g. inotify's queue overflowed): reload to be sure.
            tracing::warn!(%error, "configuration watcher error; reloading");
            trigger.notify_one();
        }
    }
}

impl Targets {
    fn relevant(&self, event: &Event) -> bool {
        let structural = match event.kind {
            EventKind::Create(_) | EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(_)) => true,
            EventKind::Any | EventKind::Other => true,
            EventKind::Modify(_) | EventKind::Access(AccessKind::Close(AccessMode::Write)) => false,
            EventKind::Access(_) => return false,
        };
        event.paths.iter().any(|path| {
            if self.files.iter().any(|file| file == path) {
                return true;
            }
            let Some(relative) = self.dirs.iter().find_map(|dir| path.strip_prefix(dir).ok()) else {
                return false;
            };
            if is_kubernetes_swap(path) {
                return structural;
            }
            // The loader skips dot files and directories (editor swap files, `.git`).
            if relative.components().any(|c| c.as_os_str().to_str().is_none_or(|c| c.starts_with('.'))) {
                return false;
            }
            is_yaml(path) || (structural && is_dir_like(path))
        })
    }
}

fn is_yaml(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext.eq_ignore_ascii_case("yaml") || ext.eq_ignore_ascii_case("yml"))
}

/// A directory, or a removed path that may have been one (no extension).
fn is_dir_like(path: &Path) -> bool {
    path.is_dir() || (path.extension().is_none() && !path.exists())
}

/// Kubernetes' atomic writer swaps `..data` (and writes `..data_tmp`, `..2024_…`).
fn is_kubernetes_swap(path: &Path) -> bool {
    path.file_name().and_then(|name| name.to_str()).is_some_and(|name| name.starts_with(".."))
}

#[cfg(test)]
mod tests {
    use notify::event::{CreateKind, DataChange, RemoveKind};

    use super::*;

    fn targets() -> Targets {
        Targets { dirs: vec![PathBuf::from("/conf")], files: vec![PathBuf::from("/etc/one.conf")] }
    }

    fn event(kind: EventKind, path: &str) -> Event {
        Event::new(kind).add_path(PathBuf::from(path))
    }

    #[test]
    fn yaml_changes_under_a_directory_are_relevant() {
        let t = targets();
        assert!(t.relevant(&event(EventKind::Modify(ModifyKind::Data(DataChange::Any)), "/conf/a/vs.yaml")));
        assert!(t.relevant(&event(EventKind::Create(CreateKind::File), "/conf/se.YML")));
        assert!(t.relevant(&event(EventKind::Remove(RemoveKind::File), "/conf/se.yml")));
        assert!(t.relevant(&event(EventKind::Access(AccessKind::Close(AccessMode::Write)), "/conf/x.yaml")));
        assert!(t.relevant(&event(EventKind::Create(CreateKind::Folder), "/conf/..data")));
        assert!(t.relevant(&event(EventKind::Remove(RemoveKind::Folder), "/conf/gone-dir")));
    }

    #[test]
    fn other_files_and_reads_are_not() {
        let t = targets();
        assert!(!t.relevant(&event(EventKind::Modify(ModifyKind::Data(DataChange::Any)), "/conf/.vs.yaml.swp")));
        assert!(!t.relevant(&event(EventKind::Modify(ModifyKind::Data(DataChange::Any)), "/conf/notes.txt")));
        assert!(!t.relevant(&event(EventKind::Access(AccessKind::Read), "/conf/vs.yaml")));
        assert!(!t.relevant(&event(EventKind::Create(CreateKind::File), "/elsewhere/vs.yaml")));
        assert!(!t.relevant(&event(EventKind::Create(CreateKind::File), "/conf/.vs.yaml")));
        assert!(!t.relevant(&event(EventKind::Modify(ModifyKind::Data(DataChange::Any)), "/conf/.git/x.yaml")));
        assert!(!t.relevant(&event(EventKind::Modify(ModifyKind::Data(DataChange::Any)), "/conf/..data")));
    }

    #[test]
    fn a_watched_file_is_relevant_whatever_its_name() {
        let t = targets();
        assert!(t.relevant(&event(EventKind::Modify(ModifyKind::Data(DataChange::Any)), "/etc/one.conf")));
        assert!(!t.relevant(&event(EventKind::Modify(ModifyKind::Data(DataChange::Any)), "/etc/other.conf")));
    }
}
