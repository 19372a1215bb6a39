//! `radial serve`: the HTTP API end to end against a child process. The
//! result of a job equals `radial predict --image --mask` on the same files
//! bit for bit; keys, roles and job visibility; a repeated transaction id;
//! a full queue; and every kind of bad input answering a 4xx problem while
//! the server keeps serving.

mod serve_support;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use ndarray::Array3;
use radial::image::{Geometry, Volume};
use serve_support::*;
use sha2::{Digest, Sha256};

/// One synthetic cohort and model for every test of this file.
fn fixture() -> &'static (PathBuf, PathBuf) {
    static FIXTURE: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve_api_fixture");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let model = build_model(&dir);
        let hash = |s: &str| radial::serve::auth::hex(&radial::serve::auth::hash_secret(s));
        std::fs::write(
            dir.join("keys.txt"),
            format!(
                "# test keys\nalice submit {}\nbob submit {}\nrita read {}\nroot admin {}\n",
                hash("s-alice"),
                hash("s-bob"),
                hash("s-rita"),
                hash("s-root")
            ),
        )
        .unwrap();
        (dir, model)
    })
}

const ALICE: Option<&str> = Some("s-alice");
const BOB: Option<&str> = Some("s-bob");
const RITA: Option<&str> = Some("s-rita");
const ROOT: Option<&str> = Some("s-root");

fn server(extra: &[&str]) -> (tempfile::TempDir, Server) {
    let (dir, model) = fixture();
    let data = tempfile::tempdir().unwrap();
    let mut args = vec![
        "--model".to_string(),
        model.display().to_string(),
        "--data".into(),
        data.path().display().to_string(),
        "--api-keys".into(),
        dir.join("keys.txt").display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = Server::start(&args, dir);
    (data, server)
}

#[test]
fn probes_models_page_and_openapi() {
    let (dir, model) = fixture();
    let (_data, server) = server(&["--workers", "1"]);
    assert_eq!(server.get("/healthz", None).status, 200);
    let ready = server.get("/readyz", None);
    assert_eq!(ready.status, 200, "{}", ready.text());
    server
        .get("/v1/models", None)
        .assert_problem(401, "Authorization");
    server
        .get("/v1/models", Some("wrong"))
        .assert_problem(401, "not hold a valid API key");
    let answer = server.get("/v1/models", RITA);
    // No cache may keep an answer, and no client may sniff its type.
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
    let models = answer.json();
    let m = &models["models"][0];
    assert_eq!(m["name"], "liver");
    let sha = radial::serve::auth::hex(&Sha256::digest(std::fs::read(model).unwrap()));
    assert_eq!(m["sha256"], sha.as_str());
    let artifact = radial::learn::ModelArtifact::load(model).unwrap();
    let features: Vec<String> = serde_json::from_value(m["features"].clone()).unwrap();
    assert_eq!(features, artifact.input_features);
    assert_eq!(m["classes"]["positive"], "1");
    assert_eq!(m["recipe"]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(m["radial_version"], radial::VERSION);

    let page = server.get("/", None);
    assert_eq!(page.status, 200);
    let html = page.text();
    for hook in [
        "name=\"image\"",
        "name=\"mask\"",
        "data-testid=\"submit\"",
        "data-testid=\"probability\"",
        "data-testid=\"class\"",
    ] {
        assert!(html.contains(hook), "page lacks {hook}");
    }
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external resource"
    );
    assert_eq!(server.get("/app.js", None).status, 200);
    let openapi = server.get("/openapi.json", None).json();
    assert!(openapi["paths"]["/v1/jobs"]["post"].is_object());
    assert!(openapi["paths"]["/v1/jobs/{id}/result"]["get"].is_object());
    let _ = dir;
}

#[test]
fn a_job_answers_exactly_what_radial_predict_prints() {
    let (dir, model) = fixture();
    let (data, server) = server(&["--workers", "2"]);
    let artifact = radial::learn::ModelArtifact::load(model).unwrap();
    for case in ["case_0002", "case_0007"] {
        let (score, probability, class) = cli_prediction(
            dir,
            model,
            &case_image(dir, case),
            &case_mask(dir, case),
            &[],
        );
        // Synchronously.
        let r = submit(
            &server,
            ALICE,
            case_form(dir, case).text("case_id", case),
            &[("Prefer", "wait=60")],
        );
        assert_eq!(r.status, 200, "{}", r.text());
        let job = r.json();
        assert_eq!(job["status"], "succeeded");
        let result = &job["result"];
        let p = &result["prediction"];
        assert_eq!(
            p["probability"].as_f64().unwrap().to_bits(),
            probability.to_bits()
        );
        assert_eq!(p["score"].as_f64().unwrap().to_bits(), score.to_bits());
        assert_eq!(p["class"], class.as_str());
        assert_eq!(result["case_id"], case);
        assert_eq!(result["model"]["name"], "liver");
        // The features in the model's order.
        let text = job_result_text(&r.body);
        let names = feature_order(&text);
        assert_eq!(names, artifact.input_features);
        let qc = &result["qc"];
        assert_eq!(qc["resampled"], true);
        assert!(qc["roi_voxels"].as_u64().unwrap() > 100);
        let image_sha = radial::serve::auth::hex(&Sha256::digest(
            std::fs::read(case_image(dir, case)).unwrap(),
        ));
        assert_eq!(result["inputs"]["image_sha256"], image_sha.as_str());

        // Asynchronously: 202, Location, then the same result.
        let r = submit(&server, ALICE, case_form(dir, case), &[]);
        assert_eq!(r.status, 202, "{}", r.text());
        let location = r.header("location").unwrap().to_string();
        let id = r.json()["id"].as_str().unwrap().to_string();
        assert_eq!(location, format!("/v1/jobs/{id}"));
        let job = wait_job(&server, ALICE, &id, Duration::from_secs(60));
        assert_eq!(job["status"], "succeeded", "{job}");
        assert!(job["started"].is_string() && job["finished"].is_string());
        let result = server.get(&format!("/v1/jobs/{id}/result"), ALICE).json();
        assert_eq!(
            result["prediction"]["probability"]
                .as_f64()
                .unwrap()
                .to_bits(),
            probability.to_bits()
        );
        let png = server.get(&format!("/v1/jobs/{id}/preview.png"), ALICE);
        assert_eq!(png.status, 200);
        assert_eq!(&png.body[1..4], b"PNG");
        // Finished: nothing to cancel.
        let r = request(&server.addr, "DELETE", &location, ALICE, &[], None);
        r.assert_problem(409, "already finished");
    }
    // The audit log records every submission without patient data.
    let audit = std::fs::read_to_string(data.path().join("audit.jsonl")).unwrap();
    assert!(audit.lines().count() >= 8, "{audit}");
    assert!(
        !audit.contains("case_0002") && !audit.contains(".nii"),
        "{audit}"
    );
    assert!(audit.contains("\"case_id_sha256\""));
}

/// The raw text of the `result` member (its member order is kept).
fn job_result_text(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body).into_owned();
    text[text.find("\"result\":").unwrap()..].to_string()
}

