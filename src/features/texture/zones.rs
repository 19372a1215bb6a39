//! One connected-component pass for the GLSZM and the GLDZM (IBSI 3.8, 3.9):
//! zones are groups of linked voxels of equal grey level (8-connected within
//! a slice in 2D, 26-connected in 3D). Each zone is recorded with its size
//! and its distance to the ROI edge, the smallest value of the distance map
//! over its voxels.
//!
//! The distance map is computed on the morphological mask (IBSI 3.9: the
//! zones come from the intensity mask, the distances from the morphological
//! one): a voxel on the edge has distance 1, and each further 4-connected
//! (2D) or 6-connected (3D) step inwards adds 1 — the city-block distance to
//! the nearest voxel outside the mask, i.e. the iterated erosion of IBSI.

use rayon::prelude::*;

use super::grid::{LevelGrid, OUTSIDE};
use super::level_count::LevelCountMatrices;
use super::matrix::{CountMatrix, key};
use super::{Dimension, TextureContext};
use crate::Result;

/// GLSZM (level × zone size) and GLDZM (level × zone distance) matrices.
#[derive(Debug, Clone)]
pub struct ZoneTables {
    pub size: LevelCountMatrices,
    pub distance: LevelCountMatrices,
    /// Grey level of each dense level index.
    pub values: Vec<f64>,
}

/// One zone: dense level, number of voxels, distance to the ROI edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone {
    pub level: u32,
    pub size: u32,
    pub distance: u32,
}

impl ZoneTables {
    pub fn compute(ctx: &TextureContext, dims: &[Dimension]) -> Result<ZoneTables> {
        let grid = &ctx.grid;
        let morph = grid.pad_mask(&ctx.input.roi.morph_mask)?;
        let need_slices = dims.contains(&Dimension::TwoD) || dims.contains(&Dimension::TwoHalfD);
        let need_volume = dims.contains(&Dimension::ThreeD);
        let plane = grid.padded[1] * grid.padded[2];
        let (per_slice, volume) = rayon::join(
            || {
                if !need_slices {
                    return Vec::new();
                }
                (0..grid.shape[0])
                    .into_par_iter()
                    .filter_map(|k| {
                        let voxels = grid.slice_voxels(k);
                        if voxels.is_empty() {
                            return None;
                        }
                        let base = (k + grid.pad) * plane;
                        let zones = find_zones(grid, &morph, &voxels, base, plane, true);
                        Some(matrices(&zones, voxels.len()))
                    })
                    .collect::<Vec<_>>()
            },
            || {
                need_volume.then(|| {
                    let voxels = grid.voxels();
                    let zones = find_zones(grid, &morph, &voxels, 0, grid.codes.len(), false);
                    matrices(&zones, voxels.len())
                })
            },
        );
        let (size_slices, dist_slices): (Vec<CountMatrix>, Vec<CountMatrix>) =
            per_slice.into_iter().unzip();
        let merged = |s: &[CountMatrix]| need_slices.then(|| CountMatrix::merge(s));
        let (size_volume, dist_volume) = volume.unzip();
        Ok(ZoneTables {
            size: LevelCountMatrices {
                merged: merged(&size_slices),
                slices: size_slices,
                volume: size_volume,
            },
            distance: LevelCountMatrices {
                merged: merged(&dist_slices),
                slices: dist_slices,
                volume: dist_volume,
            },
            values: grid.values.clone(),
        })
    }
}

/// The (size, distance) matrices of a list of zones from `n_voxels` voxels.
fn matrices(zones: &[Zone], n_voxels: usize) -> (CountMatrix, CountMatrix) {
    let mut size: Vec<u64> = zones.iter().map(|z| key(z.level, z.size)).collect();
    let mut dist: Vec<u64> = zones.iter().map(|z| key(z.level, z.distance)).collect();
    (
        CountMatrix::from_keys(&mut size, n_voxels as u64),
        CountMatrix::from_keys(&mut dist, n_voxels as u64),
    )
}

/// In-plane (4/8-connected) or volume (6/26-connected) neighbour offsets:
/// (face neighbours, all neighbours).
fn offsets(grid: &LevelGrid, in_plane: bool) -> (Vec<isize>, Vec<isize>) {
    let (mut faces, mut all) = (Vec::new(), Vec::new());
    let dz_range = if in_plane { 0..=0 } else { -1..=1 };
    for dz in dz_range {
        for dy in -1..=1 {
            for dx in -1..=1 {
                let n = dx * dx + dy * dy + dz * dz;
                if n == 0 {
                    continue;
                }
                let off = grid.offset([dx, dy, dz]);
                all.push(off);
                if n == 1 {
                    faces.push(off);
                }
            }
        }
    }
    (faces, all)
}

