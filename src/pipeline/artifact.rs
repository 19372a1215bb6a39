//! Binary encodings of stage outputs. Raw little-endian with a small header
//! (magic, artifact type, format version): no compressor whose output could
//! change with a library version, so an output's hash is a hash of its
//! decoded content and stays stable across builds.
//!
//! Layout: `b"RADIAL"`, type byte, format version byte, then the body.
//! Arrays are stored in their C order (`[nz, ny, nx]`, x fastest).

use ndarray::Array3;

use crate::features::FeatureSet;
use crate::image::{Geometry, Volume};
use crate::io::StoredSource;
use crate::processing::{
    DiscretisationSettings, Discretised, InterpolationSettings, ResegmentationSettings, RoiImage,
};
use crate::{Error, Result};

const MAGIC: &[u8; 6] = b"RADIAL";
const FORMAT_VERSION: u8 = 1;

/// The type byte of each artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ArtifactType {
    /// Image and binary ROI as loaded (output of `load`).
    Case = 1,
    /// [`RoiImage`] (output of `resample`, `resegment`).
    Roi = 2,
    /// [`RoiImage`] with its [`Discretised`] grey levels (output of `discretise`).
    Discretised = 3,
    /// A [`FeatureSet`] (output of every feature family).
    Features = 4,
}

/// The output of `load` (and `perturb`).
#[derive(Debug, Clone, PartialEq)]
pub struct CaseImage {
    pub image: Volume<f32>,
    pub mask: Volume<bool>,
    /// What the files stated (the `pyradiomics` stage computes in the
    /// image's pixel type, as `radial extract --pyradiomics` does).
    pub stored: StoredSource,
}

/// The output of `resample`, `resegment` and `filter`: the ROI image, the
/// settings of the re-segmentation that produced it (discretisation needs its
/// range), the interpolation that made its grid (a `filter` stage rebuilds
/// the whole interpolated image from it; `None`: the original grid), and the
/// processing diagnostics.
#[derive(Debug, Clone)]
pub struct RoiArtifact {
    pub roi: RoiImage,
    pub resegmentation: ResegmentationSettings,
    pub interpolation: Option<InterpolationSettings>,
    pub diagnostics: FeatureSet,
}

/// The output of `discretise`: the ROI it came from and its grey levels.
#[derive(Debug, Clone)]
pub struct DiscretisedArtifact {
    pub roi: RoiArtifact,
    pub discretised: Discretised,
    pub settings: DiscretisationSettings,
    /// The id of the `filter` stage whose response map was discretised: the
    /// texture and histogram features of it carry this prefix.
    pub filter: Option<String>,
}

/// The artifact type of an encoded output, or an error when it is not one.
pub fn artifact_type(bytes: &[u8]) -> Result<ArtifactType> {
    let mut d = Decoder::new(bytes);
    d.header()
}

struct Encoder(Vec<u8>);

