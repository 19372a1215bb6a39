//! PyRadiomics' batch CSV: a header with `Image` and `Mask` (required) and
//! `Label` (optional); every other column is carried through to the output
//! row. Paths are relative to the CSV's folder.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// One case of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchCase {
    /// 1-based line in the CSV (for messages).
    pub line: usize,
    pub image: PathBuf,
    pub mask: PathBuf,
    pub label: Option<i64>,
    /// The CSV's columns of this case, in file order.
    pub columns: Vec<(String, String)>,
}

/// Splits one CSV line (quoted fields may hold commas and doubled quotes).
pub fn split_line(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// Quotes a field when CSV needs it.
pub fn quote(field: &str) -> String {
    if field.contains([',', '"', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// Reads a batch file; errors name the file and line.
pub fn read(path: &Path) -> Result<Vec<BatchCase>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Err(Error::format(
            path,
            "empty batch file (expected a header with Image and Mask)",
        ));
    };
    let header = split_line(header.trim_start_matches('\u{feff}'));
    let column = |name: &str| header.iter().position(|h| h == name);
    let (Some(image), Some(mask)) = (column("Image"), column("Mask")) else {
        return Err(Error::format(
            path,
            format!("the header must have columns Image and Mask; found {header:?}"),
        ));
    };
    let label = column("Label");
    let mut cases = Vec::new();
    for (n, line) in lines {
        let fields = split_line(line);
        let line_no = n + 1;
        if fields.len() != header.len() {
            return Err(Error::format(
                path,
                format!(
                    "line {line_no}: {} fields, the header has {}",
                    fields.len(),
                    header.len()
                ),
            ));
        }
        let label = match label.map(|i| fields[i].trim()) {
            None | Some("") => None,
            Some(text) => Some(text.parse::<i64>().map_err(|_| {
                Error::format(
                    path,
                    format!("line {line_no}: Label {text:?} is not an integer"),
                )
            })?),
        };
        cases.push(BatchCase {
            line: line_no,
            image: base.join(fields[image].trim()),
            mask: base.join(fields[mask].trim()),
            label,
            columns: header.iter().cloned().zip(fields).collect(),
        });
    }
    Ok(cases)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_keep_their_commas() {
        assert_eq!(
            split_line("a,\"b, c\",\"d\"\"e\""),
            vec!["a", "b, c", "d\"e"]
        );
        assert_eq!(quote("x, y"), "\"x, y\"");
    }

    #[test]
    fn batch_columns_are_read_and_paths_resolved() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("cases.csv");
        std::fs::write(
            &csv,
            "ID,Image,Mask,Label\np1,img.nrrd,m.nrrd,2\np2,/abs/i.nrrd,m2.nrrd,\n",
        )
        .unwrap();
        let cases = read(&csv).unwrap();
        assert_eq!(cases.len(), 2);
        assert_eq!(cases[0].image, dir.path().join("img.nrrd"));
        assert_eq!(cases[0].label, Some(2));
        assert_eq!(cases[1].image, PathBuf::from("/abs/i.nrrd"));
        assert_eq!(cases[1].label, None);
        assert_eq!(cases[0].columns[0], ("ID".to_string(), "p1".to_string()));
    }

    #[test]
    fn missing_columns_and_bad_labels_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("cases.csv");
        std::fs::write(&csv, "Img,Mask\na,b\n").unwrap();
        assert!(
            read(&csv)
                .unwrap_err()
                .to_string()
                .contains("Image and Mask")
        );
        std::fs::write(&csv, "Image,Mask,Label\na,b,one\n").unwrap();
        let e = read(&csv).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("\"one\""), "{e}");
    }
}
