//! Standard output that reports failure instead of panicking.
//!
//! `println!` panics when standard output cannot be written (`> /dev/full`,
//! a reader that went away). Commands print through [`print`] / [`outln!`]
//! instead, so a failed write is an ordinary error: exit status 1 with a
//! message naming standard output, or, for a closed pipe (`radial status |
//! head -1`), a quiet exit as other Unix tools do (see `main.rs`).

use std::io::Write;

use crate::{Error, Result};

/// What errors name as the file: standard output has no path.
pub const STDOUT_NAME: &str = "standard output";

/// Writes `text` to standard output and flushes it.
pub fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::io(STDOUT_NAME, e))
}

/// `println!` that returns a [`crate::Result`] instead of panicking.
#[macro_export]
macro_rules! outln {
    () => {
        $crate::cli::out::print("\n")
    };
    ($($arg:tt)*) => {
        $crate::cli::out::print(&format!("{}\n", format_args!($($arg)*)))
    };
}

/// Whether `error` (or one of its causes) is a write to a pipe whose reader
/// has gone: the output is simply no longer wanted.
pub fn is_broken_pipe(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::BrokenPipe
        {
            return true;
        }
        if let Some(Error::Io { source, .. }) = e.downcast_ref::<Error>()
            && source.kind() == std::io::ErrorKind::BrokenPipe
        {
            return true;
        }
        current = e.source();
    }
    false
}

/// Where a command's table goes: standard output (no `--out`, or `-`) as
/// CSV, or a file whose extension (`.csv`, `.json`) chooses the format. A
/// device or a FIFO (`/dev/stdout`, a named pipe) has no extension to
/// choose by and gets CSV; it is written in place, never replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableOut<'a> {
    Stdout,
    File {
        path: &'a std::path::Path,
        json: bool,
    },
}

impl<'a> TableOut<'a> {
    pub fn choose(out: Option<&'a std::path::Path>) -> Result<TableOut<'a>> {
        let Some(path) = out.filter(|p| p.as_os_str() != "-") else {
            return Ok(TableOut::Stdout);
        };
        let name = path.to_string_lossy().to_ascii_lowercase();
        let stream = std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir());
        if name.ends_with(".json") {
            Ok(TableOut::File { path, json: true })
        } else if name.ends_with(".csv") || stream {
            Ok(TableOut::File { path, json: false })
        } else {
            Err(Error::setting(
                "--out",
                format!(
                    "{}: expected a .csv or .json file name (or `-`, a device or a FIFO for CSV)",
                    path.display()
                ),
            ))
        }
    }

    pub fn json(&self) -> bool {
        matches!(self, TableOut::File { json: true, .. })
    }

    /// Writes `text`: to standard output, or atomically to the file.
    pub fn write(&self, text: &str) -> Result<()> {
        match self {
            TableOut::Stdout => print(text),
            TableOut::File { path, .. } => crate::io::atomic::write_bytes(path, text.as_bytes()),
        }
    }
}
