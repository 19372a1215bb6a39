//! The bounded pool of worker threads that extract and score jobs: CPU work
//! never runs on the HTTP runtime. Each job runs on its own thread watched
//! by its worker: past `--job-timeout` the job fails with that reason (the
//! worker still waits for the thread, so at most `--workers` computations
//! run at once).

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::audit::{AuditLog, Event};
use super::jobs::{JobError, JobRecord, JobStore};
use super::models::ServedModel;
use crate::io::atomic::write_bytes;

pub struct Pool {
    pub store: Arc<JobStore>,
    pub models: Vec<Arc<ServedModel>>,
    pub audit: Arc<AuditLog>,
    pub timeout: Duration,
}

/// Starts `n` worker threads.
pub fn spawn(pool: Arc<Pool>, n: usize) -> Vec<std::thread::JoinHandle<()>> {
    (0..n)
        .map(|w| {
            let pool = pool.clone();
            std::thread::Builder::new()
                .name(format!("radial-worker-{w}"))
                .spawn(move || work(&pool))
                .expect("worker thread starts")
        })
        .collect()
}

fn work(pool: &Pool) {
    while let Some(job) = pool.store.next() {
        let started = Instant::now();
        let outcome = run_watched(pool, &job);
        let elapsed = started.elapsed();
        let applied = pool.store.finish(&job.id, outcome.clone());
        let outcome_text = match (&outcome, applied) {
            (_, false) => "discarded",
            (Ok(()), true) => "succeeded",
            (Err(_), true) => "failed",
        };
        if !applied {
            // Cancelled (or timed out) meanwhile: no result may remain.
            let dir = pool.store.job_dir(&job.id);
            let _ = std::fs::remove_file(dir.join("result.json"));
            let _ = std::fs::remove_file(dir.join("preview.png"));
        }
        pool.audit.record(Event {
            key_id: &job.owner,
            event: "run",
            job_id: Some(&job.id),
            model_sha256: Some(&job.model_sha256),
            image_sha256: Some(&job.image_sha256),
            mask_sha256: Some(&job.mask_sha256),
            outcome: outcome_text,
            ..Event::default()
        });
        eprintln!(
            "radial serve: job {} {outcome_text} in {} ms",
            job.id,
            elapsed.as_millis()
        );
    }
}

/// Runs the job on its own thread and waits at most the timeout for it.
fn run_watched(pool: &Pool, job: &JobRecord) -> Result<(), JobError> {
    let Some(model) = pool.models.iter().find(|m| m.name == job.model).cloned() else {
        return Err(JobError {
            status: 500,
            detail: format!("model `{}` is no longer served", job.model),
        });
    };
    if model.sha256 != job.model_sha256 {
        return Err(JobError {
            status: 500,
            detail: format!(
                "model `{}` changed since the job was accepted (sha256 {} then, {} now)",
                job.model, job.model_sha256, model.sha256
            ),
        });
    }
    let dir = pool.store.job_dir(&job.id);
    let (tx, rx) = mpsc::channel();
    let thread_job = job.clone();
    let handle = std::thread::Builder::new()
        .name(format!("radial-job-{}", &job.id[..8.min(job.id.len())]))
        .spawn(move || {
            let outcome = execute(&model, &thread_job, &dir);
            let _ = tx.send(outcome);
        })
        .map_err(|e| JobError {
            status: 500,
            detail: format!("cannot start the job thread: {e}"),
        })?;
    let outcome = match rx.recv_timeout(pool.timeout) {
        Ok(outcome) => outcome,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            let timed_out = Err(JobError {
                status: 504,
                detail: format!(
                    "the job did not finish within --job-timeout {} s",
                    pool.timeout.as_secs()
                ),
            });
            pool.store.finish(&job.id, timed_out.clone());
            timed_out
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(JobError {
            status: 500,
            detail: "the job's computation panicked".to_string(),
        }),
    };
    let _ = handle.join();
    outcome
}

/// Reads the inputs, scores the case with the shared predict path, writes
/// `result.json` and `preview.png` atomically.
fn execute(model: &ServedModel, job: &JobRecord, dir: &Path) -> Result<(), JobError> {
    let (image, roi) = super::case_inputs::load(&super::case_inputs::CaseFiles {
        inputs: &dir.join("inputs"),
        image: &job.image,
        mask: &job.mask,
        label: job.label,
        roi: job.roi.as_deref(),
    })?;
    let scored = crate::predict::predict_case(&model.artifact, &job.case_id, &image, &roi)
        .map_err(|e| JobError {
            status: 422,
            detail: e.to_string(),
        })?;
    let p = &scored.prediction;
    let result = JobResult {
        job_id: &job.id,
        case_id: &job.case_id,
        model: serde_json::json!({"name": model.name, "sha256": model.sha256}),
        recipe_sha256: model.recipe_sha256.as_deref(),
        radial_version: crate::VERSION,
        model_radial_version: &model.artifact.radial_version,
        prediction: serde_json::json!({
            "score": number(p.score),
            "probability": number(p.probability),
            "class": p.predicted,
        }),
        features: OrderedNumbers(&scored.features),
        qc: &scored.qc,
        inputs: serde_json::json!({
            "image_sha256": job.image_sha256,
            "mask_sha256": job.mask_sha256,
        }),
    };
    let storage = |e: crate::Error| JobError {
        status: 500,
        detail: format!("cannot store the result: {e}"),
    };
    let k = super::preview::largest_slice(&roi);
    write_bytes(
        &dir.join("preview.png"),
        &super::preview::render(&image, &roi, k),
    )
    .map_err(storage)?;
    let json = serde_json::to_vec_pretty(&result).expect("result serialises");
    write_bytes(&dir.join("result.json"), &json).map_err(storage)?;
    Ok(())
}

/// A JSON number (shortest round-trip form), or null for NaN/infinity.
fn number(v: f64) -> serde_json::Value {
    serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, serde_json::Value::Number)
}

/// `result.json` (members in this order).
#[derive(serde::Serialize)]
struct JobResult<'a> {
    job_id: &'a str,
    case_id: &'a str,
    model: serde_json::Value,
    recipe_sha256: Option<&'a str>,
    radial_version: &'a str,
    model_radial_version: &'a str,
    prediction: serde_json::Value,
    features: OrderedNumbers<'a>,
    qc: &'a crate::predict::CaseQc,
    inputs: serde_json::Value,
}

/// Name → value pairs serialised as a JSON object in their own order (the
/// model's input order), NaN as null.
struct OrderedNumbers<'a>(&'a [(String, f64)]);

impl serde::Serialize for OrderedNumbers<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, value) in self.0 {
            map.serialize_entry(name, &number(*value))?;
        }
        map.end()
    }
}
