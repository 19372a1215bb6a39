//! One case in PyRadiomics mode: its diagnostics, then each enabled image
//! type's features, named and ordered as PyRadiomics writes them
//! (`diagnostics_*`, then `original_shape_*`, `original_firstorder_*`, ...).
//!
//! Implemented: the Original, LoG, Wavelet, Gradient, LBP2D, LBP3D, Square,
//! SquareRoot, Logarithm and Exponential image types, normalisation, resampling (nearest, linear,
//! B-spline) or pre-cropping, re-segmentation, every 3D feature class,
//! with or without force2D, and the shape2D class. Every other setting that would change the values is
//! refused by name rather than ignored. Image types (each LoG sigma on its
//! own) are made and measured in parallel, each image's feature classes in
//! parallel too, and the columns gathered in file order.

use std::path::Path;

use super::binning::Binning;
use super::diagnostics;
use super::firstorder::FirstOrder;
use super::glcm::Glcm;
use super::glrlm::Glrlm;
use super::glszm::Glszm;
use super::intensity::{self, Normalisation};
use super::lbp::{self, LbpMethod};
use super::lbp3d::{self, Lbp3dSettings};
use super::mask_geometry;
use super::names::FeatureClass;
use super::neighbours::Neighbourhoods;
use super::params::{ImageType, Params, Settings};
use super::resample::{self, Interpolator, PixelType};
use super::roi::{Roi, texture_angles};
use super::shape::Shape;
use super::shape2d::Shape2D;
use super::{gradient, log, wavelet};
use crate::image::Volume;
use crate::io::StoredSource;
use crate::{Error, Result};
use rayon::prelude::*;

/// One value of a row: PyRadiomics writes numbers and, in diagnostics, text.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Number(f64),
    Text(String),
}

impl Cell {
    /// The text written to CSV: numbers as the shortest text that reads
    /// back to the same double.
    pub fn render(&self) -> String {
        match self {
            Cell::Number(v) => format!("{v:?}"),
            Cell::Text(t) => t.clone(),
        }
    }
}

/// One case's columns, in order.
pub type Row = Vec<(String, Cell)>;

/// The label: the call's, else the parameter file's, else 1.
pub fn label_of(params: &Params, label: Option<i64>) -> i64 {
    label.or(params.settings.label).unwrap_or(1)
}

/// Reads the case and extracts it.
pub fn extract_files(
    image: &Path,
    mask: &Path,
    label: Option<i64>,
    params: &Params,
) -> Result<Row> {
    let label = label_of(params, label);
    check_supported(params)?;
    // The label map on its own grid: PyRadiomics' checkMask decides
    // whether it is the image's (and corrects it with correctMask).
    let (loaded, roi_mask) = crate::io::load_case_on_mask_grid(image, mask, label)?;
    let stored = stored_source(&loaded, &roi_mask, mask)?;
    stored_case(
        loaded.volume,
        roi_mask,
        &stored,
        label,
        params,
        Some((image, mask)),
    )
}

/// What PyRadiomics would read from the case's files: the image's datatype
/// and the spacings as SimpleITK reads them from the headers.
pub fn stored_source(
    image: &crate::io::LoadedImage,
    mask: &Volume<bool>,
    mask_path: &Path,
) -> Result<StoredSource> {
    Ok(StoredSource {
        datatype: image.datatype.clone(),
        image_spacing: super::grid::simpleitk_spacing(&image.path, image.volume.geometry.spacing)?,
        mask_spacing: super::grid::simpleitk_spacing(mask_path, mask.geometry.spacing)?,
    })
}

/// Extracts a loaded case in the pixel type and, when resampling, on the
/// spacings its files stated: the same numbers as [`extract_files`].
pub fn extract_stored(
    image: Volume<f32>,
    mask: Volume<bool>,
    stored: &StoredSource,
    label: i64,
    params: &Params,
) -> Result<Row> {
    stored_case(image, mask, stored, label, params, None)
}

