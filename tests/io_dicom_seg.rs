//! DICOM-SEG masks: a segment is placed on the image grid by its frames'
//! positions, chosen by number (`--label`) or label (`--roi`); frames off
//! the grid and unknown segments are errors naming the file and the problem.
//! The SEG files are written here, from masks whose voxels we know.

mod common;

use std::path::Path;

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, VR, dicom_value};
use dicom_dictionary_std::tags;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use ndarray::Array3;
use radial::image::{Geometry, Volume};

const SEG_SOP_CLASS: &str = "1.2.840.10008.5.1.4.1.1.66.4";

struct Frame {
    segment: u16,
    position: [f64; 3],
    /// Row-major, `rows x columns`.
    pixels: Vec<bool>,
}

struct Seg {
    rows: usize,
    columns: usize,
    /// PixelSpacing: between rows, between columns.
    spacing: [f64; 2],
    orientation: [f64; 6],
    segments: Vec<(u16, &'static str)>,
    frames: Vec<Frame>,
}

fn ds(values: &[f64]) -> PrimitiveValue {
    PrimitiveValue::Strs(values.iter().map(|v| format!("{v}")).collect())
}

fn item(elements: Vec<DataElement<InMemDicomObject>>) -> InMemDicomObject {
    InMemDicomObject::from_element_iter(elements)
}

fn sequence(tag: dicom_core::Tag, items: Vec<InMemDicomObject>) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::SQ, DataSetSequence::from(items))
}

impl Seg {
    fn write(&self, path: &Path) {
        let mut bits = vec![0u8; (self.rows * self.columns * self.frames.len()).div_ceil(8)];
        for (f, frame) in self.frames.iter().enumerate() {
            assert_eq!(frame.pixels.len(), self.rows * self.columns);
            for (p, &on) in frame.pixels.iter().enumerate() {
                let n = f * self.rows * self.columns + p;
                if on {
                    bits[n / 8] |= 1 << (n % 8);
                }
            }
        }
        if bits.len() % 2 == 1 {
            bits.push(0);
        }
        let segments = self
            .segments
            .iter()
            .map(|&(n, label)| {
                item(vec![
                    DataElement::new(tags::SEGMENT_NUMBER, VR::US, PrimitiveValue::from(n)),
                    DataElement::new(tags::SEGMENT_LABEL, VR::LO, PrimitiveValue::from(label)),
                ])
            })
            .collect();
        let shared = item(vec![
            sequence(
                tags::PIXEL_MEASURES_SEQUENCE,
                vec![item(vec![DataElement::new(
                    tags::PIXEL_SPACING,
                    VR::DS,
                    ds(&self.spacing),
                )])],
            ),
            sequence(
                tags::PLANE_ORIENTATION_SEQUENCE,
                vec![item(vec![DataElement::new(
                    tags::IMAGE_ORIENTATION_PATIENT,
                    VR::DS,
                    ds(&self.orientation),
                )])],
            ),
        ]);
        let per_frame = self
            .frames
            .iter()
            .map(|f| {
                item(vec![
                    sequence(
                        tags::PLANE_POSITION_SEQUENCE,
                        vec![item(vec![DataElement::new(
                            tags::IMAGE_POSITION_PATIENT,
                            VR::DS,
                            ds(&f.position),
                        )])],
                    ),
                    sequence(
                        tags::SEGMENT_IDENTIFICATION_SEQUENCE,
                        vec![item(vec![DataElement::new(
                            tags::REFERENCED_SEGMENT_NUMBER,
                            VR::US,
                            PrimitiveValue::from(f.segment),
                        )])],
                    ),
                ])
            })
            .collect();
        let instance = "1.2.826.0.1.3680043.2.1125.7.1";
        let obj = InMemDicomObject::from_element_iter(vec![
            DataElement::new(
                tags::SOP_CLASS_UID,
                VR::UI,
                PrimitiveValue::from(SEG_SOP_CLASS),
            ),
            DataElement::new(
                tags::SOP_INSTANCE_UID,
                VR::UI,
                PrimitiveValue::from(instance),
            ),
            DataElement::new(tags::MODALITY, VR::CS, PrimitiveValue::from("SEG")),
            DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(self.rows as u16)),
            DataElement::new(
                tags::COLUMNS,
                VR::US,
                PrimitiveValue::from(self.columns as u16),
            ),
            DataElement::new(
                tags::NUMBER_OF_FRAMES,
                VR::IS,
                dicom_value!(Str, self.frames.len().to_string()),
            ),
            DataElement::new(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(1u16)),
            DataElement::new(
                tags::SEGMENTATION_TYPE,
                VR::CS,
                PrimitiveValue::from("BINARY"),
            ),
            sequence(tags::SEGMENT_SEQUENCE, segments),
            sequence(tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE, vec![shared]),
            sequence(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE, per_frame),
            DataElement::new(tags::PIXEL_DATA, VR::OB, PrimitiveValue::from(bits)),
        ]);
        obj.with_meta(
            FileMetaTableBuilder::new()
                .media_storage_sop_class_uid(SEG_SOP_CLASS)
                .media_storage_sop_instance_uid(instance)
                .transfer_syntax("1.2.840.10008.1.2.1"),
        )
        .unwrap()
        .write_to_file(path)
        .unwrap();
    }
}

