// Lennard-Jones pair term. Shared include: no bindings.
//   u(r) = 4 eps [ (sigma/r)^12 - (sigma/r)^6 ] - shift
// Returns (u, f_over_r) with f_over_r = -u'(r)/r, so the force on i from j is f_over_r * (x_i - x_j).

fn lj_pair(r2: f32, sigma2: f32, eps4: f32, shift: f32) -> vec2<f32> {
    let inv_r2 = 1.0 / r2;
    let s2 = sigma2 * inv_r2;
    let s6 = s2 * s2 * s2;
    let s12 = s6 * s6;
    let energy = eps4 * (s12 - s6) - shift;
    let f_over_r = 6.0 * eps4 * (2.0 * s12 - s6) * inv_r2;
    return vec2<f32>(energy, f_over_r);
}