impl Encoder {
    fn new(kind: ArtifactType) -> Self {
        let mut v = Vec::with_capacity(1024);
        v.extend_from_slice(MAGIC);
        v.push(kind as u8);
        v.push(FORMAT_VERSION);
        Encoder(v)
    }
    fn u64(&mut self, x: u64) {
        self.0.extend_from_slice(&x.to_le_bytes());
    }
    fn f64(&mut self, x: f64) {
        self.0.extend_from_slice(&x.to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.u64(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }
    fn shape<T>(&mut self, a: &Array3<T>) {
        for &n in a.shape() {
            self.u64(n as u64);
        }
    }
    fn geometry(&mut self, g: &Geometry) {
        g.spacing.iter().chain(&g.origin).for_each(|&x| self.f64(x));
        g.direction.iter().flatten().for_each(|&x| self.f64(x));
    }
    fn f32_array(&mut self, a: &Array3<f32>) {
        self.shape(a);
        self.0.reserve(a.len() * 4);
        a.iter()
            .for_each(|x| self.0.extend_from_slice(&x.to_le_bytes()));
    }
    fn u32_array(&mut self, a: &Array3<u32>) {
        self.shape(a);
        self.0.reserve(a.len() * 4);
        a.iter()
            .for_each(|x| self.0.extend_from_slice(&x.to_le_bytes()));
    }
    fn bool_array(&mut self, a: &Array3<bool>) {
        self.shape(a);
        self.0.extend(a.iter().map(|&b| b as u8));
    }
    fn features(&mut self, f: &FeatureSet) {
        self.u64(f.values.len() as u64);
        for (name, v) in &f.values {
            self.str(name);
            self.f64(*v);
        }
    }
    fn json<T: serde::Serialize>(&mut self, value: &T) {
        let v = serde_json::to_value(value).expect("settings serialise to JSON");
        self.str(&super::hash::canonical_json(&v));
    }
    fn roi(&mut self, r: &RoiArtifact) {
        self.geometry(&r.roi.image.geometry);
        self.f32_array(&r.roi.image.data);
        self.bool_array(&r.roi.morph_mask);
        self.bool_array(&r.roi.int_mask);
        self.json(&r.resegmentation);
        self.json(&r.interpolation);
        self.features(&r.diagnostics);
    }
}

struct Decoder<'a> {
    bytes: &'a [u8],
    pos: usize,
}

fn corrupt(what: &str) -> Error {
    Error::data(format!("corrupt stage output: {what}"))
}

impl<'a> Decoder<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Decoder { bytes, pos: 0 }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| corrupt("truncated"))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn header(&mut self) -> Result<ArtifactType> {
        if self.take(6)? != MAGIC {
            return Err(corrupt("not a radial artifact"));
        }
        let t = self.take(2)?;
        if t[1] != FORMAT_VERSION {
            return Err(corrupt(&format!("unknown format version {}", t[1])));
        }
        Ok(match t[0] {
            1 => ArtifactType::Case,
            2 => ArtifactType::Roi,
            3 => ArtifactType::Discretised,
            4 => ArtifactType::Features,
            other => return Err(corrupt(&format!("unknown artifact type {other}"))),
        })
    }
    fn expect(&mut self, want: ArtifactType) -> Result<()> {
        let got = self.header()?;
        if got != want {
            return Err(Error::data(format!(
                "stage input is a {got:?} artifact where a {want:?} artifact is needed"
            )));
        }
        Ok(())
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn f64(&mut self) -> Result<f64> {
        Ok(f64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn usize(&mut self) -> Result<usize> {
        usize::try_from(self.u64()?).map_err(|_| corrupt("size overflow"))
    }
    fn str(&mut self) -> Result<String> {
        let n = self.usize()?;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| corrupt("invalid UTF-8"))
    }
    fn shape(&mut self, elem: usize) -> Result<(usize, usize, usize)> {
        let (z, y, x) = (self.usize()?, self.usize()?, self.usize()?);
        let n = z
            .checked_mul(y)
            .and_then(|n| n.checked_mul(x))
            .and_then(|n| n.checked_mul(elem))
            .filter(|&n| n <= self.bytes.len() - self.pos)
            .ok_or_else(|| corrupt("array larger than the data"))?;
        let _ = n;
        Ok((z, y, x))
    }
    fn geometry(&mut self) -> Result<Geometry> {
        let mut v = [0.0; 15];
        for x in v.iter_mut() {
            *x = self.f64()?;
        }
        Ok(Geometry {
            spacing: [v[0], v[1], v[2]],
            origin: [v[3], v[4], v[5]],
            direction: [
                [v[6], v[7], v[8]],
                [v[9], v[10], v[11]],
                [v[12], v[13], v[14]],
            ],
        })
    }
    fn f32_array(&mut self) -> Result<Array3<f32>> {
        let shape = self.shape(4)?;
        let n = shape.0 * shape.1 * shape.2;
        let raw = self.take(n * 4)?;
        let v = raw
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        Array3::from_shape_vec(shape, v).map_err(|_| corrupt("array shape"))
    }
    fn u32_array(&mut self) -> Result<Array3<u32>> {
        let shape = self.shape(4)?;
        let n = shape.0 * shape.1 * shape.2;
        let raw = self.take(n * 4)?;
        let v = raw
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        Array3::from_shape_vec(shape, v).map_err(|_| corrupt("array shape"))
    }
    fn bool_array(&mut self) -> Result<Array3<bool>> {
        let shape = self.shape(1)?;
        let n = shape.0 * shape.1 * shape.2;
        let v = self.take(n)?.iter().map(|&b| b != 0).collect();
        Array3::from_shape_vec(shape, v).map_err(|_| corrupt("array shape"))
    }
    fn features(&mut self) -> Result<FeatureSet> {
        let n = self.usize()?;
        let mut f = FeatureSet::new();
        for _ in 0..n {
            let name = self.str()?;
            f.push(name, self.f64()?);
        }
        Ok(f)
    }
    fn json<T: serde::de::DeserializeOwned>(&mut self) -> Result<T> {
        let s = self.str()?;
        serde_json::from_str(&s).map_err(|e| corrupt(&format!("settings: {e}")))
    }
    fn roi(&mut self) -> Result<RoiArtifact> {
        let geometry = self.geometry()?;
        let image = Volume::new(self.f32_array()?, geometry);
        let morph_mask = self.bool_array()?;
        let int_mask = self.bool_array()?;
        Ok(RoiArtifact {
            roi: RoiImage {
                image,
                morph_mask,
                int_mask,
            },
            resegmentation: self.json()?,
            interpolation: self.json()?,
            diagnostics: self.features()?,
        })
    }
    fn finish<T>(self, value: T) -> Result<T> {
        if self.pos != self.bytes.len() {
            return Err(corrupt("trailing bytes"));
        }
        Ok(value)
    }
}

impl CaseImage {
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::new(ArtifactType::Case);
        e.geometry(&self.image.geometry);
        e.f32_array(&self.image.data);
        e.geometry(&self.mask.geometry);
        e.bool_array(&self.mask.data);
        e.str(&self.stored.datatype);
        let spacings = self.stored.image_spacing.iter();
        spacings
            .chain(&self.stored.mask_spacing)
            .for_each(|&x| e.f64(x));
        e.0
    }
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut d = Decoder::new(bytes);
        d.expect(ArtifactType::Case)?;
        let g = d.geometry()?;
        let image = Volume::new(d.f32_array()?, g);
        let g = d.geometry()?;
        let mask = Volume::new(d.bool_array()?, g);
        let datatype = d.str()?;
        let image_spacing = [d.f64()?, d.f64()?, d.f64()?];
        let mask_spacing = [d.f64()?, d.f64()?, d.f64()?];
        let stored = StoredSource {
            datatype,
            image_spacing,
            mask_spacing,
        };
        d.finish(CaseImage {
            image,
            mask,
            stored,
        })
    }
}

