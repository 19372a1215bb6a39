//! Helpers for the `radial serve` tests: a model trained on a synthetic
//! cohort (as tests/predict_images.rs does), the server as a child process
//! on 127.0.0.1:0, and a minimal HTTP/1.1 client with multipart bodies.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub fn radial_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_radial"))
}

pub fn radial(args: &[&str], dir: &Path) -> Output {
    Command::new(radial_bin())
        .args(args)
        .current_dir(dir)
        .output()
        .expect("radial runs")
}

pub fn stdout_of(args: &[&str], dir: &Path) -> String {
    let out = radial(args, dir);
    assert!(
        out.status.success(),
        "radial {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

const SETTINGS: &str = "\
interpolation: {spacing: [1.5, 1.5, 1.5], image: linear, mask: linear, round_intensities: true}
resegmentation: {range: [-100, 250]}
families: [statistics]
";

const PROTOCOL: &str = "\
repeats: 1
folds: 3
standardise: true
selection:
  - univariate: {k: 3}
classifier: {kind: logistic}
";

/// Synthesises 12 cases under `dir/cases`, extracts them and trains
/// `dir/out/liver.model.json` with the settings recorded.
pub fn build_model(dir: &Path) -> PathBuf {
    stdout_of(&["synth", "--cases", "12", "--out", "cases"], dir);
    std::fs::write(dir.join("settings.yaml"), SETTINGS).unwrap();
    std::fs::write(dir.join("protocol.yaml"), PROTOCOL).unwrap();
    let manifest = std::fs::read_to_string(dir.join("cases/manifest.csv")).unwrap();
    let mut table = String::new();
    for line in manifest.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (case, image, mask, phenotype) = (f[0], f[1], f[2], f[4]);
        let row = stdout_of(
            &[
                "extract",
                "--image",
                &format!("cases/{image}"),
                "--mask",
                &format!("cases/{mask}"),
                "--settings",
                "settings.yaml",
                "--case-id",
                case,
            ],
            dir,
        );
        let mut lines = row.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let values: Vec<&str> = lines.next().unwrap().split(',').collect();
        let keep: Vec<usize> = (0..header.len())
            .filter(|&c| c == 0 || header[c].starts_with("stat_"))
            .collect();
        if table.is_empty() {
            let names: Vec<&str> = keep.iter().map(|&c| header[c]).collect();
            table += &format!("{},phenotype\n", names.join(","));
        }
        let cells: Vec<&str> = keep.iter().map(|&c| values[c]).collect();
        table += &format!("{},{phenotype}\n", cells.join(","));
    }
    std::fs::write(dir.join("table.csv"), table).unwrap();
    stdout_of(
        &[
            "evaluate",
            "--table",
            "table.csv",
            "--label-column",
            "phenotype",
            "--positive",
            "1",
            "--protocol",
            "protocol.yaml",
            "--out",
            "out",
            "--id",
            "liver",
            "--extraction-settings",
            "settings.yaml",
        ],
        dir,
    );
    dir.join("out/liver.model.json")
}

pub fn case_image(dir: &Path, case: &str) -> PathBuf {
    dir.join(format!("cases/images/{case}.nii.gz"))
}

pub fn case_mask(dir: &Path, case: &str) -> PathBuf {
    dir.join(format!("cases/masks/{case}.nii.gz"))
}

/// `(score, probability, class)` printed by `radial predict --image --mask`.
pub fn cli_prediction(
    dir: &Path,
    model: &Path,
    image: &Path,
    mask: &Path,
    extra: &[&str],
) -> (f64, f64, String) {
    let mut args = vec![
        "predict".to_string(),
        model.display().to_string(),
        "--image".into(),
        image.display().to_string(),
        "--mask".into(),
        mask.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let text = stdout_of(&args, dir);
    let row = text.lines().nth(1).expect("one row");
    let f: Vec<&str> = row.split(',').collect();
    (
        f[1].parse().unwrap(),
        f[2].parse().unwrap(),
        f[3].to_string(),
    )
}

/// A running `radial serve` child, killed on drop.
pub struct Server {
    pub child: Child,
    pub addr: String,
    pub log: mpsc::Receiver<String>,
}

impl Server {
    /// Starts `radial serve ARGS --listen 127.0.0.1:0` and waits for its
    /// "listening on" line.
    pub fn start(args: &[&str], dir: &Path) -> Server {
        let mut child = Command::new(radial_bin())
            .arg("serve")
            .args(args)
            .args(["--listen", "127.0.0.1:0"])
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("radial serve starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(addr) = line.split("listening on http://").nth(1) {
                        return Server {
                            child,
                            addr: addr.trim().to_string(),
                            log: rx,
                        };
                    }
                    seen.push(line);
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("radial serve did not start: {}", seen.join("\n"));
                }
            }
        }
    }

    pub fn get(&self, path: &str, key: Option<&str>) -> Response {
        request(&self.addr, "GET", path, key, &[], None)
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts a problem+json answer with this status whose detail contains `needle`.
    pub fn assert_problem(&self, status: u16, needle: &str) -> serde_json::Value {
        assert_eq!(self.status, status, "{}", self.text());
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{}",
            self.text()
        );
        let p = self.json();
        let detail = p["detail"].as_str().unwrap_or("");
        assert!(detail.contains(needle), "`{needle}` not in `{detail}`");
        p
    }
}

