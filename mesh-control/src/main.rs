//! The `mesh-control` binary: `serve` Istio YAML over xDS, `validate` it.
#![allow(clippy::print_stdout)]

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use mesh_control::ControlPlane;
use mesh_control::ca::CaConfig;
use mesh_control::istio;
use mesh_control::runtime::StartError;
use mesh_control::translate::{self, TranslateOptions};

/// The mesh control plane: Istio YAML in, xDS out.
///
/// mesh-control reads the Istio manifests you already have (networking.istio.io
/// VirtualService, DestinationRule, ServiceEntry, WorkloadEntry, Gateway, Sidecar;
/// security.istio.io kinds), validates them, translates them into xDS resources for
/// proxyless clients and serves them over ADS (State-of-the-World and Delta) to mesh
/// clients, grpc-go, grpcio, tonic-xds and Envoy.
#[derive(Debug, Parser)]
#[command(name = "mesh-control", version, propagate_version = true, arg_required_else_help = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per run: the size of the serve arguments does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the configuration over xDS, reloading it when the files change.
    ///
    /// Loads every *.yaml / *.yml under the --config paths (recursively) and refuses to start
    /// if any object is invalid (one line per problem on stderr, exit code 1). Then serves
    /// ADS on --xds-addr and the admin server on --admin-addr: /ready, /metrics,
    /// /debug/config_dump, /debug/syncz, an index page at /, and the registration API
    /// (POST/GET/DELETE /v1/registrations). File changes are picked up within the debounce
    /// delay; an invalid change is logged, counted in the metrics and shown on the admin
    /// page, and the last valid configuration keeps being served. Runs until SIGINT or
    /// SIGTERM, then shuts down gracefully.
    Serve(ServeArgs),
    /// Check Istio YAML files without serving them.
    ///
    /// Loads every *.yaml / *.yml under the given directories (recursively) and files, with
    /// the same validation as `serve`. Prints "N objects valid" and exits 0 if everything is
    /// valid; otherwise prints one line per problem to stdout
    /// (`file:line: Kind/namespace/name: field: reason`) and exits 1. Translation warnings
    /// (valid but suspicious configuration) go to stderr and do not fail validation.
    Validate(ValidateArgs),
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// A directory (read recursively) or file of Istio YAML to serve; repeat for several.
    ///
    /// Every *.yaml / *.yml file is read; each path is watched for changes (create, modify,
    /// delete, rename).
    #[arg(long = "config", value_name = "DIR", required = true)]
    config: Vec<PathBuf>,
    /// Address to serve xDS (ADS, gRPC) on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:15010")]
    xds_addr: SocketAddr,
    /// Address of the admin server (health, metrics, debug pages, registration API).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:15014")]
    admin_addr: SocketAddr,
    /// Namespace of objects that do not set metadata.namespace.
    #[arg(long, value_name = "NAMESPACE", default_value = "default")]
    namespace: String,
    /// Milliseconds without file or registry changes before a reload.
    ///
    /// Bursts of events (an editor saving, a git checkout) cause one reload; a change is
    /// applied at most ten times this delay after it was first seen.
    #[arg(long, value_name = "MS", default_value_t = 100)]
    debounce_ms: u64,
    /// Watch the files by polling every MS milliseconds instead of inotify.
    ///
    /// For file systems whose changes inotify does not report (NFS, some network and FUSE
    /// mounts). Without it inotify is used, falling back to polling every second if inotify
    /// cannot be set up.
    #[arg(long, value_name = "MS")]
    poll_ms: Option<u64>,
    /// Address of the certificate authority: Istio's CreateCertificate over TLS (no CA
    /// without it; needs --ca-dir).
    ///
    /// Workloads authenticate with `authorization: Bearer <token>` (see --ca-tokens) or with
    /// a client certificate this CA issued (renewal), and get a certificate for their own
    /// identity, spiffe://<trust domain>/ns/<namespace>/sa/<service account>.
    #[arg(long, value_name = "ADDR", requires = "ca_dir")]
    ca_addr: Option<SocketAddr>,
    /// Directory of the CA: ca-cert.pem, ca-key.pem, cert-chain.pem, root-cert.pem (Istio's
    /// plug-in CA files; an intermediate signed by your root works). If it holds none, a
    /// self-signed root is generated and saved there, and reused on the next start.
    #[arg(long, value_name = "DIR", requires = "ca_addr")]
    ca_dir: Option<PathBuf>,
    /// YAML list of {token, namespace, serviceAccount}: which bearer token proves which
    /// identity. Re-read when it changes.
    #[arg(long, value_name = "FILE", requires = "ca_addr")]
    ca_tokens: Option<PathBuf>,
    /// Trust domain of the identities the CA issues (and of a generated root).
    #[arg(long, value_name = "DOMAIN", default_value = "cluster.local")]
    trust_domain: String,
    /// Lifetime of a workload certificate when the request does not ask for one (`24h`,
    /// `30m`, `7d`).
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = parse_ttl)]
    workload_cert_ttl: Duration,
    /// Longest certificate lifetime a workload may ask for; longer requests are refused.
    #[arg(long, value_name = "DURATION", default_value = "90d", value_parser = parse_ttl)]
    max_workload_cert_ttl: Duration,
    /// Log filter, in RUST_LOG syntax (`info`, `mesh_control=debug,info`, …). Logs go to stderr.
    #[arg(long, value_name = "FILTER", default_value = "info")]
    log: String,
}

