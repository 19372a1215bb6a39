//! PyRadiomics' marching-cubes surface, as its C extension (`cshape`) builds
//! it for MeshVolume and SurfaceArea: radial's own construction of the same
//! triangles, not a copy of PyRadiomics' lookup table.
//!
//! PyRadiomics walks every 2×2×2 cube of the mask (padded with one voxel of
//! background) and looks its corner pattern up in the classic marching-cubes
//! table (Lorensen & Cline, as published by Bourke), of which it keeps only
//! the 128 patterns with the corner at (+z, +y, x) outside: a pattern with
//! that corner inside is replaced by its complement and its triangles' volume
//! counted with the opposite sign. Volume is the sum of the signed tetrahedra
//! (origin, a, b, c) in array coordinates, area the sum of triangle areas.
//!
//! Three properties of that table make this mesh differ from radial's IBSI
//! mesh (`features::morphology::mesh`), and all three are reproduced here:
//! - On an ambiguous face (two diagonal corners inside) the table always
//!   separates the inside corners of the pattern it looks up, so after the
//!   complement rule a cube whose (+z, +y, x) corner is inside separates its
//!   outside corners instead. Neighbouring cubes can then split a shared face
//!   differently: the surface is not closed, and its volume depends on where
//!   the origin is (the cropped, padded array's first voxel, as here).
//! - The surface of each pattern is derived procedurally: the cut edges of
//!   each face are paired into segments (by the rule above), the segments
//!   chain into loops, and each loop is oriented so that its normal points
//!   from the inside corners to the outside corners.
//! - A loop whose vertices are not coplanar has an area and a volume that
//!   depend on its diagonals. The table's diagonals follow no symmetry (two
//!   rotations of one pattern are often split differently), so they cannot
//!   be derived; [`NON_PLANAR`] lists PyRadiomics' choice for each of the 60
//!   patterns with a non-planar loop, found by comparing its surface loop by
//!   loop. Coplanar loops are fanned from their first vertex (any
//!   triangulation of a planar polygon has the same area and volume).
//!
//! Agreement is tested on masks exercising all 256 corner patterns against
//! PyRadiomics itself (tests/pyradiomics/reference/mesh.csv).

use std::sync::OnceLock;

use ndarray::Array3;

/// A cube edge as its two corners (lower, higher). Corner `k` sits at offset
/// (z, y, x) = (bit 2, bit 1, bit 0) of `k`.
type Edge = (u8, u8);

const fn e(a: u8, b: u8) -> Edge {
    (a, b)
}

/// How PyRadiomics splits a non-planar loop.
enum Split {
    /// A fan of triangles from this vertex (pentagons, heptagons, some hexagons).
    Apex(Edge),
    /// A hexagon split into a central triangle on these three vertices and
    /// the three triangles around it.
    Centre([Edge; 3]),
}

/// The corner whose being inside makes PyRadiomics use the complement
/// pattern: (z, y, x) = (1, 1, 0).
const FLIP_CORNER: usize = 0b110;