/// One HTTP/1.1 request (Connection: close), body read to the end.
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    key: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<(&str, &[u8])>,
) -> Response {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(k) = key {
        head += &format!("Authorization: Bearer {k}\r\n");
    }
    for (n, v) in headers {
        head += &format!("{n}: {v}\r\n");
    }
    let (ctype, bytes) = body.unwrap_or(("", &[]));
    if body.is_some() {
        head += &format!(
            "Content-Type: {ctype}\r\nContent-Length: {}\r\n",
            bytes.len()
        );
    }
    head += "\r\n";
    stream.write_all(head.as_bytes()).unwrap();
    // The server may answer (413) and close before reading the whole body.
    let _ = stream.write_all(bytes);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Response {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&data[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[eol + 2..eol + 2 + size]);
        data = &data[eol + 4 + size..];
    }
}

/// A multipart/form-data body.
pub struct Form {
    boundary: String,
    body: Vec<u8>,
}

impl Default for Form {
    fn default() -> Self {
        Form {
            boundary: "radial-test-boundary-7d1c".into(),
            body: Vec::new(),
        }
    }
}

impl Form {
    pub fn text(mut self, name: &str, value: &str) -> Self {
        self.body.extend_from_slice(
            format!(
                "--{}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n",
                self.boundary
            )
            .as_bytes(),
        );
        self
    }

    pub fn file(mut self, name: &str, filename: &str, bytes: &[u8]) -> Self {
        self.body.extend_from_slice(
            format!(
                "--{}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n",
                self.boundary
            )
            .as_bytes(),
        );
        self.body.extend_from_slice(bytes);
        self.body.extend_from_slice(b"\r\n");
        self
    }

    pub fn file_from(self, name: &str, path: &Path) -> Self {
        let filename = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(path).unwrap();
        self.file(name, &filename, &bytes)
    }

    pub fn finish(mut self) -> (String, Vec<u8>) {
        self.body
            .extend_from_slice(format!("--{}--\r\n", self.boundary).as_bytes());
        (
            format!("multipart/form-data; boundary={}", self.boundary),
            self.body,
        )
    }
}

/// POSTs a form to /v1/jobs.
pub fn submit(
    server: &Server,
    key: Option<&str>,
    form: Form,
    headers: &[(&str, &str)],
) -> Response {
    let (ctype, body) = form.finish();
    request(
        &server.addr,
        "POST",
        "/v1/jobs",
        key,
        headers,
        Some((&ctype, &body)),
    )
}

/// The form of one synthetic case.
pub fn case_form(dir: &Path, case: &str) -> Form {
    Form::default()
        .file_from("image", &case_image(dir, case))
        .file_from("mask", &case_mask(dir, case))
}

/// Polls a job until it is finished; returns its final view.
pub fn wait_job(
    server: &Server,
    key: Option<&str>,
    id: &str,
    limit: Duration,
) -> serde_json::Value {
    let deadline = Instant::now() + limit;
    loop {
        let r = server.get(&format!("/v1/jobs/{id}"), key);
        assert_eq!(r.status, 200, "{}", r.text());
        let job = r.json();
        let status = job["status"].as_str().unwrap().to_string();
        if ["succeeded", "failed", "cancelled"].contains(&status.as_str()) {
            return job;
        }
        assert!(Instant::now() < deadline, "job {id} still {status}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
