//! NRRD (`.nrrd`, and `.nhdr` with a detached data file): a small, strict
//! reader of 3D scalar images.
//!
//! Supported: encodings `raw` and `gzip`/`gz`; the integer types of 8 to 64
//! bits, `float` and `double` under all their NRRD spellings; `endian`;
//! `space directions` + `space origin` in an LPS, RAS or LAS `space`
//! (converted to LPS), or plain `spacings`; `byte skip` (`-1` for raw data
//! means "the data are the last bytes of the file"). Anything else that would
//! change how the bytes are read (another encoding, `line skip`, a list of
//! data files, a non-spatial axis) is refused with an error naming the field,
//! rather than read wrongly.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use ndarray::Array3;

use super::LoadedImage;
use crate::image::precision::normalise_spacing;
use crate::image::{Geometry, Volume};
use crate::{Error, Result};

/// Reads a 3D NRRD image; intensities are converted to `f32`.
pub fn read(path: &Path) -> Result<LoadedImage> {
    let raw = read_raw(path)?;
    let [nx, ny, nz] = raw.sizes;
    let mut voxels = Vec::with_capacity(nx * ny * nz);
    extend_f32(raw.voxel_bytes(), raw.scalar, raw.big_endian, &mut voxels);
    let data = Array3::from_shape_vec((nz, ny, nx), voxels)
        .map_err(|e| Error::format(path, format!("unexpected voxel layout: {e}")))?;
    Ok(LoadedImage {
        volume: Volume::new(data, raw.geometry),
        datatype: raw.scalar.name().to_string(),
        path: path.to_path_buf(),
    })
}

/// The stored voxels of a NRRD file before conversion to `f32`.
struct RawVoxels {
    /// Grid size (x, y, z).
    pub sizes: [usize; 3],
    pub geometry: Geometry,
    scalar: Scalar,
    big_endian: bool,
    /// The decoded bytes; the voxels are `bytes[start..start + n · size]`.
    bytes: Vec<u8>,
    start: usize,
}

impl RawVoxels {
    fn voxel_bytes(&self) -> &[u8] {
        let n: usize = self.sizes.iter().product();
        &self.bytes[self.start..self.start + n * self.scalar.size()]
    }
}

/// Reads and decodes a NRRD file without converting its voxels.
fn read_raw(path: &Path) -> Result<RawVoxels> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let fail = |message: String| Error::format(path, message);
    let (fields, data_start) = parse_header(&bytes).map_err(fail)?;
    let header = Header::from_fields(&fields).map_err(fail)?;
    let (data_path, stored, offset) = match &header.data_file {
        None => (path.to_path_buf(), bytes, data_start),
        Some(name) => {
            let p = detached_path(path, name);
            let detached = std::fs::read(&p).map_err(|e| Error::io(&p, e))?;
            (p, detached, 0)
        }
    };
    let (bytes, start) = header
        .decode(stored, offset)
        .map_err(|m| Error::format(&data_path, m))?;
    Ok(RawVoxels {
        sizes: header.sizes,
        geometry: header.geometry,
        scalar: header.scalar,
        big_endian: header.big_endian,
        bytes,
        start,
    })
}

/// A detached data file is relative to the header's directory.
fn detached_path(header_path: &Path, name: &str) -> PathBuf {
    let p = Path::new(name);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        header_path
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join(p)
    }
}