/// PyRadiomics' diagonals for the one non-planar loop of these patterns
/// (bit `k` set: corner `k` inside; [`FLIP_CORNER`] always outside).
const NON_PLANAR: [(u8, Split); 60] = [
    (0b0000_0111, Split::Apex(e(2, 6))),
    (0b0000_1011, Split::Apex(e(0, 4))),
    (0b0000_1101, Split::Apex(e(3, 7))),
    (0b0000_1110, Split::Apex(e(1, 5))),
    (0b0001_0011, Split::Apex(e(1, 3))),
    (0b0001_0101, Split::Apex(e(4, 5))),
    (0b0001_1011, Split::Centre([e(2, 3), e(4, 6), e(1, 5)])),
    (0b0001_1101, Split::Centre([e(1, 3), e(4, 5), e(2, 6)])),
    (0b0001_1110, Split::Apex(e(1, 5))),
    (0b0001_1111, Split::Apex(e(2, 6))),
    (0b0010_0011, Split::Apex(e(5, 7))),
    (0b0010_0111, Split::Centre([e(2, 3), e(5, 7), e(0, 4)])),
    (0b0010_1010, Split::Apex(e(2, 3))),
    (0b0010_1101, Split::Apex(e(3, 7))),
    (0b0010_1110, Split::Centre([e(0, 1), e(5, 7), e(2, 6)])),
    (0b0010_1111, Split::Apex(e(0, 4))),
    (0b0011_0001, Split::Apex(e(0, 2))),
    (0b0011_0010, Split::Apex(e(4, 6))),
    (0b0011_0101, Split::Centre([e(2, 3), e(4, 6), e(1, 5)])),
    (0b0011_0110, Split::Apex(e(1, 3))),
    (0b0011_0111, Split::Apex(e(1, 3))),
    (0b0011_1001, Split::Apex(e(0, 2))),
    (0b0011_1010, Split::Centre([e(2, 3), e(5, 7), e(0, 4)])),
    (0b0011_1011, Split::Apex(e(5, 7))),
    (0b0011_1101, Split::Apex(e(0, 1))),
    (0b0011_1110, Split::Apex(e(0, 1))),
    (0b1000_0111, Split::Apex(e(2, 6))),
    (0b1000_1010, Split::Apex(e(6, 7))),
    (0b1000_1011, Split::Centre([e(2, 3), e(5, 7), e(0, 4)])),
    (0b1000_1100, Split::Apex(e(0, 2))),
    (0b1000_1101, Split::Centre([e(0, 1), e(5, 7), e(2, 6)])),
    (0b1000_1111, Split::Apex(e(1, 5))),
    (0b1001_0011, Split::Apex(e(1, 3))),
    (0b1001_0101, Split::Apex(e(4, 5))),
    (0b1001_1010, Split::Apex(e(6, 7))),
    (0b1001_1011, Split::Apex(e(1, 5))),
    (0b1001_1100, Split::Apex(e(0, 2))),
    (0b1001_1101, Split::Apex(e(2, 6))),
    (0b1001_1111, Split::Apex(e(1, 5))),
    (0b1010_0010, Split::Apex(e(0, 1))),
    (0b1010_0011, Split::Centre([e(1, 3), e(6, 7), e(0, 4)])),
    (0b1010_0110, Split::Apex(e(0, 1))),
    (0b1010_0111, Split::Apex(e(1, 3))),
    (0b1010_1000, Split::Apex(e(4, 5))),
    (0b1010_1001, Split::Apex(e(4, 5))),
    (0b1010_1011, Split::Apex(e(2, 3))),
    (0b1010_1100, Split::Centre([e(0, 2), e(6, 7), e(1, 5)])),
    (0b1010_1101, Split::Apex(e(1, 3))),
    (0b1010_1110, Split::Apex(e(6, 7))),
    (0b1011_0000, Split::Apex(e(3, 7))),
    (0b1011_0001, Split::Centre([e(0, 1), e(4, 6), e(3, 7)])),
    (0b1011_0011, Split::Apex(e(4, 6))),
    (0b1011_0100, Split::Apex(e(3, 7))),
    (0b1011_0101, Split::Apex(e(4, 6))),
    (0b1011_0111, Split::Apex(e(1, 3))),
    (0b1011_1000, Split::Centre([e(1, 3), e(6, 7), e(0, 4)])),
    (0b1011_1001, Split::Apex(e(1, 5))),
    (0b1011_1010, Split::Apex(e(0, 1))),
    (0b1011_1100, Split::Apex(e(6, 7))),
    (0b1011_1110, Split::Apex(e(0, 1))),
];

/// Volume (mm³) and area (mm²) of PyRadiomics' surface.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Surface {
    pub volume: f64,
    pub area: f64,
}

/// The surface of `mask`, which must already carry PyRadiomics' margin of
/// one background voxel on every side (as `Roi::mask` does): the origin of
/// the array is the origin of the volume sum. `spacing_zyx` in array order.
pub fn surface(mask: &Array3<bool>, spacing_zyx: [f64; 3]) -> Surface {
    let table = patterns();
    let (nz, ny, nx) = mask.dim();
    let half = spacing_zyx.map(|s| s / 2.0);
    let (mut six_volume, mut area) = (0.0f64, 0.0f64);
    for z in 0..nz.saturating_sub(1) {
        for y in 0..ny.saturating_sub(1) {
            for x in 0..nx.saturating_sub(1) {
                let mut index = 0usize;
                for k in 0..8 {
                    if mask[[z + (k >> 2 & 1), y + (k >> 1 & 1), x + (k & 1)]] {
                        index |= 1 << k;
                    }
                }
                let pattern = &table[index];
                let base = [2 * z, 2 * y, 2 * x];
                for triangle in &pattern.triangles {
                    // (2i + h) · spacing/2 rounds once, to the same double
                    // as PyRadiomics' (i + h/2) · spacing.
                    let [a, b, c] = triangle.map(|v| {
                        std::array::from_fn(|d| (base[d] + v[d] as usize) as f64 * half[d])
                    });
                    six_volume += pattern.sign * dot(cross(a, b), c);
                    let ac = sub(a, c);
                    let bc = sub(b, c);
                    let n = cross(ac, bc);
                    area += 0.5 * dot(n, n).sqrt();
                }
            }
        }
    }
    Surface {
        volume: six_volume / 6.0,
        area,
    }
}

/// One corner pattern: its triangles (vertices in half-voxel units within
/// the cube, (z, y, x)) and the sign of their volume.
struct Pattern {
    sign: f64,
    triangles: Vec<[[u8; 3]; 3]>,
}