/// [`extract_stored`]; `files` (image, mask) name the files in errors.
fn stored_case(
    mut image: Volume<f32>,
    mut mask: Volume<bool>,
    stored: &StoredSource,
    label: i64,
    params: &Params,
    files: Option<(&Path, &Path)>,
) -> Result<Row> {
    let s = &params.settings;
    let other_grid = mask_geometry::differences(
        &image.geometry,
        image.dims(),
        &mask.geometry,
        mask.dims(),
        s.geometry_tolerance,
    )
    .is_some();
    if s.resampled_pixel_spacing.is_some() || other_grid {
        // The resampling grid, or the mask's correction onto the image's
        // grid, is built from the spacings as SimpleITK reads them.
        image.geometry.spacing = stored.image_spacing;
        mask.geometry.spacing = stored.mask_spacing;
    }
    let pixel = PixelType::from_datatype(&stored.datatype);
    typed_case(&image, pixel, &mask, label, params, files)
}

/// Settings radial does not compute yet are refused by name, never ignored.
pub fn check_supported(params: &Params) -> Result<()> {
    // Every image type PyRadiomics 3.0.1 has is implemented (an unknown
    // name is refused when the file is read); some of their settings are not.
    for (t, own) in &params.image_types {
        let merged = params.settings.merged(own);
        if *t == ImageType::Wavelet {
            wavelet::wavelet_of(&merged)?;
        }
        if *t == ImageType::Lbp2D {
            lbp_method(&merged)?;
        }
    }
    if params.settings.resampled_pixel_spacing.is_some() {
        Interpolator::named(params.settings.interpolator.unwrap_or("sitkBSpline"))?;
    }
    for req in &params.feature_classes {
        if req.class == FeatureClass::Shape2D && params.settings.force_2d != Some(true) {
            return Err(Error::setting(
                "setting.force2D",
                "featureClass shape2D needs force2D: true (as PyRadiomics requires)",
            ));
        }
    }
    Ok(())
}

/// The image types computed by a filter on the whole (prepared) image.
fn is_filter(t: ImageType) -> bool {
    matches!(
        t,
        ImageType::LoG
            | ImageType::Wavelet
            | ImageType::Gradient
            | ImageType::Lbp2D
            | ImageType::Lbp3D
    )
}

/// `lbp2DMethod` (default `uniform`); `var` is refused by name.
fn lbp_method(s: &Settings) -> Result<LbpMethod> {
    let name = s.lbp2d_method.as_deref().unwrap_or("uniform");
    LbpMethod::named(name).ok_or_else(|| {
        Error::setting(
            "setting.lbp2DMethod",
            format!("`{name}` is not implemented in radial's PyRadiomics mode yet (default, ror and uniform are)"),
        )
    })
}

fn binning(s: &Settings) -> Binning {
    match s.bin_count {
        Some(n) => Binning::Count(n as u32),
        None => Binning::Width(s.bin_width.unwrap_or(25.0)),
    }
}

/// Checks PyRadiomics applies to the mask before any feature.
fn check_mask(mask: &Volume<bool>, label: i64, s: &Settings) -> Result<()> {
    let n = mask.data.iter().filter(|&&m| m).count();
    if n == 0 {
        return Err(Error::data(format!(
            "label {label} is absent from the mask"
        )));
    }
    if let Some(min) = s.minimum_roi_size
        && (n as i64) < min
    {
        return Err(Error::data(format!(
            "the ROI has {n} voxels, fewer than minimumROISize ({min})"
        )));
    }
    let dims = crate::processing::crop::bounding_box(&mask.data)
        .map(|b| b.iter().filter(|(lo, hi)| hi - lo > 1).count())
        .unwrap_or(0) as i64;
    let min_dims = s.minimum_roi_dimensions.unwrap_or(2);
    if dims < min_dims {
        return Err(Error::data(format!(
            "the ROI extends in {dims} dimensions, fewer than minimumROIDimensions ({min_dims})"
        )));
    }
    Ok(())
}

/// Extracts a loaded case, in PyRadiomics' order: the mask checks, the
/// normalisation of the whole image, the resampling (or pre-crop), the
/// re-segmentation (checked again), the diagnostics, shape (once, on the
/// original mask), then each image type's feature classes on the
/// (re-segmented) ROI. `pixel` is the file's pixel type, which SimpleITK
/// keeps when it resamples.
pub fn extract_typed(
    image: &Volume<f32>,
    pixel: PixelType,
    mask: &Volume<bool>,
    label: i64,
    params: &Params,
) -> Result<Row> {
    typed_case(image, pixel, mask, label, params, None)
}

