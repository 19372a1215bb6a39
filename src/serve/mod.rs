//! `radial serve`: the diagnostic service. An HTTP API (axum on a small
//! tokio runtime) accepts jobs (an image and a mask for a served model),
//! stores them on disk, and a bounded pool of worker threads scores them
//! through the same predict path as `radial predict --image --mask`.
//!
//! One job per module: [`config`] (settings and their checks), [`auth`]
//! (API keys), [`case_inputs`] (reading and checking a job's case), [`models`] (the served models), [`jobs`] (the durable job
//! store), [`worker`] (the pool), [`upload`] (multipart, zip checks),
//! [`routes`] (the HTTP API), [`problem`] (RFC 7807 errors), [`audit`]
//! (the audit log), [`preview`] (the PNG slice), [`page`] (the web page),
//! [`probe`] (the container health check client), [`time`].

pub mod audit;
pub mod auth;
pub mod case_inputs;
pub mod config;
pub mod jobs;
pub mod models;
pub mod page;
pub mod preview;
pub mod probe;
pub mod problem;
pub mod routes;
pub mod time;
pub mod upload;
pub mod worker;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;

pub use config::ServeConfig;

/// Everything a request handler needs.
pub struct AppState {
    pub config: ServeConfig,
    pub keys: auth::KeyStore,
    pub models: Vec<Arc<models::ServedModel>>,
    pub store: Arc<jobs::JobStore>,
    pub audit: Arc<audit::AuditLog>,
    pub ready: AtomicBool,
    /// Submissions reading their case at once (`--workers` of them).
    pub input_checks: tokio::sync::Semaphore,
}

/// Loads models and keys, recovers the job store, starts the workers and
/// serves until SIGINT/SIGTERM.
pub fn run(config: ServeConfig) -> anyhow::Result<()> {
    config.check()?;
    let keys = match &config.api_keys {
        Some(path) => auth::KeyStore::load(path)?,
        None => auth::KeyStore::disabled(),
    };
    let models = models::load_all(&config.models)?;
    std::fs::create_dir_all(&config.data)
        .with_context(|| format!("--data {}", config.data.display()))?;
    let (store, recovery) = jobs::JobStore::open(&config.data, config.queue)?;
    let store = Arc::new(store);
    let audit = Arc::new(audit::AuditLog::open(&config.data.join("audit.jsonl"))?);
    eprintln!(
        "radial serve: {} model(s) [{}]; jobs recovered: {} finished, {} queued, {} to rerun, {} \
         failed after repeated interruption",
        models.len(),
        models
            .iter()
            .map(|m| m.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        recovery.finished,
        recovery.requeued,
        recovery.rerun,
        recovery.failed_interrupted
    );
    let pool = Arc::new(worker::Pool {
        store: store.clone(),
        models: models.clone(),
        audit: audit.clone(),
        timeout: config.job_timeout,
    });
    let workers = worker::spawn(pool, config.workers);
    spawn_retention(store.clone(), config.retention);
    let state = Arc::new(AppState {
        config: config.clone(),
        keys,
        models,
        store: store.clone(),
        audit,
        ready: AtomicBool::new(true),
        input_checks: tokio::sync::Semaphore::new(config.workers.max(1)),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("radial-http")
        .enable_all()
        .build()
        .context("cannot start the HTTP runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("--listen {}: cannot bind", config.listen))?;
        let local = listener.local_addr()?;
        // Tests and scripts read this line to learn the port of `:0`.
        eprintln!("radial serve: listening on http://{local}");
        axum::serve(listener, routes::router(state.clone()))
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("the HTTP server stopped")?;
        state.ready.store(false, Ordering::SeqCst);
        anyhow::Ok(())
    })?;
    store.shutdown();
    // A job still running stays `running` on disk and reruns at the next
    // start; do not wait for it.
    drop(workers);
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    eprintln!("radial serve: stopping");
}

/// Deletes expired jobs now and then every minute.
fn spawn_retention(store: Arc<jobs::JobStore>, retention: Duration) {
    let retention_ms = retention.as_millis() as u64;
    std::thread::Builder::new()
        .name("radial-retention".into())
        .spawn(move || {
            loop {
                let removed = store.sweep(retention_ms);
                if removed > 0 {
                    eprintln!("radial serve: deleted {removed} job(s) past the retention period");
                }
                std::thread::sleep(Duration::from_secs(60));
            }
        })
        .expect("retention thread starts");
}
