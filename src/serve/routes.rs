//! The HTTP API. Every `/v1` route authenticates the caller; a job is
//! visible only to the key that submitted it (admins see every job), and
//! another key's job answers 404 as if it did not exist.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;

use super::AppState;
use super::audit::{Event, pseudonym};
use super::auth::{AuthFailure, Caller};
use super::jobs::{JobRecord, Refusal, Status};
use super::models::ServedModel;
use super::problem::Problem;
use super::upload;

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(super::page::index))
        .route("/app.js", get(super::page::script))
        .route("/style.css", get(super::page::style))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/openapi.json", get(openapi))
        .route("/v1/models", get(list_models))
        .route("/v1/jobs", get(list_jobs).post(submit))
        .route("/v1/jobs/{id}", get(get_job).delete(cancel_job))
        .route("/v1/jobs/{id}/result", get(get_result))
        .route("/v1/jobs/{id}/preview.png", get(get_preview))
        .fallback(|| async { Problem::not_found("no such resource (see /openapi.json)") })
        // Uploads are streamed to disk and counted by `upload::receive`,
        // which answers 413 as problem+json: no 2 MB default limit.
        .layer(DefaultBodyLimit::disable())
        // Answers carry patient-derived results: no cache (the browser's or
        // a proxy's) may keep them, and no client may guess a content type.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        // A bug in a handler answers a 500 problem, and the server keeps serving.
        .layer(CatchPanicLayer::custom(handler_panicked))
        .with_state(state)
}

fn handler_panicked(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    eprintln!("radial serve: a request handler panicked (answered 500)");
    Problem::internal("the server failed on this request; it keeps serving").into_response()
}

type Reply = Result<Response, Problem>;

fn json_response(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut r = (status, body.into()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Caller, Problem> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    state.keys.authenticate(value).map_err(|failure| {
        let detail = match failure {
            AuthFailure::Missing => {
                "no `Authorization` header: send `Authorization: Bearer <API key>`"
            }
            AuthFailure::Invalid => "the `Authorization` header does not hold a valid API key",
        };
        Problem::new(StatusCode::UNAUTHORIZED, detail).header(header::WWW_AUTHENTICATE, "Bearer")
    })
}

async fn healthz() -> Response {
    json_response(StatusCode::OK, r#"{"status":"ok"}"#)
}

async fn readyz(State(state): State<Arc<AppState>>) -> Reply {
    if !state.ready.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is stopping",
        ));
    }
    let probe = state.config.data.join(".readyz");
    let writable = tokio::fs::write(&probe, b"ok").await.is_ok();
    let _ = tokio::fs::remove_file(&probe).await;
    if !writable {
        return Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the data directory (--data) is not writable",
        ));
    }
    let body = json!({
        "status": "ready",
        "models": state.models.iter().map(|m| json!({"name": m.name, "sha256": m.sha256})).collect::<Vec<_>>(),
        "queued": state.store.queued(),
    });
    Ok(json_response(StatusCode::OK, body.to_string()))
}

async fn openapi() -> Response {
    json_response(StatusCode::OK, include_str!("openapi.json"))
}

