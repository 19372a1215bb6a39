//! `kill -9` of `radial serve` with one job running and others queued: the
//! restarted server finds every accepted job, reruns the interrupted one,
//! runs the queued ones, and each ends with the result `radial predict`
//! gives.

mod serve_support;

use std::path::Path;
use std::time::{Duration, Instant};

use ndarray::Array3;
use radial::image::{Geometry, Volume};
use serve_support::*;

#[test]
fn every_accepted_job_survives_kill_9() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let model = build_model(dir);
    let data = dir.join("data");
    // A slow case keeps the single worker busy while the others queue.
    let slow_image = dir.join("slow_image.nii");
    let slow_mask = dir.join("slow_mask.nii");
    let g = Geometry::new([0.8; 3], [0.0; 3]);
    let values = Array3::from_shape_fn((120, 200, 200), |(k, j, i)| {
        ((i * 7 + j * 3 + k) % 200) as f32 - 50.0
    });
    radial::io::nifti::write(&slow_image, &Volume::new(values, g)).unwrap();
    let roi = Array3::from_shape_fn((120, 200, 200), |(k, j, i)| {
        u8::from((2..118).contains(&k) && (2..198).contains(&j) && (2..198).contains(&i))
    });
    radial::io::nifti::write(&slow_mask, &Volume::new(roi, g)).unwrap();

    let args = [
        "--model",
        model.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--workers",
        "1",
    ];
    let mut server = Server::start(&args, dir);
    let slow = submit(
        &server,
        None,
        Form::default()
            .file_from("image", &slow_image)
            .file_from("mask", &slow_mask),
        &[],
    );
    assert_eq!(slow.status, 202, "{}", slow.text());
    let slow_id = slow.json()["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.get(&format!("/v1/jobs/{slow_id}"), None).json()["status"] != "running" {
        assert!(Instant::now() < deadline, "the slow job never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let cases = ["case_0001", "case_0004", "case_0008"];
    let mut ids = Vec::new();
    for case in cases {
        let r = submit(&server, None, case_form(dir, case), &[]);
        assert_eq!(r.status, 202, "{}", r.text());
        assert_eq!(r.json()["status"], "queued");
        ids.push(r.json()["id"].as_str().unwrap().to_string());
    }
    assert_eq!(
        server.get(&format!("/v1/jobs/{slow_id}"), None).json()["status"],
        "running",
        "the slow job must still run at the kill"
    );
    server.kill9();

    // Every accepted job is on disk.
    let on_disk = std::fs::read_dir(data.join("jobs")).unwrap().count();
    assert_eq!(on_disk, 4);

    let server = Server::start(&args, dir);
    let job = wait_job(&server, None, &slow_id, Duration::from_secs(600));
    assert_eq!(job["status"], "succeeded", "{job}");
    for (case, id) in cases.iter().zip(&ids) {
        let job = wait_job(&server, None, id, Duration::from_secs(120));
        assert_eq!(job["status"], "succeeded", "{job}");
        let result = server.get(&format!("/v1/jobs/{id}/result"), None).json();
        let (score, probability, _) = cli_prediction(
            dir,
            &model,
            &case_image(dir, case),
            &case_mask(dir, case),
            &[],
        );
        assert_eq!(
            result["prediction"]["probability"]
                .as_f64()
                .unwrap()
                .to_bits(),
            probability.to_bits()
        );
        assert_eq!(
            result["prediction"]["score"].as_f64().unwrap().to_bits(),
            score.to_bits()
        );
    }
    let all = server.get("/v1/jobs", None).json();
    assert_eq!(all["jobs"].as_array().unwrap().len(), 4);
    let _ = Path::new("");
}