/// The zones seeded at `voxels` (raster order, all within the region
/// `base..base + len` of the padded grid, which the neighbourhoods of its
/// voxels do not leave).
pub fn find_zones(
    grid: &LevelGrid,
    morph: &[bool],
    voxels: &[usize],
    base: usize,
    len: usize,
    in_plane: bool,
) -> Vec<Zone> {
    let (faces, all) = offsets(grid, in_plane);
    let distance = distance_map(&morph[base..base + len], &faces);
    let mut visited = vec![false; len];
    let mut stack: Vec<usize> = Vec::new();
    let mut zones = Vec::new();
    for &seed in voxels {
        let local = seed - base;
        if visited[local] {
            continue;
        }
        let level = grid.codes[seed];
        visited[local] = true;
        stack.push(local);
        let (mut size, mut min_dist) = (0u32, u32::MAX);
        while let Some(p) = stack.pop() {
            size += 1;
            // A voxel of the intensity mask outside the morphological mask has no
            // distance; it counts as on the edge.
            min_dist = min_dist.min(distance[p].max(1));
            for &off in &all {
                let q = (p as isize + off) as usize;
                if grid.codes[base + q] == level && !visited[q] {
                    visited[q] = true;
                    stack.push(q);
                }
            }
        }
        debug_assert!(level != OUTSIDE);
        zones.push(Zone {
            level,
            size,
            distance: min_dist,
        });
    }
    zones
}

/// City-block distance (in steps of `faces`) of every mask voxel to the
/// nearest voxel outside the mask, 1 on the edge, 0 outside. The region must
/// have non-mask voxels around its mask voxels (the padding).
pub fn distance_map(mask: &[bool], faces: &[isize]) -> Vec<u32> {
    let mut dist: Vec<u32> = mask.iter().map(|&m| if m { u32::MAX } else { 0 }).collect();
    let mut queue: Vec<usize> = Vec::new();
    for (p, &m) in mask.iter().enumerate() {
        if m && faces.iter().any(|&o| !mask[(p as isize + o) as usize]) {
            dist[p] = 1;
            queue.push(p);
        }
    }
    let mut head = 0;
    while head < queue.len() {
        let p = queue[head];
        head += 1;
        for &o in faces {
            let q = (p as isize + o) as usize;
            if dist[q] == u32::MAX {
                dist[q] = dist[p] + 1;
                queue.push(q);
            }
        }
    }
    dist
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::processing::Discretised;
    use ndarray::Array3;

    fn grid_of(rows: &[&[u32]]) -> (LevelGrid, Vec<bool>) {
        let mut levels = Array3::<u32>::zeros((1, rows.len(), rows[0].len()));
        for (j, r) in rows.iter().enumerate() {
            for (i, &l) in r.iter().enumerate() {
                levels[[0, j, i]] = l;
            }
        }
        let mask = levels.map(|&l| l > 0);
        let d = Discretised {
            levels,
            n_levels: 3,
            spacing: [1.0; 3],
        };
        let g = LevelGrid::new(&d, 1).unwrap();
        let m = g.pad_mask(&mask).unwrap();
        (g, m)
    }

    #[test]
    fn zones_are_eight_connected_with_edge_distances() {
        // 1 1 2 2 2
        // 1 2 2 2 2
        // 3 1 2 2 2      the lone 1 at (2,1) joins the top-left zone diagonally
        // 3 3 2 2 2
        // 2 2 2 2 2
        let (g, m) = grid_of(&[
            &[1, 1, 2, 2, 2],
            &[1, 2, 2, 2, 2],
            &[3, 1, 2, 2, 2],
            &[3, 3, 2, 2, 2],
            &[2, 2, 2, 2, 2],
        ]);
        let plane = g.padded[1] * g.padded[2];
        let v = g.slice_voxels(0);
        let zones = find_zones(&g, &m, &v, g.pad * plane, plane, true);
        let level = |l: f64| g.values.iter().position(|&v| v == l).unwrap() as u32;
        assert_eq!(
            zones,
            vec![
                Zone {
                    level: level(1.0),
                    size: 4,
                    distance: 1
                },
                Zone {
                    level: level(2.0),
                    size: 18,
                    distance: 1
                },
                Zone {
                    level: level(3.0),
                    size: 3,
                    distance: 1
                },
            ]
        );
        // The centre of the 5×5 square is 3 steps from outside.
        let (faces, _) = offsets(&g, true);
        let d = distance_map(&m[g.pad * plane..(g.pad + 1) * plane], &faces);
        assert_eq!(d[g.index(0, 2, 2) - g.pad * plane], 3);
        assert_eq!(d[g.index(0, 1, 2) - g.pad * plane], 2);
        assert_eq!(d[g.index(0, 0, 4) - g.pad * plane], 1);
    }

    #[test]
    fn inner_zone_takes_its_smallest_distance() {
        // A 3 in the middle of a 5×5 block of 1s: distance 3 in-plane.
        let (g, m) = grid_of(&[
            &[1, 1, 1, 1, 1],
            &[1, 1, 1, 1, 1],
            &[1, 1, 3, 1, 1],
            &[1, 1, 1, 1, 1],
            &[1, 1, 1, 1, 1],
        ]);
        let plane = g.padded[1] * g.padded[2];
        let v = g.slice_voxels(0);
        let zones = find_zones(&g, &m, &v, g.pad * plane, plane, true);
        assert_eq!(zones.len(), 2);
        assert_eq!((zones[0].size, zones[0].distance), (24, 1));
        assert_eq!((zones[1].size, zones[1].distance), (1, 3));
    }
}