/// Header fields by name (aliases normalised) and the offset of the first
/// data byte (the file length for a detached header without a blank line).
fn parse_header(bytes: &[u8]) -> std::result::Result<(BTreeMap<String, String>, usize), String> {
    if !bytes.starts_with(b"NRRD000") {
        let shown: String = bytes
            .iter()
            .take(8)
            .map(|&b| if b.is_ascii_graphic() { b as char } else { '.' })
            .collect();
        return Err(format!(
            "not a NRRD file: it starts with {shown:?}, not the magic \"NRRD000x\""
        ));
    }
    let mut fields = BTreeMap::new();
    let mut pos = 0;
    let mut first = true;
    while pos < bytes.len() {
        let end = bytes[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |e| pos + e);
        let line = std::str::from_utf8(&bytes[pos..end])
            .map_err(|_| "the header contains non-text bytes before its blank line".to_string())?
            .trim_end_matches('\r');
        pos = (end + 1).min(bytes.len());
        if first {
            first = false;
            continue;
        }
        if line.is_empty() {
            return Ok((fields, pos));
        }
        if line.starts_with('#') || line.contains(":=") {
            continue; // comments and key/value pairs carry no layout information
        }
        let Some((key, value)) = line.split_once(": ") else {
            return Err(format!("malformed header line {line:?}"));
        };
        let key = normalise_key(key.trim());
        if fields
            .insert(key.clone(), value.trim().to_string())
            .is_some()
        {
            return Err(format!("the field `{key}` appears twice"));
        }
    }
    Ok((fields, bytes.len()))
}

fn normalise_key(key: &str) -> String {
    match key {
        "byteskip" => "byte skip",
        "lineskip" => "line skip",
        "datafile" => "data file",
        "centerings" => "centers",
        other => other,
    }
    .to_string()
}

/// The scalar types NRRD can store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scalar {
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    F32,
    F64,
}

impl Scalar {
    fn parse(name: &str) -> Option<Scalar> {
        Some(match name {
            "signed char" | "int8" | "int8_t" => Scalar::I8,
            "uchar" | "unsigned char" | "uint8" | "uint8_t" => Scalar::U8,
            "short" | "short int" | "signed short" | "signed short int" | "int16" | "int16_t" => {
                Scalar::I16
            }
            "ushort" | "unsigned short" | "unsigned short int" | "uint16" | "uint16_t" => {
                Scalar::U16
            }
            "int" | "signed int" | "int32" | "int32_t" => Scalar::I32,
            "uint" | "unsigned int" | "uint32" | "uint32_t" => Scalar::U32,
            "longlong"
            | "long long"
            | "long long int"
            | "signed long long"
            | "signed long long int"
            | "int64"
            | "int64_t" => Scalar::I64,
            "ulonglong"
            | "unsigned long long"
            | "unsigned long long int"
            | "uint64"
            | "uint64_t" => Scalar::U64,
            "float" => Scalar::F32,
            "double" => Scalar::F64,
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            Scalar::I8 | Scalar::U8 => 1,
            Scalar::I16 | Scalar::U16 => 2,
            Scalar::I32 | Scalar::U32 | Scalar::F32 => 4,
            Scalar::I64 | Scalar::U64 | Scalar::F64 => 8,
        }
    }

    /// The name used across radial (as for NIfTI).
    fn name(self) -> &'static str {
        match self {
            Scalar::I8 => "int8",
            Scalar::U8 => "uint8",
            Scalar::I16 => "int16",
            Scalar::U16 => "uint16",
            Scalar::I32 => "int32",
            Scalar::U32 => "uint32",
            Scalar::I64 => "int64",
            Scalar::U64 => "uint64",
            Scalar::F32 => "float32",
            Scalar::F64 => "float64",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Raw,
    Gzip,
}

/// What the header says about the layout of the data and the grid.
#[derive(Debug)]
struct Header {
    scalar: Scalar,
    sizes: [usize; 3],
    big_endian: bool,
    encoding: Encoding,
    byte_skip: i64,
    data_file: Option<String>,
    geometry: Geometry,
}

type Fields = BTreeMap<String, String>;

fn required<'a>(fields: &'a Fields, key: &str) -> std::result::Result<&'a str, String> {
    fields
        .get(key)
        .map(String::as_str)
        .ok_or_else(|| format!("the required field `{key}` is missing"))
}

