//! The service's settings (from `radial serve` flags) and the checks made
//! before anything starts.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;

#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub models: Vec<PathBuf>,
    pub listen: SocketAddr,
    pub data: PathBuf,
    pub api_keys: Option<PathBuf>,
    pub insecure_no_auth: bool,
    pub workers: usize,
    pub queue: usize,
    pub limits: super::upload::Limits,
    pub job_timeout: Duration,
    pub retention: Duration,
}

impl ServeConfig {
    /// Refuses settings that would make the service unsafe or useless.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.models.is_empty() {
            bail!(
                "no model to serve: give --model FILE, or put *.model.json files in a directory \
                 listed in RADIAL_MODELS"
            );
        }
        if self.api_keys.is_none() && !self.listen.ip().is_loopback() && !self.insecure_no_auth {
            bail!(
                "--listen {}: without --api-keys the service only listens on a loopback address; \
                 give --api-keys FILE (see `radial serve hash-key`), or --insecure-no-auth behind \
                 an authenticating proxy",
                self.listen
            );
        }
        if self.workers == 0 {
            bail!("--workers must be at least 1");
        }
        if self.queue == 0 {
            bail!("--queue must be at least 1");
        }
        if self.limits.max_upload_bytes == 0 {
            bail!("--max-upload-mb must be at least 1");
        }
        if self.job_timeout.is_zero() {
            bail!("--job-timeout must be at least 1 second");
        }
        Ok(())
    }
}