fn feature_order(text: &str) -> Vec<&str> {
    let start = text.find("\"features\":").unwrap() + "\"features\":".len();
    let end = start + text[start..].find('}').unwrap();
    text[start..end]
        .split(',')
        .filter_map(|kv| kv.split(':').next())
        .map(|k| k.trim().trim_start_matches('{').trim().trim_matches('"'))
        .filter(|k| !k.is_empty())
        .collect()
}

#[test]
fn keys_roles_visibility_and_transaction_ids() {
    let (dir, _) = fixture();
    let (_data, server) = server(&["--workers", "1"]);
    submit(&server, None, case_form(dir, "case_0001"), &[]).assert_problem(401, "Authorization");
    submit(&server, RITA, case_form(dir, "case_0001"), &[]).assert_problem(403, "read role");
    let r = submit(
        &server,
        ALICE,
        case_form(dir, "case_0001").text("transaction_id", "tx-42"),
        &[],
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_string();
    // Repeated transaction id: 409 pointing at the first job.
    let again = submit(
        &server,
        ALICE,
        case_form(dir, "case_0001").text("transaction_id", "tx-42"),
        &[],
    );
    again.assert_problem(409, "tx-42");
    assert_eq!(
        again.header("location"),
        Some(format!("/v1/jobs/{id}").as_str())
    );
    // Another key's transaction ids and jobs are its own.
    let r = submit(
        &server,
        BOB,
        case_form(dir, "case_0001").text("transaction_id", "tx-42"),
        &[],
    );
    assert_eq!(r.status, 202, "{}", r.text());
    for path in [format!("/v1/jobs/{id}"), format!("/v1/jobs/{id}/result")] {
        server.get(&path, BOB).assert_problem(404, "no job");
        server.get(&path, RITA).assert_problem(404, "no job");
    }
    let r = request(
        &server.addr,
        "DELETE",
        &format!("/v1/jobs/{id}"),
        BOB,
        &[],
        None,
    );
    r.assert_problem(404, "no job");
    wait_job(&server, ALICE, &id, Duration::from_secs(60));
    assert_eq!(server.get(&format!("/v1/jobs/{id}"), ROOT).status, 200);
    let listed = server.get("/v1/jobs", BOB).json();
    assert_eq!(listed["jobs"].as_array().unwrap().len(), 1);
    let listed = server.get("/v1/jobs", ROOT).json();
    assert_eq!(listed["jobs"].as_array().unwrap().len(), 2);
}

fn write_nifti_f32(path: &Path, data: Array3<f32>, spacing: [f64; 3]) {
    radial::io::nifti::write(path, &Volume::new(data, Geometry::new(spacing, [0.0; 3]))).unwrap();
}

fn zip_of(entries: &[(&str, &[u8])], method: zip::CompressionMethod) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut buf);
        let options = zip::write::SimpleFileOptions::default().compression_method(method);
        for (name, bytes) in entries {
            w.start_file(*name, options).unwrap();
            std::io::Write::write_all(&mut w, bytes).unwrap();
        }
        w.finish().unwrap();
    }
    buf.into_inner()
}