impl Header {
    fn from_fields(fields: &Fields) -> std::result::Result<Header, String> {
        let type_name = required(fields, "type")?;
        let scalar =
            Scalar::parse(type_name).ok_or_else(|| format!("unsupported `type: {type_name}`"))?;
        let dimension = required(fields, "dimension")?;
        if dimension != "3" {
            return Err(format!(
                "`dimension: {dimension}`: radial reads 3D scalar volumes only"
            ));
        }
        let sizes = parse_sizes(required(fields, "sizes")?)?;
        let fits = sizes
            .iter()
            .try_fold(scalar.size(), |acc, &n| acc.checked_mul(n))
            .is_some_and(|bytes| bytes <= isize::MAX as usize);
        if !fits {
            return Err(format!(
                "`sizes: {} {} {}` describe more data than can be addressed",
                sizes[0], sizes[1], sizes[2]
            ));
        }
        let encoding = match required(fields, "encoding")? {
            "raw" => Encoding::Raw,
            "gzip" | "gz" => Encoding::Gzip,
            other => {
                return Err(format!(
                    "unsupported `encoding: {other}` (radial reads raw and gzip)"
                ));
            }
        };
        let big_endian = match fields.get("endian").map(String::as_str) {
            Some("little") => false,
            Some("big") => true,
            Some(other) => return Err(format!("invalid `endian: {other}`")),
            None if scalar.size() == 1 => false,
            None => {
                return Err(format!(
                    "the field `endian` is required for the {}-byte type `{type_name}`",
                    scalar.size()
                ));
            }
        };
        let byte_skip = match fields.get("byte skip") {
            None => 0,
            Some(v) => v
                .parse::<i64>()
                .map_err(|_| format!("invalid `byte skip: {v}`"))?,
        };
        if byte_skip < -1 || (byte_skip == -1 && encoding != Encoding::Raw) {
            return Err(format!(
                "`byte skip: {byte_skip}` is not supported with {encoding:?} encoding"
            ));
        }
        if let Some(v) = fields.get("line skip").filter(|v| v.as_str() != "0") {
            return Err(format!("`line skip: {v}` is not supported"));
        }
        if let Some(kinds) = fields.get("kinds") {
            let kinds: Vec<&str> = kinds.split_whitespace().collect();
            if kinds.len() != 3 || kinds.iter().any(|k| !matches!(*k, "domain" | "space")) {
                return Err(format!(
                    "`kinds: {}`: radial reads 3 spatial axes (domain or space) only",
                    kinds.join(" ")
                ));
            }
        }
        let data_file = match fields.get("data file") {
            None => None,
            Some(v) if v.starts_with("LIST") || v.split_whitespace().count() > 1 => {
                return Err(format!(
                    "`data file: {v}`: only a single detached data file is supported"
                ));
            }
            Some(v) => Some(v.clone()),
        };
        Ok(Header {
            scalar,
            sizes,
            big_endian,
            encoding,
            byte_skip,
            data_file,
            geometry: parse_geometry(fields)?,
        })
    }

    fn expected_bytes(&self) -> usize {
        self.sizes.iter().product::<usize>() * self.scalar.size()
    }

    /// The decoded bytes (`stored[offset..]` unpacked) and where the voxels
    /// start in them, checking that their amount matches `sizes` × type.
    fn decode(
        &self,
        stored: Vec<u8>,
        offset: usize,
    ) -> std::result::Result<(Vec<u8>, usize), String> {
        let expected = self.expected_bytes();
        let (bytes, base, what) = match self.encoding {
            Encoding::Raw => (stored, offset, "raw data"),
            Encoding::Gzip => {
                // Deflate cannot expand more than ~1032:1, so a header
                // claiming more is not trusted with the allocation.
                let packed = &stored[offset..];
                let hint = (expected.saturating_add(self.byte_skip as usize))
                    .min(packed.len().saturating_mul(1032));
                (gunzip(packed, hint)?, 0, "decompressed data")
            }
        };
        let len = bytes.len() - base;
        let start = if self.byte_skip == -1 {
            if len < expected {
                return Err(size_mismatch(self, what, len));
            }
            bytes.len() - expected
        } else {
            let skip = self.byte_skip as usize;
            if skip > len {
                return Err(format!(
                    "`byte skip: {skip}` is larger than the {what} ({len} bytes)"
                ));
            }
            if len != skip.saturating_add(expected) {
                return Err(size_mismatch(self, what, len.saturating_sub(skip)));
            }
            base + skip
        };
        Ok((bytes, start))
    }
}

