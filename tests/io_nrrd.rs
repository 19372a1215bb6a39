//! NRRD reading on the six pyradiomics samples: grid and label voxel counts.

mod common;

use radial::image::label_counts;
use radial::io::{read_case, read_image};

/// (image, mask, dims, spacing, origin, label counts)
type Case = (
    &'static str,
    &'static str,
    [usize; 3],
    [f64; 3],
    &'static [(i64, usize)],
);

const CASES: [Case; 6] = [
    (
        "brain1_image.nrrd",
        "brain1_label.nrrd",
        [256, 256, 25],
        [0.78125, 0.78125, 6.5],
        &[(1, 4137)],
    ),
    (
        "brain2_image.nrrd",
        "brain2_label.nrrd",
        [256, 256, 23],
        [0.78125, 0.78125, 6.5],
        &[(1, 453)],
    ),
    (
        "breast1_image.nrrd",
        "breast1_label.nrrd",
        [45, 120, 21],
        [0.664062, 0.664062, 2.1],
        &[(1, 143)],
    ),
    (
        "lung1_image.nrrd",
        "lung1_label.nrrd",
        [512, 512, 48],
        [0.5703125, 0.5703125, 5.0],
        &[(1, 837)],
    ),
    (
        "lung2_image.nrrd",
        "lung2_label.nrrd",
        [512, 512, 61],
        [0.6269531, 0.6269531, 5.0],
        &[(1, 24644)],
    ),
    (
        "prostate_phantom_subvolume.nrrd",
        "prostate_phantom_subvolume-label.nrrd",
        [82, 67, 13],
        [0.5, 0.5, 3.0],
        &[(1, 168), (7, 170), (8, 2997), (9, 9088)],
    ),
];

#[test]
fn pyradiomics_samples_read_with_their_grids_and_labels() {
    let Some(data) = common::data_dir("pyradiomics_samples_read_with_their_grids_and_labels")
    else {
        return;
    };
    let dir = data.join("pyradiomics-samples");
    for (image, mask, dims, spacing, labels) in CASES {
        let img = read_image(&dir.join(image)).unwrap();
        assert_eq!(img.volume.dims(), dims, "{image}");
        let got = img.volume.geometry.spacing;
        assert!(
            got.iter().zip(spacing).all(|(g, s)| (g - s).abs() < 1e-6),
            "{image}: spacing {got:?}"
        );
        let msk = read_image(&dir.join(mask)).unwrap();
        let counts: Vec<(i64, usize)> = label_counts(&msk.volume)
            .unwrap()
            .into_iter()
            .map(|c| (c.label, c.voxels))
            .collect();
        assert_eq!(counts, labels, "{mask}");
        let (_, roi) = read_case(&dir.join(image), &dir.join(mask), 1).unwrap();
        assert_eq!(
            roi.data.iter().filter(|&&b| b).count(),
            labels[0].1,
            "{mask}"
        );
    }
}

#[test]
fn lps_geometry_is_kept_as_written() {
    let Some(data) = common::data_dir("lps_geometry_is_kept_as_written") else {
        return;
    };
    let img =
        read_image(&data.join("pyradiomics-samples/prostate_phantom_subvolume.nrrd")).unwrap();
    let g = img.volume.geometry;
    assert_eq!(img.datatype, "uint16");
    assert_eq!(g.direction[0], [-1.0, 0.0, 0.0]);
    assert_eq!(g.direction[1], [0.0, -1.0, 0.0]);
    assert!(
        (g.origin[0] - 15.683_382_511_138_916).abs() < 1e-9,
        "{:?}",
        g.origin
    );
    assert!(
        (g.origin[2] + 52.776_130_676_269_54).abs() < 1e-9,
        "{:?}",
        g.origin
    );
}
