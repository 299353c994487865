// Alchemical pair terms for standard lambda-window TI, lambda from 0 (full LJ) to 1 (ideal
// gas). Shared include: no bindings. Each returns (u, f_over_r, du/dlambda), f_over_r =
// -u'(r)/r. The CPU reference is src/reference/alchemical_energies.rs.
//   path 1, the paper's soft core:  u = 4 eps (1 - l) [q^6 - q^3],  q = sigma^2 / (l sigma^2 + r^2)
//   path 2, LJ -> WCA (leg 1):      u = u_rep + (1 - l) u_att, WCA split at r_m = 2^(1/6) sigma
//   path 3, WCA -> ideal (leg 2):   u = 4 eps (1 - l) (s^3 - 1/2)^2 where s^3 > 1/2, else 0,
//                                    s = sigma^2 / (l sigma^2 + r^2)   (never negative)

const ALCHEMY_NONE: u32 = 0u;
const ALCHEMY_SOFT_CORE: u32 = 1u;
const ALCHEMY_LJ_TO_WCA: u32 = 2u;
const ALCHEMY_WCA_SOFT_CORE: u32 = 3u;

fn soft_core_pair(r2: f32, l: f32, sigma2: f32, eps4: f32) -> vec3<f32> {
    let q = sigma2 / (l * sigma2 + r2);
    let q2 = q * q;
    let q3 = q2 * q;
    let q4 = q2 * q2;
    let q6 = q3 * q3;
    let q7 = q6 * q;
    let w = 1.0 - l;
    let u = eps4 * w * (q6 - q3);
    let f_over_r = 2.0 * eps4 * w * (6.0 * q7 - 3.0 * q4) / sigma2;
    let dudl = -eps4 * (q6 - q3) - eps4 * w * (6.0 * q7 - 3.0 * q4);
    return vec3<f32>(u, f_over_r, dudl);
}

fn lj_to_wca_pair(r2: f32, l: f32, sigma2: f32, eps4: f32) -> vec3<f32> {
    let s2 = sigma2 / r2;
    let s6 = s2 * s2 * s2;
    let s12 = s6 * s6;
    let u_lj = eps4 * (s12 - s6);
    let f_lj = 6.0 * eps4 * (2.0 * s12 - s6) / r2;
    let eps = 0.25 * eps4;
    // r < 2^(1/6) sigma  <=>  s6 > 1/2
    if (s6 > 0.5) {
        return vec3<f32>(u_lj + l * eps, f_lj, eps);
    }
    return vec3<f32>((1.0 - l) * u_lj, (1.0 - l) * f_lj, -u_lj);
}

fn wca_soft_core_pair(r2: f32, l: f32, sigma2: f32, eps4: f32) -> vec3<f32> {
    let s = sigma2 / (l * sigma2 + r2);
    let s2 = s * s;
    let s3 = s2 * s;
    let s4 = s2 * s2;
    if (s3 <= 0.5) {
        return vec3<f32>(0.0);
    }
    let w = 1.0 - l;
    let h = s3 - 0.5;
    let u = eps4 * w * h * h;
    let f_over_r = 12.0 * eps4 * w * h * s4 / sigma2;
    let dudl = -eps4 * h * h - 6.0 * eps4 * w * h * s4;
    return vec3<f32>(u, f_over_r, dudl);
}

fn alchemical_pair(path: u32, r2: f32, l: f32, sigma2: f32, eps4: f32) -> vec3<f32> {
    switch path {
        case 1u: {
            return soft_core_pair(r2, l, sigma2, eps4);
        }
        case 2u: {
            return lj_to_wca_pair(r2, l, sigma2, eps4);
        }
        default: {
            return wca_soft_core_pair(r2, l, sigma2, eps4);
        }
    }
}
