//! Reduced energies of stored configurations in every λ state, on the device
//! (`shaders/alchemical_energies.wgsl`), for MBAR over the λ windows. The f64 reference is
//! [`crate::reference::alchemical_energies::alchemical_energies`].

use crate::error::Result;
use crate::gpu::kernel::StructLayout;
use crate::gpu::kernel::{bind, dispatch, Access::*, BindingSpec, KernelFamily};
use crate::gpu::Gpu;
use crate::reference::alchemical_energies::AlchemicalPath;
use crate::scene::LjParams;
use crate::struct_layout;
use bytemuck::{Pod, Zeroable};

/// Host mirrors of this module's WGSL structs, for the layout reflection test.
pub const STRUCT_LAYOUTS: &[StructLayout] = &[struct_layout!(
    "alchemical_energies",
    "EnergyParams",
    EnergyParams {
        n,
        n_configs,
        n_states,
        path,
        box_length,
        inv_box,
        sigma2,
        eps4,
        rc2,
        beta,
        _pad0,
        _pad1,
    }
)];

/// Bindings of `shaders/alchemical_energies.wgsl`.
pub const ALCHEMICAL_ENERGIES_BINDINGS: &[BindingSpec] = &[
    bind(0, "params", Uniform),
    bind(1, "configs", ReadOnly),
    bind(2, "lambdas", ReadOnly),
    bind(3, "u", ReadWrite),
];

/// Host mirror of WGSL `EnergyParams`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
struct EnergyParams {
    n: u32,
    n_configs: u32,
    n_states: u32,
    path: u32,
    box_length: f32,
    inv_box: f32,
    sigma2: f32,
    eps4: f32,
    rc2: f32,
    beta: f32,
    _pad0: u32,
    _pad1: u32,
}

/// `shaders/alchemical_energies.wgsl`.
pub struct AlchemicalEnergies(pub KernelFamily);

impl AlchemicalEnergies {
    /// Compiles the kernel.
    pub fn new(gpu: &Gpu) -> Result<Self> {
        Ok(Self(KernelFamily::new(
            gpu,
            "alchemical_energies",
            ALCHEMICAL_ENERGIES_BINDINGS,
            &["alchemical_energies"],
        )?))
    }

    /// `u[l][c]` = β U_λl(configuration c) for `count` configurations of `n` particles
    /// stored as vec4 in `configs` (starting at configuration 0).
    #[allow(clippy::too_many_arguments)]
    pub fn energies(
        &self,
        gpu: &Gpu,
        configs: &wgpu::Buffer,
        count: u32,
        n: u32,
        lambdas: &[f64],
        path: AlchemicalPath,
        lj: &LjParams,
        beta: f64,
    ) -> Result<Vec<Vec<f64>>> {
        let states = lambdas.len();
        let limit = gpu.limits.max_storage_buffer_binding_size.min(64 << 20);
        let per_config = 16 * n as u64;
        let chunk = (limit / per_config)
            .min(gpu.limits.max_compute_workgroups_per_dimension as u64)
            .max(1);
        let chunk_configs = gpu.storage_zeroed("mbar configs", chunk * per_config);
        let lambda_buf = gpu.storage_from(
            "mbar lambdas",
            &lambdas.iter().map(|&l| l as f32).collect::<Vec<f32>>(),
        );
        let out_buf = gpu.storage_zeroed("mbar u", 4 * chunk * states as u64);
        let params_buf = gpu.uniform_from("mbar params", &EnergyParams::default());
        let group = self
            .0
            .bind_group(gpu, &[&params_buf, &chunk_configs, &lambda_buf, &out_buf]);
        let mut u = vec![Vec::with_capacity(count as usize); states];
        let mut first = 0u64;
        while first < count as u64 {
            let m = chunk.min(count as u64 - first);
            let p = EnergyParams {
                n,
                n_configs: m as u32,
                n_states: states as u32,
                path: path.code(),
                box_length: lj.box_length as f32,
                inv_box: (1.0 / lj.box_length) as f32,
                sigma2: (lj.sigma * lj.sigma) as f32,
                eps4: (4.0 * lj.epsilon) as f32,
                rc2: lj.cutoff.map_or(f32::MAX, |rc| (rc * rc) as f32),
                beta: beta as f32,
                _pad0: 0,
                _pad1: 0,
            };
            gpu.queue
                .write_buffer(&params_buf, 0, bytemuck::bytes_of(&p));
            let mut encoder = gpu.device.create_command_encoder(&Default::default());
            encoder.copy_buffer_to_buffer(
                configs,
                first * per_config,
                &chunk_configs,
                0,
                m * per_config,
            );
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                dispatch(
                    &mut pass,
                    &self.0,
                    "alchemical_energies",
                    &group,
                    (m as u32, states as u32, 1),
                );
            }
            gpu.queue.submit([encoder.finish()]);
            let raw: Vec<f32> = gpu.read(&out_buf, 0, m * states as u64)?;
            for (l, row) in u.iter_mut().enumerate() {
                row.extend(
                    raw[l * m as usize..(l + 1) * m as usize]
                        .iter()
                        .map(|&x| x as f64),
                );
            }
            first += m;
        }
        Ok(u)
    }
}
