//! The error type of the library. Every variant names the file, case or setting
//! involved, because a radiomics study has hundreds of files and "invalid data"
//! alone is useless to the person who has to fix one of them.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The operating system refused to read or write a file.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file was read but its content is not what its format requires.
    #[error("{}: {message}", path.display())]
    Format { path: PathBuf, message: String },
    /// Image and mask (or two volumes that must share a grid) disagree.
    #[error("geometry mismatch between {} and {}: {details}", first.display(), second.display())]
    GeometryMismatch {
        first: PathBuf,
        second: PathBuf,
        details: String,
    },
    /// A setting has a value the computation cannot use.
    #[error("setting `{setting}`: {message}")]
    Setting { setting: String, message: String },
    /// The data are valid but the requested computation cannot be done on them
    /// (an empty region of interest, a single class, ...).
    #[error("{0}")]
    Data(String),
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub fn format(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Format {
            path: path.into(),
            message: message.into(),
        }
    }

    pub fn setting(setting: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Setting {
            setting: setting.into(),
            message: message.into(),
        }
    }

    pub fn data(message: impl Into<String>) -> Self {
        Error::Data(message.into())
    }
}

/// The message of a YAML error without the position saphyr repeats in it
/// (`error: line 3 column 9: ...`) and the source snippet it renders after:
/// callers put the position first, once.
pub fn yaml_message(text: &str) -> String {
    let line = text.lines().next().unwrap_or("");
    let line = line.strip_prefix("error: ").unwrap_or(line);
    match line
        .strip_prefix("line ")
        .and_then(|rest| rest.split_once(": "))
    {
        Some((position, message)) if position.contains(" column ") => message.to_string(),
        _ => line.to_string(),
    }
}

/// A list for an error message: its items joined by commas, or `none`.
pub fn none_or_joined<S: AsRef<str>>(items: &[S]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items
            .iter()
            .map(AsRef::as_ref)
            .collect::<Vec<_>>()
            .join(", ")
    }
}