/// [`extract_typed`]; `files` (image, mask) name the files in errors.
fn typed_case(
    image: &Volume<f32>,
    pixel: PixelType,
    mask: &Volume<bool>,
    label: i64,
    params: &Params,
    files: Option<(&Path, &Path)>,
) -> Result<Row> {
    check_supported(params)?;
    let s = &params.settings;
    // The label's presence first (PyRadiomics' getMask); the ROI's size
    // and dimensions are checked on the mask the features use, after
    // resampling (its checkMask).
    if !mask.data.iter().any(|&m| m) {
        return Err(Error::data(format!(
            "label {label} is absent from the mask"
        )));
    }
    let diagnosed = s.additional_info != Some(false);
    let mut normalisation = Normalisation::of(image, s);
    // The mask on the image's grid (checkMask, with correctMask its
    // correction). With resampling PyRadiomics resamples first, onto a grid
    // made from the mask's own grid, so a mask off the image's grid needs no
    // correction there; its ROI must only lie within the image (_checkROI).
    let original_mask = mask;
    let corrected = if s.resampled_pixel_spacing.is_some() {
        mask_geometry::check_roi_inside(image, mask).map_err(|m| misfit_error(m, files))?;
        None
    } else {
        mask_geometry::aligned(image, mask, s).map_err(|m| misfit_error(m, files))?
    };
    let mask = corrected.as_ref().unwrap_or(mask);
    // PyRadiomics describes the corrected mask, with the (normalised)
    // image, where the extractor corrects it; with preCrop the correction
    // happens while loading, undescribed.
    let corrected_columns = match &corrected {
        Some(c) if diagnosed && s.pre_crop != Some(true) => diagnostics::mask_elements(
            "corrected",
            c,
            Some((image, &intensity::loaded_map(normalisation))),
        ),
        _ => Row::new(),
    };
    // The pixel type of the image the image types see: SimpleITK's
    // normalisation makes a double image, otherwise the file's type stays.
    let stored_pixel = if normalisation.is_some() {
        PixelType::F64
    } else {
        pixel
    };
    // The original image's diagnostics (hashes, statistics, connected
    // components) do not depend on the resampling: both run at once.
    let (mut row, prepared) = rayon::join(
        || {
            if diagnosed {
                diagnostics::diagnostics(image, original_mask, params)
            } else {
                Row::new()
            }
        },
        || -> Result<Option<(resample::Resampled, Row)>> {
            if s.resampled_pixel_spacing.is_some() {
                // PyRadiomics normalises the whole image before resampling it, as
                // a floating-point image (no truncation to the file's type).
                let (source, pixel) = match normalisation.take() {
                    Some(n) => (
                        std::borrow::Cow::Owned(image.map(|&v| n.apply(f64::from(v)) as f32)),
                        PixelType::F64,
                    ),
                    None => (std::borrow::Cow::Borrowed(image), pixel),
                };
                let r = resample::resample(&source, pixel, mask, s)?;
                let mut interpolated = Row::new();
                if diagnosed {
                    interpolated.extend(diagnostics::image_elements("interpolated", &r.image));
                    interpolated.extend(diagnostics::mask_elements(
                        "interpolated",
                        &r.mask,
                        Some((&r.image, &intensity::loaded_map(None))),
                    ));
                }
                Ok(Some((r, interpolated)))
            } else if s.pre_crop == Some(true) {
                Ok(Some((
                    resample::crop_to_mask(image, mask, s.pad_distance.unwrap_or(5)),
                    Row::new(),
                )))
            } else {
                Ok(None)
            }
        },
    );
    let prepared = match prepared? {
        Some((r, interpolated)) => {
            row.extend(interpolated);
            Some(r)
        }
        None => None,
    };
    row.extend(corrected_columns);
    let (image, mask) = match &prepared {
        Some(r) => (&r.image, &r.mask),
        None => (image, mask),
    };
    check_mask(mask, label, s)?;
    let loaded = || intensity::loaded_map(normalisation);
    let resegmented = super::resegment::resegmented(image, mask, &loaded(), s)?;
    if let Some(r) = &resegmented {
        check_mask(r, label, s).map_err(|e| {
            Error::setting(
                "setting.resegmentRange",
                format!("after re-segmentation, {e}"),
            )
        })?;
        if diagnosed {
            row.extend(diagnostics::mask_elements(
                "resegmented",
                r,
                Some((image, &loaded())),
            ));
        }
    }
    let feature_mask = resegmented.as_ref().unwrap_or(mask);
    let shape_columns = || -> Result<Row> {
        let mut out = Row::new();
        // shape, then shape2D, as PyRadiomics' computeShape orders them.
        for req in [FeatureClass::Shape, FeatureClass::Shape2D]
            .iter()
            .filter_map(|&class| params.feature_classes.iter().find(|c| c.class == class))
        {
            // PyRadiomics computes shape once, before the image types, on the
            // original mask (the re-segmented one with `resegmentShape`),
            // cropped to the bounding box of the mask the features use.
            let shape_mask = match (&resegmented, s.resegment_shape) {
                (Some(r), Some(true)) => r.clone(),
                (Some(r), _) => within_bounding_box(mask, r),
                (None, _) => mask.clone(),
            };
            let roi = Roi::new(image, &shape_mask, &binning(s))?;
            push_class(&mut out, "original", req, &roi, s)?;
        }
        Ok(out)
    };
    // The loaded image as the filters see it (normalised when asked).
    let needs_filters = params.image_types.iter().any(|(t, _)| is_filter(*t));
    let filter_input = needs_filters.then(|| {
        let map = loaded();
        image.map(|&v| map(v))
    });
    // Each image type's images (a filter yields several; each LoG sigma is
    // a job of its own), made and measured job by job in parallel, so that
    // an image lives only until its features are computed; the columns
    // are gathered in file order.
    let mut jobs: Vec<(Settings, Job)> = Vec::new();
    for (t, own) in &params.image_types {
        let merged = s.merged(own);
        match t {
            ImageType::LoG => {
                let sigmas = merged.sigma.clone().unwrap_or_default();
                let names = merged.sigma_names.clone().unwrap_or_else(|| {
                    sigmas
                        .iter()
                        .map(|&v| super::params::python_float_text(v))
                        .collect()
                });
                for (sigma, name) in sigmas.into_iter().zip(names) {
                    jobs.push((merged.clone(), Job::Log(sigma, name)));
                }
            }
            ImageType::Wavelet => jobs.push((merged, Job::Wavelet)),
            ImageType::Gradient => jobs.push((merged, Job::Gradient)),
            ImageType::Lbp2D => jobs.push((merged, Job::Lbp2D(stored_pixel))),
            ImageType::Lbp3D => jobs.push((merged, Job::Lbp3D(stored_pixel))),
            _ => {
                let prefix = intensity::prefix(*t).expect("refused by check_supported");
                let map = intensity::image_type_map(*t, image, loaded())
                    .expect("voxel-wise image types only, as check_supported ensures");
                jobs.push((
                    merged,
                    Job::Made(vec![(prefix.to_string(), TypeImage::Mapped(map))]),
                ));
            }
        }
    }
    let measure = |prefix: &str, s: &Settings, img: &TypeImage| -> Result<Row> {
        let roi = match img {
            TypeImage::Mapped(map) => Roi::with_values(image, feature_mask, &binning(s), map)?,
            TypeImage::Single(v) => {
                Roi::with_values(v, feature_mask, &binning(s), &|x: f32| f64::from(x))?
            }
            TypeImage::Double(v) => Roi::with_values(v, feature_mask, &binning(s), &|x: f64| x)?,
        };
        let classes: Vec<Result<Row>> = params
            .feature_classes
            .par_iter()
            .filter(|c| !matches!(c.class, FeatureClass::Shape | FeatureClass::Shape2D))
            .map(|req| {
                let mut out = Row::new();
                push_class(&mut out, prefix, req, &roi, s)?;
                Ok(out)
            })
            .collect();
        concat(classes)
    };
    let (shape, columns) = rayon::join(shape_columns, || {
        jobs.into_par_iter()
            .map(|(s, job)| -> Result<Row> {
                let images = job.images(filter_input.as_ref(), feature_mask, &s)?;
                let rows: Vec<Result<Row>> = images
                    .par_iter()
                    .map(|(prefix, img)| measure(prefix, &s, img))
                    .collect();
                concat(rows)
            })
            .collect::<Vec<Result<Row>>>()
    });
    row.extend(shape?);
    row.extend(concat(columns)?);
    Ok(row)
}