/// A 10 x 8 x 4 image (x, y, z) and a SEG of two segments whose 4 x 3
/// frames start at voxel (2, 1, k).
fn synthetic(dir: &Path) -> (Geometry, Seg) {
    let geometry = Geometry::new([0.5, 0.75, 2.0], [10.0, -20.0, 30.0]);
    let image = Array3::from_shape_fn((4, 8, 10), |(k, j, i)| (i + 10 * j + 100 * k) as f32);
    radial::io::nifti::write(&dir.join("image.nii.gz"), &Volume::new(image, geometry)).unwrap();
    let frame = |segment: u16, k: usize, pattern: fn(usize, usize) -> bool| Frame {
        segment,
        position: geometry.index_to_physical([2.0, 1.0, k as f64]),
        pixels: (0..3)
            .flat_map(|r| (0..4).map(move |c| pattern(r, c)))
            .collect(),
    };
    let seg = Seg {
        rows: 3,
        columns: 4,
        spacing: [0.75, 0.5],
        orientation: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
        segments: vec![(1, "liver"), (2, "tumour")],
        frames: vec![
            frame(1, 0, |_, _| true),
            frame(2, 1, |r, c| r == c),
            frame(2, 2, |r, _| r == 2),
        ],
    };
    (geometry, seg)
}

fn voxels(mask: &Volume<bool>) -> Vec<[usize; 3]> {
    mask.data
        .indexed_iter()
        .filter(|(_, on)| **on)
        .map(|((k, j, i), _)| [i, j, k])
        .collect()
}

#[test]
fn segments_by_number_and_by_label_land_on_their_voxels() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, seg) = synthetic(tmp.path());
    let seg_path = tmp.path().join("seg.dcm");
    seg.write(&seg_path);
    let image = tmp.path().join("image.nii.gz");

    let (_, tumour) = radial::io::read_case(&image, &seg_path, 2).unwrap();
    let mut expected = vec![[2, 1, 1], [3, 2, 1], [4, 3, 1]];
    expected.extend((2..6).map(|i| [i, 3, 2]));
    expected.sort_by_key(|v| (v[2], v[1], v[0]));
    assert_eq!(voxels(&tumour), expected);

    let out = std::process::Command::new(common::radial_bin())
        .arg("convert")
        .arg(&image)
        .arg(tmp.path().join("tumour.nii.gz"))
        .arg("--rtstruct")
        .arg(&seg_path)
        .args(["--roi", "tumour"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("segment \"tumour\"") && stdout.contains(": 7 voxels"),
        "{stdout}"
    );

    let (_, liver) = radial::io::read_case_rtstruct(&image, &seg_path, "liver").unwrap();
    let v = voxels(&liver);
    assert_eq!(v.len(), 12);
    assert!(
        v.iter()
            .all(|p| p[2] == 0 && (2..6).contains(&p[0]) && (1..4).contains(&p[1]))
    );
}