#[test]
fn bad_input_is_a_problem_naming_it_and_the_server_keeps_serving() {
    let (dir, _) = fixture();
    let (data, server) = server(&["--workers", "1", "--max-upload-mb", "2"]);
    let wait = [("Prefer", "wait=60")];
    let image = case_image(dir, "case_0003");
    let mask = case_mask(dir, "case_0003");
    let image_bytes = std::fs::read(&image).unwrap();

    // Unknown model: 404 listing the served ones.
    let r = submit(
        &server,
        ALICE,
        case_form(dir, "case_0003").text("model", "lung"),
        &[],
    );
    let p = r.assert_problem(404, "no model `lung`");
    assert_eq!(p["served"][0], "liver");
    // Missing field.
    let r = submit(
        &server,
        ALICE,
        Form::default().file_from("image", &image),
        &[],
    );
    r.assert_problem(400, "field `mask` is missing");
    // Content that is not what its name claims.
    let r = submit(
        &server,
        ALICE,
        Form::default()
            .file("image", "scan.nii.gz", b"this is not an image at all")
            .file_from("mask", &mask),
        &[],
    );
    r.assert_problem(415, "field `image`");
    // Bad cases are refused at submission (no `Prefer: wait`, no job):
    // a truncated .nii.gz, named as the `image` upload.
    let r = submit(
        &server,
        ALICE,
        Form::default()
            .file("image", "cut.nii.gz", &image_bytes[..image_bytes.len() / 2])
            .file_from("mask", &mask),
        &[],
    );
    r.assert_problem(422, "`image` upload");
    assert!(
        r.header("location").is_none(),
        "refused before a job exists"
    );
    // A mask on another grid.
    let off = dir.join("off_grid_mask.nii.gz");
    let mut small = Array3::<f32>::zeros((4, 5, 6));
    small[[2, 2, 2]] = 1.0;
    write_nifti_f32(&off, small, [1.0, 1.0, 1.0]);
    let r = submit(
        &server,
        ALICE,
        Form::default()
            .file_from("image", &image)
            .file_from("mask", &off),
        &[],
    );
    r.assert_problem(422, "geometry mismatch");
    // A label the mask does not hold.
    let r = submit(
        &server,
        ALICE,
        case_form(dir, "case_0003").text("label", "7"),
        &[],
    );
    r.assert_problem(422, "7");
    // An empty ROI (a mask of zeros on the image's grid).
    let loaded = radial::io::read_image(&image).unwrap().volume;
    let empty = dir.join("empty_mask.nii.gz");
    radial::io::nifti::write(&empty, &loaded.map(|_| 0.0f32)).unwrap();
    let r = submit(
        &server,
        ALICE,
        Form::default()
            .file_from("image", &image)
            .file_from("mask", &empty),
        &[],
    );
    r.assert_problem(422, "mask");
    // Zip-slip.
    let slip = zip_of(
        &[("../evil.dcm", &b"x"[..])],
        zip::CompressionMethod::Stored,
    );
    let r = submit(
        &server,
        ALICE,
        Form::default()
            .file("image", "series.zip", &slip)
            .file_from("mask", &mask),
        &[],
    );
    r.assert_problem(422, "zip-slip");
    let slip = zip_of(
        &[("/etc/evil.dcm", &b"x"[..])],
        zip::CompressionMethod::Stored,
    );
    let r = submit(
        &server,
        ALICE,
        Form::default()
            .file("image", "series.zip", &slip)
            .file_from("mask", &mask),
        &[],
    );
    r.assert_problem(422, "zip-slip");
    // A zip bomb: 9 MB of zeros compress to a few kB, over 4 × 2 MB.
    let zeros = vec![0u8; 9 * 1024 * 1024];
    let bomb = zip_of(
        &[("slice.dcm", zeros.as_slice())],
        zip::CompressionMethod::Deflated,
    );
    assert!(bomb.len() < 100_000);
    let r = submit(
        &server,
        ALICE,
        Form::default()
            .file("image", "series.zip", &bomb)
            .file_from("mask", &mask),
        &[],
    );
    r.assert_problem(413, "zip bomb");
    // A zip without any DICOM series.
    let none = zip_of(
        &[("notes.txt", &b"hello"[..])],
        zip::CompressionMethod::Stored,
    );
    let r = submit(
        &server,
        ALICE,
        Form::default()
            .file("image", "series.zip", &none)
            .file_from("mask", &mask),
        &[],
    );
    r.assert_problem(422, "no DICOM image series");
    // Over the upload limit.
    let big = vec![7u8; 3 * 1024 * 1024];
    let r = submit(
        &server,
        ALICE,
        Form::default()
            .file("image", "big.nii", &big)
            .file_from("mask", &mask),
        &[],
    );
    r.assert_problem(413, "--max-upload-mb");

    // Nothing half-written: no staging left, and no job for any refusal.
    let incoming: Vec<_> = std::fs::read_dir(data.path().join("incoming"))
        .unwrap()
        .collect();
    assert!(incoming.is_empty(), "{incoming:?}");
    // Still serving, and still right.
    assert_eq!(server.get("/healthz", None).status, 200);
    let r = submit(&server, ALICE, case_form(dir, "case_0003"), &wait);
    assert_eq!(r.status, 200, "{}", r.text());
    let jobs = server.get("/v1/jobs", ALICE).json();
    assert_eq!(
        jobs["jobs"].as_array().unwrap().len(),
        1,
        "only the good case became a job: {jobs}"
    );
}