/// The error of a mask that does not fit the image, naming the files when
/// known.
fn misfit_error(misfit: mask_geometry::Misfit, files: Option<(&Path, &Path)>) -> Error {
    const HINT: &str = "PyRadiomics mode: correctMask: true resamples the mask onto the image's grid; geometryTolerance widens the test";
    match (misfit, files) {
        (mask_geometry::Misfit::Mismatch(details), Some((image, mask))) => {
            Error::GeometryMismatch {
                first: image.to_path_buf(),
                second: mask.to_path_buf(),
                details: format!("{details}. {HINT}"),
            }
        }
        (mask_geometry::Misfit::Mismatch(details), None) => {
            Error::data(format!("image/mask geometry mismatch: {details}. {HINT}"))
        }
        (mask_geometry::Misfit::Outside(message), Some((_, mask))) => Error::format(mask, message),
        (mask_geometry::Misfit::Outside(message), None) => Error::data(message),
    }
}

/// The rows in order, or the first error in order.
fn concat(parts: Vec<Result<Row>>) -> Result<Row> {
    let mut out = Row::new();
    for p in parts {
        out.extend(p?);
    }
    Ok(out)
}

/// The images of one image type (or of one LoG sigma), made when the job runs.
enum Job {
    Log(f64, String),
    Wavelet,
    Gradient,
    /// The LBP codes, stored in this pixel type.
    Lbp2D(PixelType),
    /// The LBP3D levels and kurtosis; samples stored in this pixel type.
    Lbp3D(PixelType),
    Made(Vec<(String, TypeImage)>),
}

