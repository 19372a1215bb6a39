//! 3D convex hull (quickhull) with exact integer predicates. The mesh
//! vertices lie on a half-voxel lattice, so they are integers and orientation
//! tests are exact: the many coplanar lattice points cannot make the
//! algorithm inconsistent. A point exactly on a hull plane is never "outside",
//! so coplanar points end up inside faces and never become vertices.

use std::collections::HashMap;

pub type Point = [i64; 3];

fn sub(a: Point, b: Point) -> Point {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn cross(u: Point, v: Point) -> [i128; 3] {
    let (u, v) = (u.map(i128::from), v.map(i128::from));
    [
        u[1] * v[2] - u[2] * v[1],
        u[2] * v[0] - u[0] * v[2],
        u[0] * v[1] - u[1] * v[0],
    ]
}

/// Six times the signed volume of (a, b, c, p): positive when p lies on the
/// side the right-hand normal of (a, b, c) points to.
pub fn orient(a: Point, b: Point, c: Point, p: Point) -> i128 {
    let n = cross(sub(b, a), sub(c, a));
    let d = sub(p, a).map(i128::from);
    n[0] * d[0] + n[1] * d[1] + n[2] * d[2]
}

struct Face {
    v: [usize; 3],
    outside: Vec<usize>,
    alive: bool,
}

/// Triangles (indices into `points`, outward-oriented) of the convex hull,
/// or `None` when the points are coplanar.
pub fn convex_hull(points: &[Point]) -> Option<Vec<[usize; 3]>> {
    let simplex = initial_simplex(points)?;
    let [i0, i1, i2, i3] = simplex;
    let p = |i: usize| points[i];
    let mut faces: Vec<Face> = Vec::new();
    let mut edge_face: HashMap<(usize, usize), usize> = HashMap::new();
    let add_face =
        |faces: &mut Vec<Face>, edge_face: &mut HashMap<(usize, usize), usize>, v: [usize; 3]| {
            let id = faces.len();
            for m in 0..3 {
                edge_face.insert((v[m], v[(m + 1) % 3]), id);
            }
            faces.push(Face {
                v,
                outside: Vec::new(),
                alive: true,
            });
            id
        };
    for (tri, opposite) in [
        ([i0, i1, i2], i3),
        ([i0, i1, i3], i2),
        ([i0, i2, i3], i1),
        ([i1, i2, i3], i0),
    ] {
        let v = if orient(p(tri[0]), p(tri[1]), p(tri[2]), p(opposite)) > 0 {
            [tri[0], tri[2], tri[1]]
        } else {
            tri
        };
        add_face(&mut faces, &mut edge_face, v);
    }
    let above = |faces: &Vec<Face>, f: usize, q: usize| {
        let v = faces[f].v;
        orient(p(v[0]), p(v[1]), p(v[2]), p(q))
    };
    for q in 0..points.len() {
        if simplex.contains(&q) {
            continue;
        }
        if let Some(f) = (0..4).find(|&f| above(&faces, f, q) > 0) {
            faces[f].outside.push(q);
        }
    }

    let mut pending: Vec<usize> = (0..4).collect();
    while let Some(f) = pending.pop() {
        if !faces[f].alive || faces[f].outside.is_empty() {
            continue;
        }
        // The furthest point from the face plane (same normal for all).
        let eye = *faces[f]
            .outside
            .iter()
            .max_by_key(|&&q| above(&faces, f, q))
            .expect("non-empty");
        // Faces strictly visible from the eye, and the horizon around them.
        let mut visible = vec![f];
        let mut is_visible: HashMap<usize, bool> = HashMap::from([(f, true)]);
        let mut horizon: Vec<(usize, usize)> = Vec::new();
        let mut n = 0;
        while n < visible.len() {
            let g = visible[n];
            n += 1;
            let v = faces[g].v;
            for m in 0..3 {
                let (a, b) = (v[m], v[(m + 1) % 3]);
                let h = edge_face[&(b, a)];
                let vis = *is_visible
                    .entry(h)
                    .or_insert_with(|| above(&faces, h, eye) > 0);
                if vis {
                    if !visible.contains(&h) {
                        visible.push(h);
                    }
                } else {
                    horizon.push((a, b));
                }
            }
        }
        let mut orphans = Vec::new();
        for &g in &visible {
            faces[g].alive = false;
            orphans.append(&mut faces[g].outside);
            let v = faces[g].v;
            for m in 0..3 {
                edge_face.remove(&(v[m], v[(m + 1) % 3]));
            }
        }
        let new_faces: Vec<usize> = horizon
            .iter()
            .map(|&(a, b)| add_face(&mut faces, &mut edge_face, [a, b, eye]))
            .collect();
        for q in orphans {
            if q == eye {
                continue;
            }
            if let Some(&g) = new_faces.iter().find(|&&g| above(&faces, g, q) > 0) {
                faces[g].outside.push(q);
            }
        }
        pending.extend(new_faces);
    }
    Some(faces.into_iter().filter(|f| f.alive).map(|f| f.v).collect())
}

/// Four affinely independent points, or `None` when all are coplanar.
fn initial_simplex(points: &[Point]) -> Option<[usize; 4]> {
    let i0 = (0..points.len()).min_by_key(|&i| points[i])?;
    let norm2 = |v: Point| {
        v.iter()
            .map(|&c| i128::from(c) * i128::from(c))
            .sum::<i128>()
    };
    let i1 = (0..points.len()).max_by_key(|&i| norm2(sub(points[i], points[i0])))?;
    if points[i1] == points[i0] {
        return None;
    }
    let area2 = |i: usize| {
        let c = cross(sub(points[i1], points[i0]), sub(points[i], points[i0]));
        c[0] * c[0] + c[1] * c[1] + c[2] * c[2]
    };
    let i2 = (0..points.len()).max_by_key(|&i| area2(i))?;
    if area2(i2) == 0 {
        return None;
    }
    let vol = |i: usize| orient(points[i0], points[i1], points[i2], points[i]).abs();
    let i3 = (0..points.len()).max_by_key(|&i| vol(i))?;
    if vol(i3) == 0 {
        return None;
    }
    Some([i0, i1, i2, i3])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn volume6(points: &[Point], faces: &[[usize; 3]]) -> i128 {
        faces
            .iter()
            .map(|f| orient([0; 3], points[f[0]], points[f[1]], points[f[2]]))
            .sum()
    }

    #[test]
    fn hull_of_a_lattice_cube_has_its_8_corners_and_volume() {
        let mut pts = Vec::new();
        for x in 0..4 {
            for y in 0..4 {
                for z in 0..4 {
                    pts.push([x, y, z]);
                }
            }
        }
        let faces = convex_hull(&pts).unwrap();
        let mut verts: Vec<usize> = faces.iter().flatten().copied().collect();
        verts.sort();
        verts.dedup();
        assert_eq!(verts.len(), 8);
        assert_eq!(faces.len(), 12);
        assert_eq!(volume6(&pts, &faces), 6 * 27);
    }

    #[test]
    fn random_points_hull_is_closed_convex_and_contains_all() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for _ in 0..10 {
            let pts: Vec<Point> = (0..300)
                .map(|_| {
                    [
                        rng.gen_range(-20..20),
                        rng.gen_range(-20..20),
                        rng.gen_range(-5..5),
                    ]
                })
                .collect();
            let faces = convex_hull(&pts).unwrap();
            // Every point is inside or on every face plane.
            for f in &faces {
                for &q in &pts {
                    assert!(orient(pts[f[0]], pts[f[1]], pts[f[2]], q) <= 0);
                }
            }
            // Closed: each directed edge has its twin.
            let edges: std::collections::HashSet<(usize, usize)> = faces
                .iter()
                .flat_map(|f| (0..3).map(move |m| (f[m], f[(m + 1) % 3])))
                .collect();
            assert_eq!(edges.len(), 3 * faces.len());
            for &(a, b) in &edges {
                assert!(edges.contains(&(b, a)));
            }
            assert!(volume6(&pts, &faces) > 0);
        }
    }

    #[test]
    fn coplanar_points_have_no_hull() {
        let pts = vec![[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]];
        assert!(convex_hull(&pts).is_none());
    }
}