#[derive(Debug, Args)]
struct ValidateArgs {
    /// Directories (read recursively) and files of Istio YAML to check.
    #[arg(value_name = "DIR|FILE", required = true)]
    paths: Vec<PathBuf>,
    /// Namespace of objects that do not set metadata.namespace.
    #[arg(long, value_name = "NAMESPACE", default_value = "default")]
    namespace: String,
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Serve(args) => serve(args),
        Command::Validate(args) => validate(&args),
    }
}

fn validate(args: &ValidateArgs) -> ExitCode {
    match istio::load_paths(&args.paths, &args.namespace) {
        Ok(config) => {
            for warning in translate::translate(&config, &[], &TranslateOptions::default()).warnings {
                eprintln!("warning: {warning}");
            }
            println!("{} objects valid", config.len());
            ExitCode::SUCCESS
        }
        Err(issues) => {
            for issue in &issues {
                println!("{issue}");
            }
            let plural = if issues.len() == 1 { "" } else { "s" };
            eprintln!("error: {} problem{plural} found", issues.len());
            ExitCode::FAILURE
        }
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    let filter = match tracing_subscriber::EnvFilter::try_new(&args.log) {
        Ok(filter) => filter,
        Err(e) => return fatal(format_args!("invalid --log filter {:?}: {e}", args.log)),
    };
    let ansi = std::io::stderr().is_terminal();
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi).init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return fatal(format_args!("cannot start the async runtime: {e}")),
    };
    runtime.block_on(async move {
        // Listen for SIGINT/SIGTERM before anything is served: a signal that arrives
        // right after the "serving" line must shut down gracefully, not kill the process.
        let stop = Stop::install();
        let mut builder = ControlPlane::builder()
            .config_paths(args.config)
            .default_namespace(&args.namespace)
            .xds_addr(args.xds_addr)
            .admin_addr(args.admin_addr)
            .debounce(Duration::from_millis(args.debounce_ms));
        if let Some(ms) = args.poll_ms {
            builder = builder.poll_interval(Duration::from_millis(ms.max(1)));
        }
        if let (Some(addr), Some(dir)) = (args.ca_addr, args.ca_dir) {
            let mut ca = CaConfig::new(addr, dir);
            ca.trust_domain = args.trust_domain;
            ca.tokens = args.ca_tokens;
            ca.workload_cert_ttl = args.workload_cert_ttl;
            ca.max_workload_cert_ttl = args.max_workload_cert_ttl;
            builder = builder.ca(ca);
        }
        let control_plane = match builder.start().await {
            Ok(control_plane) => control_plane,
            Err(StartError::Config(issues)) if issues.len() > 1 => {
                for issue in &issues {
                    eprintln!("{issue}");
                }
                return fatal(format_args!("invalid configuration: {} problems (listed above)", issues.len()));
            }
            Err(e) => return fatal(format_args!("{e}")),
        };
        stop.wait().await;
        control_plane.shutdown().await;
        ExitCode::SUCCESS
    })
}

/// A certificate lifetime: `<n>d` (days) or a duration such as `24h`, `90m`, `3600s`.
fn parse_ttl(s: &str) -> Result<Duration, String> {
    let ttl = match s.trim().strip_suffix('d') {
        Some(days) => days
            .parse::<u64>()
            .ok()
            .and_then(|d| d.checked_mul(86_400))
            .map(Duration::from_secs)
            .ok_or_else(|| format!("invalid duration {s:?}: expected e.g. \"24h\", \"90d\""))?,
        None => mesh_core::duration::parse_duration(s).map_err(|e| e.to_string())?,
    };
    if ttl.is_zero() {
        return Err("must be longer than 0".to_owned());
    }
    Ok(ttl)
}

/// One line on stderr, exit code 1.
fn fatal(reason: std::fmt::Arguments<'_>) -> ExitCode {
    eprintln!("error: {reason}");
    ExitCode::FAILURE
}

/// SIGINT (Ctrl-C) and SIGTERM listeners, registered when created.
struct Stop {
    #[cfg(unix)]
    signals: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Stop {
    fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
                (Ok(int), Ok(term)) => Self { signals: Some((int, term)) },
                (Err(e), _) | (_, Err(e)) => {
                    tracing::warn!(error = %e, "cannot listen for signals; falling back to Ctrl-C only");
                    Self { signals: None }
                }
            }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// Resolves on SIGINT or SIGTERM.
    async fn wait(self) {
        #[cfg(unix)]
        if let Some((mut int, mut term)) = self.signals {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            return;
        }
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C; stopping");
        }
    }
}