fn size_mismatch(h: &Header, what: &str, found: usize) -> String {
    format!(
        "{what} has {found} bytes but `sizes: {} {} {}` of type {} need {}",
        h.sizes[0],
        h.sizes[1],
        h.sizes[2],
        h.scalar.name(),
        h.expected_bytes()
    )
}

fn gunzip(stored: &[u8], capacity: usize) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(capacity);
    flate2::read::MultiGzDecoder::new(stored)
        .read_to_end(&mut out)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => {
                "the gzip data are truncated (unexpected end of the compressed stream)".to_string()
            }
            _ => format!("cannot decompress the gzip data: {e}"),
        })?;
    Ok(out)
}

fn parse_sizes(value: &str) -> std::result::Result<[usize; 3], String> {
    let sizes: Vec<usize> = value
        .split_whitespace()
        .map(|s| s.parse::<usize>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| format!("invalid `sizes: {value}`"))?;
    match sizes[..] {
        [x, y, z] if x > 0 && y > 0 && z > 0 => Ok([x, y, z]),
        _ => Err(format!("`sizes: {value}` must be three positive integers")),
    }
}

/// Parses `(a,b,c)`.
fn parse_vector(text: &str) -> Option<[f64; 3]> {
    let inner = text.trim().strip_prefix('(')?.strip_suffix(')')?;
    let v: Vec<f64> = inner
        .split(',')
        .map(|s| s.trim().parse::<f64>())
        .collect::<std::result::Result<_, _>>()
        .ok()?;
    match v[..] {
        [a, b, c] if v.iter().all(|x| x.is_finite()) => Some([a, b, c]),
        _ => None,
    }
}

/// Sign of each coordinate when going from the file's space to LPS.
fn space_to_lps(space: &str) -> Option<[f64; 3]> {
    match space {
        "left-posterior-superior" | "LPS" => Some([1.0, 1.0, 1.0]),
        "right-anterior-superior" | "RAS" => Some([-1.0, -1.0, 1.0]),
        "left-anterior-superior" | "LAS" => Some([1.0, -1.0, 1.0]),
        _ => None,
    }
}

fn parse_geometry(fields: &Fields) -> std::result::Result<Geometry, String> {
    let Some(dirs) = fields.get("space directions") else {
        if fields.contains_key("space origin") {
            return Err("`space origin` without `space directions`".to_string());
        }
        let spacing = match fields.get("spacings") {
            None => [1.0; 3],
            Some(v) => {
                // Every word must be a number: a stray word is an error,
                // not a silently shorter list.
                let s: Vec<f64> = v
                    .split_whitespace()
                    .map(|x| x.parse().unwrap_or(f64::NAN))
                    .collect();
                match s[..] {
                    [a, b, c] if s.iter().all(|x| x.is_finite() && *x > 0.0) => [a, b, c],
                    _ => return Err(format!("invalid `spacings: {v}`")),
                }
            }
        };
        return Ok(Geometry::new(spacing.map(normalise_spacing), [0.0; 3]));
    };
    let space = fields.get("space").ok_or(
        "`space directions` without `space`: cannot tell whether coordinates are LPS or RAS",
    )?;
    let sign = space_to_lps(space).ok_or_else(|| {
        format!("unsupported `space: {space}` (expected left-posterior-superior or right-anterior-superior)")
    })?;
    let vectors: Vec<&str> = dirs.split_whitespace().collect();
    if vectors.len() != 3 {
        return Err(format!(
            "`space directions: {dirs}` must give three vectors (a space without spaces inside)"
        ));
    }
    let mut spacing = [0.0; 3];
    let mut direction = [[0.0; 3]; 3];
    for (a, text) in vectors.iter().enumerate() {
        let v = parse_vector(text)
            .ok_or_else(|| format!("invalid vector {text:?} in `space directions`"))?;
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if !(norm.is_finite() && norm > 0.0) {
            return Err(format!(
                "zero or invalid vector {text:?} in `space directions`"
            ));
        }
        spacing[a] = normalise_spacing(norm);
        for c in 0..3 {
            direction[a][c] = sign[c] * v[c] / norm;
        }
    }
    let origin = match fields.get("space origin") {
        None => [0.0; 3],
        Some(text) => {
            let o = parse_vector(text).ok_or_else(|| format!("invalid `space origin: {text}`"))?;
            [sign[0] * o[0], sign[1] * o[1], sign[2] * o[2]]
        }
    };
    Ok(Geometry {
        spacing,
        origin,
        direction,
    })
}

