//! `radial serve`: the diagnostic service (see `crate::serve`), plus
//! `radial serve hash-key SECRET` (the hash an API key file stores) and
//! `radial serve probe` (the container's health check).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::serve::upload::Limits;
use crate::serve::{ServeConfig, auth};

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<ServeCommand>,
    /// A model to serve (repeatable). Without it: every `*.model.json` in
    /// the directories of RADIAL_MODELS (colon-separated).
    #[arg(long = "model")]
    pub models: Vec<PathBuf>,
    /// Address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory of jobs, uploads, results and the audit log.
    #[arg(long, default_value = "./radial-serve")]
    pub data: PathBuf,
    /// API keys file: `KEY_ID ROLE SHA256_HEX` lines (roles submit, read,
    /// admin). Default: $RADIAL_API_KEYS when set.
    #[arg(long)]
    pub api_keys: Option<PathBuf>,
    /// Listen on a non-loopback address without API keys (only behind a
    /// proxy that authenticates).
    #[arg(long)]
    pub insecure_no_auth: bool,
    /// Worker threads extracting and scoring (default: the number of cores).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Jobs that may wait in the queue; beyond it submissions get 429.
    #[arg(long, default_value_t = 64)]
    pub queue: usize,
    /// Largest upload (image and mask together), in MB.
    #[arg(long, default_value_t = 1024)]
    pub max_upload_mb: u64,
    /// Seconds a job may run before it fails.
    #[arg(long, default_value_t = 600)]
    pub job_timeout: u64,
    /// Hours finished jobs (inputs and results) are kept.
    #[arg(long, default_value_t = 24)]
    pub retention: u64,
}

#[derive(clap::Subcommand, Debug)]
pub enum ServeCommand {
    /// Print the SHA-256 of an API key secret, for the keys file (`-`: read
    /// the secret from standard input).
    HashKey { secret: String },
    /// Exit 0 when the service answers 200 on a path (the container's HEALTHCHECK).
    Probe {
        /// Address to probe (default: $RADIAL_PROBE_ADDR, else 127.0.0.1:8080).
        #[arg(long)]
        addr: Option<String>,
        #[arg(long, default_value = "/healthz")]
        path: String,
        #[arg(long, default_value_t = 3)]
        timeout_secs: u64,
    },
}

const MB: u64 = 1024 * 1024;

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Some(ServeCommand::HashKey { secret }) => {
            let secret = if secret == "-" {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                line.trim_end_matches(['\n', '\r']).to_string()
            } else {
                secret
            };
            anyhow::ensure!(!secret.is_empty(), "the secret is empty");
            crate::outln!("{}", auth::hex(&auth::hash_secret(&secret)))?;
            Ok(())
        }
        Some(ServeCommand::Probe {
            addr,
            path,
            timeout_secs,
        }) => {
            let addr = addr
                .or_else(|| std::env::var("RADIAL_PROBE_ADDR").ok())
                .unwrap_or_else(|| "127.0.0.1:8080".to_string());
            crate::serve::probe::probe(&addr, &path, Duration::from_secs(timeout_secs))
        }
        None => {
            let models = if args.models.is_empty() {
                let dirs = std::env::var("RADIAL_MODELS").unwrap_or_default();
                crate::serve::models::discover(&dirs)?
            } else {
                args.models
            };
            let workers = args
                .workers
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            let max_upload_bytes = args.max_upload_mb.saturating_mul(MB);
            crate::serve::run(ServeConfig {
                models,
                listen: args.listen,
                data: args.data,
                api_keys: args
                    .api_keys
                    .or_else(|| std::env::var_os("RADIAL_API_KEYS").map(PathBuf::from)),
                insecure_no_auth: args.insecure_no_auth,
                workers,
                queue: args.queue,
                limits: Limits {
                    max_upload_bytes,
                    // A zip may unpack to 4× the upload limit, in at most
                    // 20 000 files (a CT series has hundreds of slices).
                    max_zip_bytes: max_upload_bytes.saturating_mul(4),
                    max_zip_entries: 20_000,
                },
                job_timeout: Duration::from_secs(args.job_timeout),
                retention: Duration::from_secs(args.retention.saturating_mul(3600)),
            })
        }
    }
}