impl Job {
    /// `input`: the loaded image as the filters see it (present when a
    /// filter is enabled); `mask`: the voxels the features use (LBP3D is
    /// computed for them only).
    fn images(
        self,
        input: Option<&Volume<f64>>,
        mask: &Volume<bool>,
        s: &Settings,
    ) -> Result<Vec<(String, TypeImage)>> {
        let input = || input.expect("computed for filters");
        Ok(match self {
            Job::Log(sigma, name) => log::log_images(input(), &[sigma], &[name])
                .into_iter()
                .map(|(name, img)| (name, TypeImage::Single(img)))
                .collect(),
            Job::Wavelet => wavelet::wavelet_images(input(), s)?
                .into_iter()
                .map(|(name, img)| (name, TypeImage::Double(img)))
                .collect(),
            Job::Gradient => {
                let img =
                    gradient::gradient_magnitude(input(), s.gradient_use_spacing.unwrap_or(true));
                vec![("gradient".to_string(), TypeImage::Single(img))]
            }
            Job::Lbp2D(pixel) => {
                let img = lbp::lbp2d(
                    input(),
                    s.force_2d_dimension.unwrap_or(0) as usize,
                    s.lbp2d_radius.unwrap_or(1.0),
                    s.lbp2d_samples.unwrap_or(8) as usize,
                    lbp_method(s)?,
                    pixel,
                );
                vec![("lbp-2D".to_string(), TypeImage::Double(img))]
            }
            Job::Lbp3D(pixel) => {
                let defaults = Lbp3dSettings::default();
                // The schema checks keep levels ≥ 1 and subdivision ≥ 0.
                let settings = Lbp3dSettings {
                    levels: s.lbp3d_levels.map_or(defaults.levels, |v| v as usize),
                    radius: s.lbp3d_icosphere_radius.unwrap_or(defaults.radius),
                    subdivision: s
                        .lbp3d_icosphere_subdivision
                        .map_or(defaults.subdivision, |v| v as usize),
                };
                lbp3d::lbp3d(input(), mask, settings, pixel)
                    .into_iter()
                    .map(|(name, img)| (name, TypeImage::Double(img)))
                    .collect()
            }
            Job::Made(images) => images,
        })
    }
}