fn patterns() -> &'static [Pattern] {
    static TABLE: OnceLock<Vec<Pattern>> = OnceLock::new();
    TABLE.get_or_init(|| (0..256).map(pattern).collect())
}

fn pattern(index: usize) -> Pattern {
    let mut inside: [bool; 8] = std::array::from_fn(|k| index >> k & 1 == 1);
    let mut sign = 1.0;
    if inside[FLIP_CORNER] {
        inside = inside.map(|v| !v);
        sign = -1.0;
    }
    let looked_up = (0..8).filter(|&k| inside[k]).fold(0u8, |m, k| m | 1 << k);
    let split = NON_PLANAR
        .iter()
        .find(|(p, _)| *p == looked_up)
        .map(|(_, s)| s);
    let mut triangles = Vec::new();
    for lp in loops(&inside) {
        let lp = oriented(lp, &inside);
        let chosen = split.filter(|s| match s {
            Split::Apex(v) => lp.contains(v),
            Split::Centre(vs) => vs.iter().all(|v| lp.contains(v)),
        });
        for t in triangulate(&lp, chosen) {
            triangles.push(t.map(half_units));
        }
    }
    Pattern { sign, triangles }
}

fn offset(corner: u8) -> [i32; 3] {
    [
        (corner >> 2 & 1) as i32,
        (corner >> 1 & 1) as i32,
        (corner & 1) as i32,
    ]
}

/// An edge's midpoint in half-voxel units.
fn half_units(edge: Edge) -> [u8; 3] {
    let (a, b) = (offset(edge.0), offset(edge.1));
    std::array::from_fn(|d| (a[d] + b[d]) as u8)
}

fn edge(a: u8, b: u8) -> Edge {
    (a.min(b), a.max(b))
}

/// The six faces, each as its four corners in cyclic order.
fn faces() -> [[u8; 4]; 6] {
    std::array::from_fn(|f| {
        let (axis, side) = (f / 2, (f % 2) as u8);
        let others: Vec<usize> = (0..3).filter(|&a| a != axis).collect();
        let bit = |a: usize| 1u8 << (2 - a);
        [(0, 0), (0, 1), (1, 1), (1, 0)]
            .map(|(u, v)| side * bit(axis) + u * bit(others[0]) + v * bit(others[1]))
    })
}