fn extend_f32(bytes: &[u8], scalar: Scalar, big_endian: bool, out: &mut Vec<f32>) {
    match scalar {
        Scalar::I8 => out.extend(bytes.iter().map(|&b| b as i8 as f32)),
        Scalar::U8 => out.extend(bytes.iter().map(|&b| b as f32)),
        Scalar::I16 => convert(bytes, big_endian, out, |b| i16::from_le_bytes(b) as f32),
        Scalar::U16 => convert(bytes, big_endian, out, |b| u16::from_le_bytes(b) as f32),
        Scalar::I32 => convert(bytes, big_endian, out, |b| i32::from_le_bytes(b) as f32),
        Scalar::U32 => convert(bytes, big_endian, out, |b| u32::from_le_bytes(b) as f32),
        Scalar::I64 => convert(bytes, big_endian, out, |b| i64::from_le_bytes(b) as f32),
        Scalar::U64 => convert(bytes, big_endian, out, |b| u64::from_le_bytes(b) as f32),
        Scalar::F32 => convert(bytes, big_endian, out, f32::from_le_bytes),
        Scalar::F64 => convert(bytes, big_endian, out, |b| f64::from_le_bytes(b) as f32),
    }
}

/// Applies a little-endian conversion to each `N`-byte element, reversing
/// the bytes first for big-endian data.
fn convert<const N: usize>(
    bytes: &[u8],
    big_endian: bool,
    out: &mut Vec<f32>,
    f: impl Fn([u8; N]) -> f32,
) {
    out.extend(bytes.chunks_exact(N).map(|c| {
        let mut a: [u8; N] = c.try_into().expect("chunks_exact yields N bytes");
        if big_endian {
            a.reverse();
        }
        f(a)
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn header(extra: &str) -> String {
        format!("NRRD0004\n# comment\ntype: short\ndimension: 3\nsizes: 2 3 4\n{extra}")
    }

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn values_le(n: usize) -> Vec<u8> {
        (0..n as i16).flat_map(|v| (v - 5).to_le_bytes()).collect()
    }

    #[test]
    fn raw_little_endian_with_ras_space_becomes_lps() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = header(
            "endian: little\nencoding: raw\nspace: right-anterior-superior\n\
             space directions: (0,2,0) (-1.5,0,0) (0,0,3)\nspace origin: (10,20,30)\nkinds: domain domain domain\n\n",
        )
        .into_bytes();
        bytes.extend(values_le(24));
        let img = read(&write(dir.path(), "a.nrrd", &bytes)).unwrap();
        assert_eq!(img.datatype, "int16");
        assert_eq!(img.volume.dims(), [2, 3, 4]);
        assert_eq!(img.volume.data[[0, 0, 1]], -4.0);
        assert_eq!(img.volume.data[[3, 2, 1]], 18.0);
        let g = img.volume.geometry;
        assert_eq!(g.spacing, [2.0, 1.5, 3.0]);
        assert_eq!(g.origin, [-10.0, -20.0, 30.0]);
        assert_eq!(
            g.direction,
            [[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
        );
    }

    #[test]
    fn big_endian_double_and_byte_skip_minus_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = b"NRRD0005\ntype: double\ndimension: 3\nsizes: 1 1 2\nendian: big\nencoding: raw\nbyte skip: -1\nspacings: 1 2 3\n\n".to_vec();
        bytes.extend([0xAA; 7]); // junk before the data
        bytes.extend(1.25f64.to_be_bytes());
        bytes.extend((-7.5f64).to_be_bytes());
        let img = read(&write(dir.path(), "b.nrrd", &bytes)).unwrap();
        assert_eq!(
            img.volume.data.iter().copied().collect::<Vec<_>>(),
            vec![1.25, -7.5]
        );
        assert_eq!(img.volume.geometry.spacing, [1.0, 2.0, 3.0]);
    }

    #[test]
    fn detached_gzip_header() {
        let dir = tempfile::tempdir().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&values_le(24)).unwrap();
        write(dir.path(), "d.raw.gz", &gz.finish().unwrap());
        let hdr = header("endian: little\nencoding: gzip\ndata file: d.raw.gz\n");
        let img = read(&write(dir.path(), "d.nhdr", hdr.as_bytes())).unwrap();
        assert_eq!(img.volume.data[[3, 2, 1]], 18.0);
    }

    fn error_of(name: &str, bytes: &[u8]) -> String {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), name, bytes);
        let e = read(&p).unwrap_err().to_string();
        assert!(e.contains(name), "error does not name the file: {e}");
        e
    }

    #[test]
    fn bad_headers_are_errors_naming_the_problem() {
        let e = error_of("m.nrrd", b"NIFTI\ntype: short\n\n");
        assert!(e.contains("magic"), "{e}");
        let e = error_of(
            "e.nrrd",
            header("endian: little\nencoding: bzip2\n\n").as_bytes(),
        );
        assert!(e.contains("encoding: bzip2"), "{e}");
        let e = error_of(
            "t.nrrd",
            b"NRRD0004\ndimension: 3\nsizes: 1 1 1\nencoding: raw\n\n\0",
        );
        assert!(e.contains("`type` is missing"), "{e}");
        let e = error_of("n.nrrd", header("encoding: raw\n\n").as_bytes());
        assert!(e.contains("endian"), "{e}");
        let e = error_of(
            "s.nrrd",
            header("endian: little\nencoding: raw\nspace: scanner-xyz\nspace directions: (1,0,0) (0,1,0) (0,0,1)\n\n")
                .as_bytes(),
        );
        assert!(e.contains("scanner-xyz"), "{e}");
    }

    #[test]
    fn data_size_must_match_sizes_times_type() {
        let mut bytes = header("endian: little\nencoding: raw\n\n").into_bytes();
        bytes.extend(values_le(23));
        let e = error_of("short.nrrd", &bytes);
        assert!(e.contains("46 bytes") && e.contains("need 48"), "{e}");
        bytes.extend([0; 4]);
        let e = error_of("long.nrrd", &bytes);
        assert!(e.contains("50 bytes"), "{e}");
    }

    #[test]
    fn absurd_sizes_are_errors_not_panics() {
        let e = error_of(
            "huge.nrrd",
            b"NRRD0004\ntype: double\ndimension: 3\nsizes: 4294967296 4294967296 4294967296\nendian: little\nencoding: gzip\n\n",
        );
        assert!(e.contains("more data than can be addressed"), "{e}");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&[0; 10]).unwrap();
        let mut bytes = b"NRRD0004\ntype: double\ndimension: 3\nsizes: 100000 100000 1000\nendian: little\nencoding: gzip\nbyte skip: 9000000000000000000\n\n".to_vec();
        bytes.extend(gz.finish().unwrap());
        let e = error_of("skip.nrrd", &bytes);
        assert!(
            e.contains("larger than the decompressed data (10 bytes)"),
            "{e}"
        );
    }

    #[test]
    fn truncated_gzip_is_reported() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&values_le(24)).unwrap();
        let compressed = gz.finish().unwrap();
        let mut bytes = header("endian: little\nencoding: gzip\n\n").into_bytes();
        bytes.extend(&compressed[..compressed.len() - 10]);
        let e = error_of("tr.nrrd", &bytes);
        assert!(e.contains("truncated"), "{e}");
    }
}
