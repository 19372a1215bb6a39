//! The result's picture: the axial slice where the ROI is largest, in a
//! soft-tissue window, with the ROI's contour drawn in red, as a PNG. It is
//! rendered on the worker (server side) so the page needs no image library.

use crate::image::Volume;

/// Soft-tissue window (level 40 HU, width 400 HU).
const WINDOW: (f32, f32) = (-160.0, 240.0);
/// Small slices are enlarged (nearest neighbour) to at least this width.
const MIN_WIDTH: usize = 256;

/// The index (k) of the axial slice with the most ROI voxels.
pub fn largest_slice(roi: &Volume<bool>) -> usize {
    let mut best = (0, 0);
    for (k, slice) in roi.data.outer_iter().enumerate() {
        let n = slice.iter().filter(|&&b| b).count();
        if n > best.1 {
            best = (k, n);
        }
    }
    best.0
}

/// PNG bytes of slice `k`: grey intensities, red contour (ROI voxels with a
/// 4-neighbour outside the ROI).
pub fn render(image: &Volume<f32>, roi: &Volume<bool>, k: usize) -> Vec<u8> {
    let img = image.data.index_axis(ndarray::Axis(0), k);
    let msk = roi.data.index_axis(ndarray::Axis(0), k);
    let (ny, nx) = img.dim();
    let scale = MIN_WIDTH.div_ceil(nx.max(1)).max(1);
    let (w, h) = (nx * scale, ny * scale);
    let inside = |j: isize, i: isize| {
        j >= 0 && i >= 0 && (j as usize) < ny && (i as usize) < nx && msk[[j as usize, i as usize]]
    };
    let mut rgb = vec![0u8; w * h * 3];
    for y in 0..h {
        for x in 0..w {
            let (j, i) = (y / scale, x / scale);
            let v = img[[j, i]];
            let g = (((v - WINDOW.0) / (WINDOW.1 - WINDOW.0)).clamp(0.0, 1.0) * 255.0) as u8;
            let (ji, ii) = (j as isize, i as isize);
            let edge = inside(ji, ii)
                && !(inside(ji - 1, ii)
                    && inside(ji + 1, ii)
                    && inside(ji, ii - 1)
                    && inside(ji, ii + 1));
            let px = &mut rgb[(y * w + x) * 3..][..3];
            if edge {
                px.copy_from_slice(&[255, 40, 40]);
            } else {
                px.copy_from_slice(&[g, g, g]);
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, w as u32, h as u32);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().expect("PNG header to memory");
        writer.write_image_data(&rgb).expect("PNG data to memory");
        writer.finish().expect("PNG end to memory");
    }
    out
}

#[cfg(test)]
mod tests {
    use ndarray::Array3;

    use super::*;
    use crate::image::Geometry;

    #[test]
    fn largest_slice_and_a_valid_png() {
        let g = Geometry::new([1.0; 3], [0.0; 3]);
        let roi = Volume::new(
            Array3::from_shape_fn((3, 8, 8), |(k, j, i)| {
                let r = if k == 2 { 3 } else { 1 };
                j.abs_diff(4) <= r && i.abs_diff(4) <= r
            }),
            g,
        );
        let image = Volume::new(Array3::from_elem((3, 8, 8), 40.0f32), g);
        assert_eq!(largest_slice(&roi), 2);
        let png = render(&image, &roi, 2);
        assert_eq!(&png[1..4], b"PNG");
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let reader = decoder.read_info().unwrap();
        assert_eq!(reader.info().width, 256);
    }
}