/// The closed loops of cut edges: on each face the cut edges pair into
/// segments, an ambiguous face cutting off each of its inside corners.
fn loops(inside: &[bool; 8]) -> Vec<Vec<Edge>> {
    let mut segments: Vec<(Edge, Edge)> = Vec::new();
    for face in faces() {
        let cut: Vec<Edge> = (0..4)
            .filter(|&i| inside[face[i] as usize] != inside[face[(i + 1) % 4] as usize])
            .map(|i| edge(face[i], face[(i + 1) % 4]))
            .collect();
        match cut.len() {
            2 => segments.push((cut[0], cut[1])),
            4 => {
                for i in 0..4 {
                    if inside[face[i] as usize] {
                        segments.push((
                            edge(face[i], face[(i + 3) % 4]),
                            edge(face[i], face[(i + 1) % 4]),
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    // Every cut edge lies on two faces, so on exactly two segments.
    let mut loops = Vec::new();
    let mut used = vec![false; segments.len()];
    while let Some(first) = used.iter().position(|u| !u) {
        used[first] = true;
        let (start, mut current) = segments[first];
        let mut lp = vec![start];
        while current != start {
            lp.push(current);
            let next = (0..segments.len())
                .find(|&s| !used[s] && (segments[s].0 == current || segments[s].1 == current))
                .expect("every cut edge is on two segments");
            used[next] = true;
            let (a, b) = segments[next];
            current = if a == current { b } else { a };
        }
        loops.push(lp);
    }
    loops
}

/// The loop in the direction whose normal points from the inside corners of
/// its edges to their outside corners.
fn oriented(mut lp: Vec<Edge>, inside: &[bool; 8]) -> Vec<Edge> {
    let p: Vec<[i32; 3]> = lp.iter().map(|&v| half_units(v).map(i32::from)).collect();
    let mut normal = [0i32; 3];
    for i in 0..p.len() {
        let c = cross_i(p[i], p[(i + 1) % p.len()]);
        normal = std::array::from_fn(|d| normal[d] + c[d]);
    }
    let mut outward = [0i32; 3];
    for &(a, b) in &lp {
        let (o_a, o_b) = (offset(a), offset(b));
        let towards = if inside[a as usize] { 1 } else { -1 };
        outward = std::array::from_fn(|d| outward[d] + towards * (o_b[d] - o_a[d]));
    }
    if (0..3).map(|d| normal[d] * outward[d]).sum::<i32>() < 0 {
        lp.reverse();
    }
    lp
}

/// Triangles of an oriented loop: PyRadiomics' split where its loop is not
/// planar, a fan from the first vertex otherwise.
fn triangulate(lp: &[Edge], split: Option<&Split>) -> Vec<[Edge; 3]> {
    let n = lp.len();
    let rotated = |start: usize| -> Vec<Edge> { (0..n).map(|i| lp[(start + i) % n]).collect() };
    match split {
        Some(Split::Centre(centre)) => {
            let start = lp.iter().position(|v| centre.contains(v)).unwrap();
            let l = rotated(start);
            vec![
                [l[0], l[1], l[2]],
                [l[2], l[3], l[4]],
                [l[4], l[5], l[0]],
                [l[0], l[2], l[4]],
            ]
        }
        other => {
            let start = match other {
                Some(Split::Apex(apex)) => lp.iter().position(|v| v == apex).unwrap(),
                _ => 0,
            };
            let l = rotated(start);
            (1..n - 1).map(|i| [l[0], l[i], l[i + 1]]).collect()
        }
    }
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - b[1] * a[2],
        a[2] * b[0] - b[2] * a[0],
        a[0] * b[1] - b[0] * a[1],
    ]
}

fn cross_i(a: [i32; 3], b: [i32; 3]) -> [i32; 3] {
    [
        a[1] * b[2] - b[1] * a[2],
        a[2] * b[0] - b[2] * a[0],
        a[0] * b[1] - b[0] * a[1],
    ]
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coplanar(lp: &[Edge]) -> bool {
        let p: Vec<[i32; 3]> = lp.iter().map(|&v| half_units(v).map(i32::from)).collect();
        let d = |a: [i32; 3], b: [i32; 3]| -> [i32; 3] { std::array::from_fn(|k| a[k] - b[k]) };
        let normal = cross_i(d(p[1], p[0]), d(p[2], p[0]));
        p.iter()
            .all(|&q| (0..3).map(|k| normal[k] * d(q, p[0])[k]).sum::<i32>() == 0)
    }

    /// Each listed pattern has exactly one non-planar loop, which holds the
    /// listed vertices, and every other loop of every pattern is planar (so
    /// its fan is as good as PyRadiomics' triangles).
    #[test]
    fn the_split_list_covers_exactly_the_non_planar_loops() {
        for looked_up in 0u8..=255 {
            if looked_up & (1 << FLIP_CORNER) != 0 {
                continue;
            }
            let inside: [bool; 8] = std::array::from_fn(|k| looked_up >> k & 1 == 1);
            let non_planar: Vec<Vec<Edge>> = loops(&inside)
                .into_iter()
                .filter(|l| !coplanar(l))
                .collect();
            let listed = NON_PLANAR.iter().find(|(p, _)| *p == looked_up);
            match listed {
                None => assert!(non_planar.is_empty(), "pattern {looked_up:#010b}"),
                Some((_, split)) => {
                    assert_eq!(non_planar.len(), 1, "pattern {looked_up:#010b}");
                    let lp = &non_planar[0];
                    let holds = match split {
                        Split::Apex(v) => lp.contains(v),
                        Split::Centre(vs) => lp.len() == 6 && vs.iter().all(|v| lp.contains(v)),
                    };
                    assert!(holds, "pattern {looked_up:#010b}");
                }
            }
        }
    }

    /// One voxel: an octahedron on the six face centres, volume 1/6 and
    /// area √3 of a unit voxel, scaled by the spacing.
    #[test]
    fn one_voxel_is_an_octahedron() {
        let mut mask = Array3::from_elem((3, 3, 3), false);
        mask[[1, 1, 1]] = true;
        let s = surface(&mask, [1.0, 1.0, 1.0]);
        assert!((s.volume - 1.0 / 6.0).abs() < 1e-15, "{s:?}");
        assert!((s.area - 3f64.sqrt()).abs() < 1e-15, "{s:?}");
        let s = surface(&mask, [2.0, 3.0, 5.0]);
        assert!((s.volume - 30.0 / 6.0).abs() < 1e-12, "{s:?}");
    }

    /// The complement rule: a pattern with the flip corner inside has the
    /// triangles of its complement and the opposite volume sign.
    #[test]
    fn flipped_patterns_reuse_their_complement() {
        let table = patterns();
        for index in 0..256usize {
            let flipped = index & (1 << FLIP_CORNER) != 0;
            let p = &table[index];
            let q = &table[index ^ 0xff];
            assert_eq!(p.sign, if flipped { -1.0 } else { 1.0 });
            if flipped {
                assert_eq!(p.triangles, q.triangles, "pattern {index}");
            }
        }
        assert!(table[0].triangles.is_empty() && table[255].triangles.is_empty());
    }
}