async fn list_models(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Reply {
    authenticate(&state, &headers)?;
    let models: Vec<Value> = state.models.iter().map(|m| m.describe()).collect();
    Ok(json_response(
        StatusCode::OK,
        json!({ "models": models }).to_string(),
    ))
}

/// The public view of a job.
fn job_view(job: &JobRecord, position: Option<usize>) -> Value {
    let time = |ms: Option<u64>| ms.map(super::time::rfc3339);
    json!({
        "id": job.id,
        "status": job.status.as_str(),
        "model": job.model,
        "created": super::time::rfc3339(job.created_ms),
        "started": time(job.started_ms),
        "finished": time(job.finished_ms),
        "queue_position": position,
        "error": job.error.as_ref().map(|e| json!({"status": e.status, "detail": e.detail})),
        "links": {
            "self": format!("/v1/jobs/{}", job.id),
            "result": format!("/v1/jobs/{}/result", job.id),
            "preview": format!("/v1/jobs/{}/preview.png", job.id),
        },
    })
}

/// The job if the caller may see it; otherwise 404, whether it exists or not.
fn visible_job(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(JobRecord, Option<usize>), Problem> {
    state
        .store
        .get(id)
        .filter(|(job, _)| caller.may_see(&job.owner))
        .ok_or_else(|| Problem::not_found(format!("no job `{id}` visible to this API key")))
}

async fn list_jobs(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Reply {
    let caller = authenticate(&state, &headers)?;
    let jobs: Vec<Value> = state
        .store
        .list(|j| caller.may_see(&j.owner))
        .iter()
        .map(|(j, p)| job_view(j, *p))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        json!({ "jobs": jobs, "queued": state.store.queued() }).to_string(),
    ))
}

async fn get_job(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Reply {
    let caller = authenticate(&state, &headers)?;
    let (job, position) = visible_job(&state, &caller, &id)?;
    Ok(json_response(
        StatusCode::OK,
        job_view(&job, position).to_string(),
    ))
}

async fn cancel_job(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Reply {
    let caller = authenticate(&state, &headers)?;
    visible_job(&state, &caller, &id)?;
    if !caller.role.may_submit() {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            format!(
                "API key `{}` has the read role: it cannot cancel jobs",
                caller.key_id
            ),
        ));
    }
    match state.store.cancel(&id) {
        Ok(job) => {
            state.audit.record(Event {
                key_id: &caller.key_id,
                event: "cancel",
                job_id: Some(&job.id),
                model_sha256: Some(&job.model_sha256),
                outcome: "cancelled",
                ..Event::default()
            });
            Ok(json_response(
                StatusCode::OK,
                job_view(&job, None).to_string(),
            ))
        }
        Err(job) => Err(Problem::new(
            StatusCode::CONFLICT,
            format!(
                "job `{id}` has already finished ({}): nothing to cancel",
                job.status.as_str()
            ),
        )),
    }
}

/// The problem a finished-but-not-succeeded (or unfinished) job answers for its result.
fn not_a_result(job: &JobRecord) -> Problem {
    match job.status {
        Status::Failed => {
            let e = job.error.clone().unwrap_or(super::jobs::JobError {
                status: 500,
                detail: "failed".into(),
            });
            let status =
                StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Problem::new(status, format!("job `{}` failed: {}", job.id, e.detail))
                .with("job", json!(format!("/v1/jobs/{}", job.id)))
        }
        Status::Cancelled => {
            Problem::new(StatusCode::GONE, format!("job `{}` was cancelled", job.id))
        }
        s => Problem::new(
            StatusCode::CONFLICT,
            format!("job `{}` has no result yet: it is {}", job.id, s.as_str()),
        ),
    }
}

async fn get_result(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Reply {
    let bytes =
        finished_job_file(&state, &headers, &id, "result.json", "the stored result").await?;
    Ok(json_response(StatusCode::OK, bytes))
}

/// A file of a succeeded job the caller may see (its result or preview).
async fn finished_job_file(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    file: &str,
    what: &str,
) -> Result<Vec<u8>, Problem> {
    let caller = authenticate(state, headers)?;
    let (job, _) = visible_job(state, &caller, id)?;
    if job.status != Status::Succeeded {
        return Err(not_a_result(&job));
    }
    tokio::fs::read(state.store.job_dir(id).join(file))
        .await
        .map_err(|e| Problem::internal(format!("job `{id}`: {what} is unreadable: {e}")))
}

async fn get_preview(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Reply {
    let bytes = finished_job_file(&state, &headers, &id, "preview.png", "the preview").await?;
    let mut r = (StatusCode::OK, bytes).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
    Ok(r)
}

/// `Prefer: wait=N` (RFC 7240), at most 60 s.
fn prefer_wait(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|p| p.trim().strip_prefix("wait="))
        .filter_map(|n| n.trim().parse::<u64>().ok())
        .map(|n| Duration::from_secs(n.min(60)))
        .next()
}

fn new_job_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

fn retry_after(state: &AppState) -> Problem {
    let queued = state.store.queued();
    Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        format!(
            "the queue is full ({queued} jobs waiting, --queue {}): retry later",
            state.config.queue
        ),
    )
    .header(header::RETRY_AFTER, "5")
}

async fn submit(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Reply {
    let caller = authenticate(&state, &headers)?;
    if !caller.role.may_submit() {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            format!(
                "API key `{}` has the read role: it cannot submit jobs",
                caller.key_id
            ),
        ));
    }
    let limits = state.config.limits;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // Multipart framing adds a little to the files' size.
    if declared.is_some_and(|n| n > limits.max_upload_bytes + 64 * 1024) {
        return Err(upload::too_large(&limits));
    }
    if state.store.queue_full() {
        return Err(retry_after(&state));
    }
    let wait = prefer_wait(&headers);
    let id = new_job_id();
    let staging = state.store.staging_dir(&id);
    tokio::fs::create_dir_all(staging.join("inputs"))
        .await
        .map_err(|e| Problem::internal(format!("cannot store the upload: {e}")))?;
    let accepted = accept(&state, &caller, &id, &staging, &mut multipart).await;
    if accepted.is_err() {
        let _ = tokio::fs::remove_dir_all(&staging).await;
    }
    let job = match accepted {
        Ok(job) => job,
        Err(problem) => {
            state.audit.record(Event {
                key_id: &caller.key_id,
                event: "submit",
                outcome: &format!("refused {}", problem.status),
                ..Event::default()
            });
            return Err(problem);
        }
    };
    let location = format!("/v1/jobs/{}", job.id);
    if let Some(wait) = wait
        && let Some(done) = wait_finished(&state, &job.id, wait).await
    {
        return match done.status {
            Status::Succeeded => {
                let result = tokio::fs::read(state.store.job_dir(&done.id).join("result.json"))
                    .await
                    .map_err(|e| {
                        Problem::internal(format!("the stored result is unreadable: {e}"))
                    })?;
                let mut body = job_view(&done, None).to_string();
                // Splice the stored result in as is (it keeps its member order).
                body.pop();
                body.push_str(",\"result\":");
                body.push_str(&String::from_utf8_lossy(&result));
                body.push('}');
                let mut r = json_response(StatusCode::OK, body);
                r.headers_mut().insert(
                    header::LOCATION,
                    HeaderValue::from_str(&location).expect("ascii"),
                );
                Ok(r)
            }
            Status::Failed => Err(not_a_result(&done).header(header::LOCATION, location)),
            _ => Ok(json_response(
                StatusCode::OK,
                job_view(&done, None).to_string(),
            )),
        };
    }
    let (job, position) = state.store.get(&job.id).unwrap_or((job, None));
    let mut r = json_response(StatusCode::ACCEPTED, job_view(&job, position).to_string());
    r.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(&location).expect("ascii"),
    );
    Ok(r)
}

