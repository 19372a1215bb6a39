//! The append-only audit log `DATA/audit.jsonl`: one JSON object per line
//! (time, key id, event, job id, model hash, input hashes, outcome). It
//! never holds patient data in clear: file names, case ids and DICOM UIDs
//! are written as SHA-256 hashes, images only by content hash.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;

use crate::{Error, Result};

pub struct AuditLog {
    path: PathBuf,
    file: Mutex<File>,
}

/// One audit event; optional fields are omitted when unknown.
#[derive(Debug, Default, Serialize)]
pub struct Event<'a> {
    pub time: String,
    pub key_id: &'a str,
    pub event: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_sha256: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_sha256: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mask_sha256: Option<&'a str>,
    /// Hash of the submitted case id (never the id itself).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_id_sha256: Option<String>,
    pub outcome: &'a str,
}

/// SHA-256 hex of an identifier that must not appear in clear.
pub fn pseudonym(text: &str) -> String {
    crate::pipeline::hash::sha256_hex(text.as_bytes())
}

impl AuditLog {
    pub fn open(path: &Path) -> Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        Ok(AuditLog {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        })
    }

    /// Appends one line (a single write, flushed to disk).
    pub fn record(&self, mut event: Event) {
        event.time = super::time::rfc3339(super::time::now_ms());
        let mut line = serde_json::to_vec(&event).unwrap_or_default();
        line.push(b'\n');
        let file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        let outcome = (&*file).write_all(&line).and_then(|()| file.sync_data());
        if let Err(e) = outcome {
            eprintln!(
                "radial serve: cannot append to {}: {e}",
                self.path.display()
            );
        }
    }
}