#[test]
fn unknown_segments_and_frames_off_the_grid_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let (geometry, mut seg) = synthetic(tmp.path());
    let image = tmp.path().join("image.nii.gz");
    let seg_path = tmp.path().join("seg.dcm");
    seg.write(&seg_path);
    let err = radial::io::read_case(&image, &seg_path, 5)
        .unwrap_err()
        .to_string();
    assert!(err.contains("seg.dcm"), "{err}");
    assert!(
        err.contains(r#"no segment 5 (segments: 1 "liver", 2 "tumour")"#),
        "{err}"
    );

    // Half a voxel off in x.
    seg.frames[1].position = geometry.index_to_physical([2.5, 1.0, 1.0]);
    seg.write(&seg_path);
    let err = radial::io::read_case(&image, &seg_path, 2)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("frame 2 (segment 2)") && err.contains("not on a voxel centre"),
        "{err}"
    );

    // Another pixel spacing.
    let (_, mut seg) = synthetic(tmp.path());
    seg.spacing = [1.0, 0.5];
    seg.write(&seg_path);
    let err = radial::io::read_case(&image, &seg_path, 1)
        .unwrap_err()
        .to_string();
    assert!(err.contains("pixel spacing"), "{err}");

    // A frame reaching beyond the image.
    let (_, mut seg) = synthetic(tmp.path());
    seg.frames[0].position = geometry.index_to_physical([8.0, 1.0, 0.0]);
    seg.write(&seg_path);
    let err = radial::io::read_case(&image, &seg_path, 1)
        .unwrap_err()
        .to_string();
    assert!(err.contains("extends beyond the image"), "{err}");
}

/// The IBSI CT phantom's DICOM series with a SEG written from the phantom's
/// NIfTI mask: the ROI read through the SEG is the same voxel for voxel.
#[test]
fn a_seg_of_the_ct_phantom_roi_matches_its_nifti_mask() {
    let Some(data) = common::data_dir("a_seg_of_the_ct_phantom_roi_matches_its_nifti_mask") else {
        return;
    };
    let ct = data.join("ibsi/ct_phantom");
    let series = ct.join("dicom/image");
    let (nifti_image, nifti_mask) =
        radial::io::read_case(&ct.join("image.nii.gz"), &ct.join("mask.nii.gz"), 1).unwrap();
    let g = nifti_image.volume.geometry;
    let [nx, ny, nz] = nifti_image.volume.dims();
    let frames = (0..nz)
        .filter(|&k| (0..ny).any(|j| (0..nx).any(|i| nifti_mask.data[[k, j, i]])))
        .map(|k| Frame {
            segment: 1,
            position: g.index_to_physical([0.0, 0.0, k as f64]),
            pixels: (0..ny)
                .flat_map(|j| (0..nx).map(move |i| (j, i)))
                .map(|(j, i)| nifti_mask.data[[k, j, i]])
                .collect(),
        })
        .collect();
    let d = g.direction;
    let seg = Seg {
        rows: ny,
        columns: nx,
        spacing: [g.spacing[1], g.spacing[0]],
        orientation: [d[0][0], d[0][1], d[0][2], d[1][0], d[1][1], d[1][2]],
        segments: vec![(1, "GTV-1")],
        frames,
    };
    let tmp = tempfile::tempdir().unwrap();
    let seg_path = tmp.path().join("gtv.dcm");
    seg.write(&seg_path);
    let (_, from_seg) = radial::io::read_case_rtstruct(&series, &seg_path, "GTV-1").unwrap();
    assert_eq!(from_seg.data, nifti_mask.data);
    assert_eq!(from_seg.data.iter().filter(|&&b| b).count(), 125_256);
}