#[test]
fn a_zip_of_two_series_is_refused() {
    let Some(data_dir) = common_data_dir("a_zip_of_two_series_is_refused") else {
        return;
    };
    let (dir, _) = fixture();
    let (_data, server) = server(&["--workers", "1"]);
    let series = data_dir.join("ibsi/ct_phantom/dicom/image");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&series)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    // Half of the slices get another SeriesInstanceUID.
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    for (n, path) in files.iter().enumerate() {
        let bytes = if n % 2 == 0 {
            let mut obj = dicom_object::open_file(path).unwrap();
            obj.put(dicom_core::DataElement::new(
                dicom_dictionary_std::tags::SERIES_INSTANCE_UID,
                dicom_core::VR::UI,
                dicom_core::PrimitiveValue::from("1.2.826.0.1.3680043.99.1"),
            ));
            let out = dir.join("two_series_tmp.dcm");
            obj.write_to_file(&out).unwrap();
            std::fs::read(&out).unwrap()
        } else {
            std::fs::read(path).unwrap()
        };
        entries.push((format!("s/{n:03}.dcm"), bytes));
    }
    let refs: Vec<(&str, &[u8])> = entries
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let zip = zip_of(&refs, zip::CompressionMethod::Stored);
    let r = submit(
        &server,
        ALICE,
        Form::default()
            .file("image", "two.zip", &zip)
            .file_from(
                "mask",
                &data_dir.join("ibsi/ct_phantom/dicom/mask/DCM_RS_00060.dcm"),
            )
            .text("roi", "GTV-1"),
        &[],
    );
    r.assert_problem(422, "2 DICOM image series");
}