impl RoiArtifact {
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::new(ArtifactType::Roi);
        e.roi(self);
        e.0
    }
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut d = Decoder::new(bytes);
        d.expect(ArtifactType::Roi)?;
        let r = d.roi()?;
        d.finish(r)
    }
}

impl DiscretisedArtifact {
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::new(ArtifactType::Discretised);
        e.roi(&self.roi);
        e.u32_array(&self.discretised.levels);
        e.u64(self.discretised.n_levels as u64);
        self.discretised.spacing.iter().for_each(|&x| e.f64(x));
        e.json(&self.settings);
        e.json(&self.filter);
        e.0
    }
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut d = Decoder::new(bytes);
        d.expect(ArtifactType::Discretised)?;
        let roi = d.roi()?;
        let levels = d.u32_array()?;
        let n_levels = u32::try_from(d.u64()?).map_err(|_| corrupt("n_levels"))?;
        let spacing = [d.f64()?, d.f64()?, d.f64()?];
        let settings = d.json()?;
        let filter = d.json()?;
        d.finish(DiscretisedArtifact {
            roi,
            discretised: Discretised {
                levels,
                n_levels,
                spacing,
            },
            settings,
            filter,
        })
    }
}

pub fn encode_features(f: &FeatureSet) -> Vec<u8> {
    let mut e = Encoder::new(ArtifactType::Features);
    e.features(f);
    e.0
}

pub fn decode_features(bytes: &[u8]) -> Result<FeatureSet> {
    let mut d = Decoder::new(bytes);
    d.expect(ArtifactType::Features)?;
    let f = d.features()?;
    d.finish(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roi() -> RoiArtifact {
        let g = Geometry::new([0.5, 1.0, 2.0], [1.0, -2.0, 3.0]);
        let image = Volume::new(
            Array3::from_shape_fn((2, 3, 4), |(k, j, i)| (k * 12 + j * 4 + i) as f32 - 0.5),
            g,
        );
        let mut morph = Array3::from_elem((2, 3, 4), false);
        morph[[1, 2, 3]] = true;
        RoiArtifact {
            roi: RoiImage {
                image,
                int_mask: morph.clone(),
                morph_mask: morph,
            },
            resegmentation: ResegmentationSettings {
                range: Some([Some(-1000.0), None]),
                outlier_sigma: None,
            },
            interpolation: None,
            diagnostics: FeatureSet {
                values: vec![("diag_n_voxel".into(), 1.0)],
            },
        }
    }

    #[test]
    fn header_layout_is_magic_type_version() {
        let bytes = encode_features(&FeatureSet {
            values: vec![("a".into(), 1.5)],
        });
        assert_eq!(&bytes[..8], b"RADIAL\x04\x01");
        // count, name length, 'a', 1.5 little-endian
        assert_eq!(bytes.len(), 8 + 8 + 8 + 1 + 8);
        assert_eq!(&bytes[25..], &1.5f64.to_le_bytes());
        assert_eq!(
            decode_features(&bytes).unwrap().values,
            vec![("a".to_string(), 1.5)]
        );
    }

    #[test]
    fn discretised_round_trips_and_rejects_truncation() {
        let a = DiscretisedArtifact {
            roi: roi(),
            discretised: Discretised {
                levels: Array3::from_elem((2, 3, 4), 3),
                n_levels: 3,
                spacing: [0.5, 1.0, 2.0],
            },
            settings: DiscretisationSettings::FixedBinSize {
                bin_width: 25.0,
                min: None,
            },
            filter: Some("log_s2".into()),
        };
        let bytes = a.encode();
        let b = DiscretisedArtifact::decode(&bytes).unwrap();
        assert_eq!(b.encode(), bytes);
        assert_eq!(b.roi.roi.image, a.roi.roi.image);
        assert_eq!(b.settings, a.settings);
        assert_eq!(b.filter.as_deref(), Some("log_s2"));
        assert!(DiscretisedArtifact::decode(&bytes[..bytes.len() - 1]).is_err());
        let e = RoiArtifact::decode(&bytes).unwrap_err().to_string();
        assert!(e.contains("Discretised") && e.contains("Roi"), "{e}");
    }
}
