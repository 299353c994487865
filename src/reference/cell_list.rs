//! Cell list and neighbour list by brute force and by cells, in f64: the reference of
//! `shaders/cell_list.wgsl`. Cell numbering matches the shader.

use super::lj_forces::{minimum_image, norm2};

/// Cell coordinates of a position for `cells_side` cells per box side.
pub fn cell_coords(x: [f64; 3], box_length: f64, cells_side: u32) -> [u32; 3] {
    let inv_cell = cells_side as f64 / box_length;
    x.map(|v| ((v * inv_cell).max(0.0) as u32).min(cells_side - 1))
}

/// Flat cell index within a replica: (cz * s + cy) * s + cx.
pub fn cell_index(c: [u32; 3], cells_side: u32) -> u32 {
    (c[2] * cells_side + c[1]) * cells_side + c[0]
}

/// Particles per cell (one replica).
pub fn cell_counts(pos: &[[f64; 3]], box_length: f64, cells_side: u32) -> Vec<u32> {
    let mut counts = vec![0u32; (cells_side as usize).pow(3)];
    for &x in pos {
        counts[cell_index(cell_coords(x, box_length, cells_side), cells_side) as usize] += 1;
    }
    counts
}

/// Exclusive prefix sum, with the total appended.
pub fn exclusive_scan(counts: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(counts.len() + 1);
    let mut s = 0u32;
    for &c in counts {
        out.push(s);
        s += c;
    }
    out.push(s);
    out
}

/// Sorted neighbour sets within `r_list` of every particle, by brute force over all pairs.
pub fn neighbors_brute_force(pos: &[[f64; 3]], box_length: f64, r_list: f64) -> Vec<Vec<u32>> {
    let r2max = r_list * r_list;
    (0..pos.len())
        .map(|i| {
            (0..pos.len())
                .filter(|&j| {
                    j != i && {
                        let d = [
                            pos[i][0] - pos[j][0],
                            pos[i][1] - pos[j][1],
                            pos[i][2] - pos[j][2],
                        ];
                        norm2(minimum_image(d, box_length)) < r2max
                    }
                })
                .map(|j| j as u32)
                .collect()
        })
        .collect()
}

/// Sorted neighbour sets within `r_list` by searching the (2 reach + 1)^3 surrounding cells
/// (requires `cells_side >= 2 reach + 1` and cells at least `r_list / reach` wide).
pub fn neighbors_by_cells(
    pos: &[[f64; 3]],
    box_length: f64,
    r_list: f64,
    cells_side: u32,
    reach: i64,
) -> Vec<Vec<u32>> {
    assert!(cells_side as i64 > 2 * reach);
    assert!(box_length / cells_side as f64 >= r_list / reach as f64);
    let s = cells_side as i64;
    let ncell = (cells_side as usize).pow(3);
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); ncell];
    for (i, &x) in pos.iter().enumerate() {
        members[cell_index(cell_coords(x, box_length, cells_side), cells_side) as usize]
            .push(i as u32);
    }
    let r2max = r_list * r_list;
    pos.iter()
        .enumerate()
        .map(|(i, &xi)| {
            let c = cell_coords(xi, box_length, cells_side).map(|v| v as i64);
            let mut list = Vec::new();
            for dz in -reach..=reach {
                for dy in -reach..=reach {
                    for dx in -reach..=reach {
                        let cc = [
                            ((c[0] + dx + s) % s) as u32,
                            ((c[1] + dy + s) % s) as u32,
                            ((c[2] + dz + s) % s) as u32,
                        ];
                        for &j in &members[cell_index(cc, cells_side) as usize] {
                            let xj = pos[j as usize];
                            let d = [xi[0] - xj[0], xi[1] - xj[1], xi[2] - xj[2]];
                            if j as usize != i && norm2(minimum_image(d, box_length)) < r2max {
                                list.push(j);
                            }
                        }
                    }
                }
            }
            list.sort_unstable();
            list
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_search_equals_brute_force() {
        let mut rng_state = 12345u64;
        let mut next = || {
            rng_state = rng_state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (rng_state >> 11) as f64 / (1u64 << 53) as f64
        };
        let l = 9.0;
        let pos: Vec<[f64; 3]> = (0..300)
            .map(|_| [next() * l, next() * l, next() * l])
            .collect();
        let brute = neighbors_brute_force(&pos, l, 2.8);
        assert_eq!(neighbors_by_cells(&pos, l, 2.8, 3, 1), brute);
        assert_eq!(neighbors_by_cells(&pos, l, 2.8, 6, 2), brute);
        let counts = cell_counts(&pos, l, 6);
        assert_eq!(counts.iter().sum::<u32>(), 300);
        let scan = exclusive_scan(&counts);
        assert_eq!(scan[0], 0);
        assert_eq!(*scan.last().unwrap(), 300);
    }
}