/// Waits until the job is finished or `wait` has passed.
async fn wait_finished(state: &AppState, id: &str, wait: Duration) -> Option<JobRecord> {
    let mut changes = state.store.subscribe();
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let (job, _) = state.store.get(id)?;
        if job.status.is_final() {
            return Some(job);
        }
        if tokio::time::timeout_at(deadline, changes.changed())
            .await
            .is_err()
        {
            return None;
        }
    }
}

fn choose_model<'a>(
    state: &'a AppState,
    name: Option<&str>,
) -> Result<&'a Arc<ServedModel>, Problem> {
    let served: Vec<&str> = state.models.iter().map(|m| m.name.as_str()).collect();
    let model = match name {
        Some(name) => state
            .models
            .iter()
            .find(|m| m.name == name)
            .ok_or_else(|| {
                Problem::not_found(format!(
                    "field `model`: no model `{name}` is served (served: {})",
                    served.join(", ")
                ))
                .with("served", json!(served))
            })?,
        None if state.models.len() == 1 => &state.models[0],
        None => {
            return Err(Problem::bad_request(format!(
                "field `model` is required when several models are served ({})",
                served.join(", ")
            ))
            .with("served", json!(served)));
        }
    };
    if model.artifact.extraction.is_none() {
        return Err(Problem::unprocessable(format!(
            "model `{}` does not record how its features were extracted: it cannot score images",
            model.name
        )));
    }
    Ok(model)
}

fn duplicate(existing: &str, transaction_id: &str) -> Problem {
    let location = format!("/v1/jobs/{existing}");
    Problem::new(
        StatusCode::CONFLICT,
        format!(
            "field `transaction_id`: `{transaction_id}` was already submitted as job `{existing}`"
        ),
    )
    .with("job", json!(location))
    .header(header::LOCATION, location)
}

