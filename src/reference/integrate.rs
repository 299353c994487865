//! One BAOAB Langevin step in f64: the reference of `shaders/integrate.wgsl`, drawing the
//! same Philox normals (counter (global index, step, 0, 0)).

use super::rng::{gaussian3, philox4x32_10};

/// Integrator constants.
#[derive(Clone, Copy, Debug)]
pub struct Baoab {
    /// Time step.
    pub dt: f64,
    /// Friction gamma.
    pub friction: f64,
    /// kT.
    pub kt: f64,
    /// Mass.
    pub mass: f64,
    /// Box side.
    pub box_length: f64,
    /// Philox key.
    pub key: [u32; 2],
}

impl Baoab {
    /// exp(-gamma dt).
    pub fn c1(&self) -> f64 {
        (-self.friction * self.dt).exp()
    }
    /// sqrt((1 - c1^2) kT / m).
    pub fn c2(&self) -> f64 {
        ((1.0 - self.c1().powi(2)) * self.kt / self.mass).sqrt()
    }

    /// B-A-O-A half of the step: velocities from `forces`, new wrapped positions.
    /// `first_index` is the global index of particle 0 (replica offset).
    pub fn baoa(
        &self,
        pos: &mut [[f64; 3]],
        vel: &mut [[f64; 3]],
        forces: &[[f64; 3]],
        step: u32,
        first_index: u32,
    ) {
        let (c1, c2, h) = (self.c1(), self.c2(), 0.5 * self.dt);
        for i in 0..pos.len() {
            let xi = if c2 > 0.0 {
                gaussian3(philox4x32_10(
                    [first_index + i as u32, step, 0, 0],
                    self.key,
                ))
            } else {
                [0.0; 3]
            };
            for k in 0..3 {
                let mut v = vel[i][k] + h * forces[i][k] / self.mass;
                let mut x = pos[i][k] + h * v;
                v = c1 * v + c2 * xi[k];
                x += h * v;
                x -= self.box_length * (x / self.box_length).floor();
                if x >= self.box_length {
                    x = 0.0;
                }
                pos[i][k] = x;
                vel[i][k] = v;
            }
        }
    }

    /// Final B: v += dt/2 F/m with forces at the new positions.
    pub fn b(&self, vel: &mut [[f64; 3]], forces: &[[f64; 3]]) {
        for (v, f) in vel.iter_mut().zip(forces) {
            for k in 0..3 {
                v[k] += 0.5 * self.dt * f[k] / self.mass;
            }
        }
    }
}