/// One image type's image: a voxel-wise map of the loaded image, or a
/// filter's output (LoG and the gradient magnitude in single precision as
/// SimpleITK returns them, the wavelet sub-bands in double precision as
/// PyWavelets returns them).
enum TypeImage {
    Mapped(intensity::IntensityMap),
    Single(Volume<f32>),
    Double(Volume<f64>),
}

/// `mask` limited to the bounding box of `other` (PyRadiomics crops the
/// shape's mask to the bounding box of the re-segmented one).
fn within_bounding_box(mask: &Volume<bool>, other: &Volume<bool>) -> Volume<bool> {
    let mut out = mask.clone();
    if let Some([(x0, x1), (y0, y1), (z0, z1)]) = crate::processing::crop::bounding_box(&other.data)
    {
        for ((k, j, i), m) in out.data.indexed_iter_mut() {
            if !((x0..x1).contains(&i) && (y0..y1).contains(&j) && (z0..z1).contains(&k)) {
                *m = false;
            }
        }
    }
    out
}

/// One feature class's columns on one image type's ROI.
fn push_class(
    row: &mut Row,
    prefix: &str,
    req: &super::params::ClassRequest,
    roi: &Roi,
    s: &Settings,
) -> Result<()> {
    let names: Vec<String> = match &req.features {
        Some(list) => list.clone(),
        None => req
            .class
            .default_features()
            .iter()
            .map(|s| s.to_string())
            .collect(),
    };
    let compute = class_values(req.class, roi, s)?;
    for name in names {
        let value = compute(&name).ok_or_else(|| {
            Error::setting(
                format!("featureClass.{}", req.class.name()),
                format!("feature {name} is deprecated in PyRadiomics and not computed by radial"),
            )
        })?;
        row.push((
            format!("{prefix}_{}_{name}", req.class.name()),
            Cell::Number(value),
        ));
    }
    Ok(())
}

type Values<'a> = Box<dyn Fn(&str) -> Option<f64> + 'a>;

fn class_values<'a>(class: FeatureClass, roi: &'a Roi, s: &Settings) -> Result<Values<'a>> {
    let distances = s.distances.clone().unwrap_or_else(|| vec![1]);
    // force2D: texture neighbours only within the planes normal to one axis.
    let plane = (s.force_2d == Some(true)).then(|| s.force_2d_dimension.unwrap_or(0) as usize);
    let dirs = texture_angles(&distances, plane);
    let unit_dirs = texture_angles(&[1], plane);
    Ok(match class {
        FeatureClass::FirstOrder => {
            let f = FirstOrder::new(roi, s.voxel_array_shift.unwrap_or(0));
            Box::new(move |n| f.value(n))
        }
        FeatureClass::Shape => {
            let f = Shape::new(roi);
            Box::new(move |n| f.value(n))
        }
        FeatureClass::Glcm => {
            let f = Glcm::new(
                roi,
                &dirs,
                s.symmetrical_glcm.unwrap_or(true),
                s.weighting_norm,
            );
            Box::new(move |n| f.value(n))
        }
        FeatureClass::Glrlm => {
            let f = Glrlm::new(roi, &unit_dirs);
            Box::new(move |n| f.value(n))
        }
        FeatureClass::Glszm => {
            let f = Glszm::new(roi, plane.map(|_| unit_dirs.as_slice()))?;
            Box::new(move |n| f.value(n))
        }
        FeatureClass::Gldm => {
            let f = Neighbourhoods::new(roi, &dirs, s.gldm_a.unwrap_or(0));
            Box::new(move |n| f.gldm(n))
        }
        FeatureClass::Ngtdm => {
            let f = Neighbourhoods::new(roi, &dirs, 0);
            Box::new(move |n| f.ngtdm(n))
        }
        FeatureClass::Shape2D => {
            let dimension = s.force_2d_dimension.unwrap_or(0) as usize;
            let f = Shape2D::new(roi, s.force_2d == Some(true), dimension)?;
            Box::new(move |n| f.value(n))
        }
    })
}