/// Receives the upload, checks it and hands the job to the store.
async fn accept(
    state: &Arc<AppState>,
    caller: &Caller,
    id: &str,
    staging: &std::path::Path,
    multipart: &mut Multipart,
) -> Result<JobRecord, Problem> {
    let limits = state.config.limits;
    let sub = upload::receive(multipart, staging, &limits).await?;
    let model = choose_model(state, sub.model.as_deref())?.clone();
    if let Some(tx) = &sub.transaction_id
        && let Some(existing) = state.store.find_transaction(&caller.key_id, tx)
    {
        return Err(duplicate(&existing, tx));
    }
    let image = sub
        .image
        .ok_or_else(|| Problem::bad_request("field `image` is missing (the image file)"))?;
    let mask = sub
        .mask
        .ok_or_else(|| Problem::bad_request("field `mask` is missing (the mask file)"))?;
    let case_id = sub.case_id.clone().unwrap_or_else(|| {
        let stem = crate::cli::extract::file_stem(std::path::Path::new(&image.original_name));
        let stem = stem.strip_suffix(".zip").unwrap_or(&stem).to_string();
        if stem.is_empty() {
            "case".to_string()
        } else {
            stem
        }
    });
    let inputs = staging.join("inputs");
    let (label, roi) = (sub.label.unwrap_or(1), sub.roi.clone());
    // Reading the case refuses bad input (a truncated image, a mask off the
    // grid, an absent label, an empty ROI) now, as a 422, instead of as a
    // failed job later. It decodes whole volumes: at most `--workers` at
    // once, so queued uploads cost disk, not memory.
    let _permit = state
        .input_checks
        .acquire()
        .await
        .map_err(|_| Problem::internal("the server is stopping"))?;
    // Unzipping, moving and decoding files block: off the HTTP runtime.
    let placed = tokio::task::spawn_blocking(move || {
        let image_name = upload::place_image(&image, &inputs, &limits)?;
        let mask_name = upload::place_mask(&mask, &inputs)?;
        super::case_inputs::load(&super::case_inputs::CaseFiles {
            inputs: &inputs,
            image: &image_name,
            mask: &mask_name,
            label,
            roi: roi.as_deref(),
        })
        .map_err(|e| {
            Problem::new(
                StatusCode::from_u16(e.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY),
                e.detail,
            )
        })?;
        Ok::<_, Problem>((image_name, image.sha256, mask_name, mask.sha256))
    })
    .await
    .map_err(|e| Problem::internal(format!("the upload check stopped: {e}")))??;
    let (image_name, image_sha256, mask_name, mask_sha256) = placed;
    let job = JobRecord {
        id: id.to_string(),
        owner: caller.key_id.clone(),
        model: model.name.clone(),
        model_sha256: model.sha256.clone(),
        status: Status::Queued,
        created_ms: super::time::now_ms(),
        started_ms: None,
        finished_ms: None,
        error: None,
        transaction_id: sub.transaction_id.clone(),
        case_id,
        label,
        roi: sub.roi.clone(),
        image: image_name,
        mask: mask_name,
        image_sha256,
        mask_sha256,
        attempts: 0,
    };
    match state.store.accept(staging, job.clone()) {
        Ok(()) => {}
        Err(Refusal::QueueFull { .. }) => return Err(retry_after(state)),
        Err(Refusal::Duplicate { existing }) => {
            return Err(duplicate(
                &existing,
                job.transaction_id.as_deref().unwrap_or(""),
            ));
        }
        Err(Refusal::Storage(e)) => {
            return Err(Problem::internal(format!("cannot store the job: {e}")));
        }
    }
    state.audit.record(Event {
        key_id: &caller.key_id,
        event: "submit",
        job_id: Some(&job.id),
        model_sha256: Some(&job.model_sha256),
        image_sha256: Some(&job.image_sha256),
        mask_sha256: Some(&job.mask_sha256),
        case_id_sha256: Some(pseudonym(&job.case_id)),
        outcome: "accepted",
        ..Event::default()
    });
    Ok(job)
}