#[test]
fn a_dicom_series_zip_with_an_rtstruct_matches_radial_predict() {
    let Some(data_dir) =
        common_data_dir("a_dicom_series_zip_with_an_rtstruct_matches_radial_predict")
    else {
        return;
    };
    let (dir, model) = fixture();
    let (_data, server) = server(&["--workers", "1"]);
    let series = data_dir.join("ibsi/ct_phantom/dicom/image");
    let rtstruct = data_dir.join("ibsi/ct_phantom/dicom/mask/DCM_RS_00060.dcm");
    let (score, probability, class) =
        cli_prediction(dir, model, &series, &rtstruct, &["--roi", "GTV-1"]);
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    for e in std::fs::read_dir(&series).unwrap() {
        let p = e.unwrap().path();
        entries.push((
            format!("PAT1/{}", p.file_name().unwrap().to_string_lossy()),
            std::fs::read(&p).unwrap(),
        ));
    }
    let refs: Vec<(&str, &[u8])> = entries
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let zip = zip_of(&refs, zip::CompressionMethod::Deflated);
    let r = submit(
        &server,
        ALICE,
        Form::default()
            .file("image", "ct.zip", &zip)
            .file_from("mask", &rtstruct)
            .text("roi", "GTV-1"),
        &[("Prefer", "wait=60")],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let p = &r.json()["result"]["prediction"];
    assert_eq!(
        p["probability"].as_f64().unwrap().to_bits(),
        probability.to_bits()
    );
    assert_eq!(p["score"].as_f64().unwrap().to_bits(), score.to_bits());
    assert_eq!(p["class"], class.as_str());
}

#[path = "common/mod.rs"]
mod common;

fn common_data_dir(test: &str) -> Option<PathBuf> {
    common::data_dir(test)
}

/// A case large enough that extracting it keeps the single worker busy for
/// a while: the whole 200×200×120 volume is the ROI.
pub fn slow_case(dir: &Path) -> (PathBuf, PathBuf) {
    let image = dir.join("slow_image.nii");
    let mask = dir.join("slow_mask.nii");
    if !image.exists() {
        let data = Array3::from_shape_fn((120, 200, 200), |(k, j, i)| {
            ((i * 7 + j * 3 + k) % 200) as f32 - 50.0
        });
        write_nifti_f32(&image, data, [0.8, 0.8, 0.8]);
        let roi = Array3::from_shape_fn((120, 200, 200), |(k, j, i)| {
            u8::from((2..118).contains(&k) && (2..198).contains(&j) && (2..198).contains(&i))
        });
        radial::io::nifti::write(&mask, &Volume::new(roi, Geometry::new([0.8; 3], [0.0; 3])))
            .unwrap();
    }
    (image, mask)
}

#[test]
fn a_full_queue_answers_429_with_retry_after() {
    let (dir, _) = fixture();
    let (slow_image, slow_mask) = slow_case(dir);
    let (_data, server) = server(&["--workers", "1", "--queue", "1"]);
    let slow = || {
        Form::default()
            .file_from("image", &slow_image)
            .file_from("mask", &slow_mask)
    };
    let first = submit(&server, ALICE, slow(), &[]);
    assert_eq!(first.status, 202, "{}", first.text());
    let first_id = first.json()["id"].as_str().unwrap().to_string();
    // Wait until the worker holds the first job, then fill the queue.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while server.get(&format!("/v1/jobs/{first_id}"), ALICE).json()["status"] != "running" {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = submit(&server, ALICE, case_form(dir, "case_0004"), &[]);
    assert_eq!(second.status, 202, "{}", second.text());
    assert_eq!(second.json()["queue_position"], 0);
    let third = submit(&server, ALICE, case_form(dir, "case_0004"), &[]);
    third.assert_problem(429, "queue is full");
    assert!(third.header("retry-after").is_some());
    // Cancelling the running job frees the worker; the queued one runs.
    let r = request(
        &server.addr,
        "DELETE",
        &format!("/v1/jobs/{first_id}"),
        ALICE,
        &[],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "cancelled");
    let second_id = second.json()["id"].as_str().unwrap().to_string();
    let job = wait_job(&server, ALICE, &second_id, Duration::from_secs(300));
    assert_eq!(job["status"], "succeeded");
    let first = server.get(&format!("/v1/jobs/{first_id}"), ALICE).json();
    assert_eq!(first["status"], "cancelled");
    server
        .get(&format!("/v1/jobs/{first_id}/result"), ALICE)
        .assert_problem(410, "cancelled");
}
