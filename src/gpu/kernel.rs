//! Kernel families: one WGSL file, one explicit bind group layout, one pipeline per entry
//! point. Typed wrappers (e.g. `md::LjForces`) own a [`KernelFamily`] and build bind groups
//! from named argument structs.
//!
//! The layout is declared in Rust ([`BindingSpec`]) and a test reflects every shader with naga
//! to check it matches the WGSL (index, uniform vs storage, read vs read_write).

use super::{shader, Gpu};
use crate::error::{Error, Result};

/// How a binding is accessed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// `var<uniform>`.
    Uniform,
    /// `var<storage, read>`.
    ReadOnly,
    /// `var<storage, read_write>`.
    ReadWrite,
}

/// One binding of group 0.
#[derive(Clone, Copy, Debug)]
pub struct BindingSpec {
    /// Binding index.
    pub binding: u32,
    /// The WGSL variable name.
    pub name: &'static str,
    /// Its access.
    pub access: Access,
}

/// Shorthand constructor for [`BindingSpec`] tables.
pub const fn bind(binding: u32, name: &'static str, access: Access) -> BindingSpec {
    BindingSpec {
        binding,
        name,
        access,
    }
}

/// Pipelines of one shader file sharing one bind group layout.
pub struct KernelFamily {
    /// Shader file stem.
    pub name: &'static str,
    layout: wgpu::BindGroupLayout,
    pipelines: Vec<(&'static str, wgpu::ComputePipeline)>,
    bindings: &'static [BindingSpec],
}

impl KernelFamily {
    /// Composes, validates and compiles `shaders/<name>.wgsl` with the given layout and
    /// entry points.
    pub fn new(
        gpu: &Gpu,
        name: &'static str,
        bindings: &'static [BindingSpec],
        entries: &[&'static str],
    ) -> Result<Self> {
        Self::with_parameters(gpu, name, bindings, entries, &[])
    }

    /// [`KernelFamily::new`] with compile-time parameters
    /// ([`shader::compose_with`]).
    pub fn with_parameters(
        gpu: &Gpu,
        name: &'static str,
        bindings: &'static [BindingSpec],
        entries: &[&'static str],
        params: &[(&str, u32)],
    ) -> Result<Self> {
        let source = shader::composed_and_validated(name, params)?;
        let device = &gpu.device;
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(name),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
        let layout_entries: Vec<wgpu::BindGroupLayoutEntry> = bindings
            .iter()
            .map(|b| wgpu::BindGroupLayoutEntry {
                binding: b.binding,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: match b.access {
                        Access::Uniform => wgpu::BufferBindingType::Uniform,
                        Access::ReadOnly => wgpu::BufferBindingType::Storage { read_only: true },
                        Access::ReadWrite => wgpu::BufferBindingType::Storage { read_only: false },
                    },
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            })
            .collect();
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some(name),
            entries: &layout_entries,
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(name),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipelines = entries
            .iter()
            .map(|entry| {
                let p = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(entry),
                    layout: Some(&pipeline_layout),
                    module: &module,
                    entry_point: Some(entry),
                    compilation_options: Default::default(),
                    cache: None,
                });
                (*entry, p)
            })
            .collect();
        if let Some(err) = pollster::block_on(scope.pop()) {
            return Err(Error::Shader {
                name: name.into(),
                message: format!("pipeline creation failed: {err}"),
            });
        }
        Ok(KernelFamily {
            name,
            layout,
            pipelines,
            bindings,
        })
    }

    /// The pipeline of an entry point.
    ///
    /// # Panics
    /// If `entry` was not passed to [`KernelFamily::new`]; that is a programming error.
    pub fn pipeline(&self, entry: &str) -> &wgpu::ComputePipeline {
        self.pipelines
            .iter()
            .find(|(e, _)| *e == entry)
            .map(|(_, p)| p)
            .unwrap_or_else(|| panic!("kernel family {} has no entry {entry}", self.name))
    }

    /// Builds a bind group; `buffers[k]` is bound at `bindings[k].binding`.
    pub fn bind_group(&self, gpu: &Gpu, buffers: &[&wgpu::Buffer]) -> wgpu::BindGroup {
        assert_eq!(
            buffers.len(),
            self.bindings.len(),
            "kernel family {}: wrong number of buffers",
            self.name
        );
        let entries: Vec<wgpu::BindGroupEntry> = self
            .bindings
            .iter()
            .zip(buffers)
            .map(|(b, buf)| wgpu::BindGroupEntry {
                binding: b.binding,
                resource: buf.as_entire_binding(),
            })
            .collect();
        gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(self.name),
            layout: &self.layout,
            entries: &entries,
        })
    }
}

/// Records one dispatch of `entry` with `bind_group`.
pub fn dispatch(
    pass: &mut wgpu::ComputePass<'_>,
    family: &KernelFamily,
    entry: &str,
    bind_group: &wgpu::BindGroup,
    workgroups: (u32, u32, u32),
) {
    pass.set_pipeline(family.pipeline(entry));
    pass.set_bind_group(0, bind_group, &[]);
    pass.dispatch_workgroups(workgroups.0, workgroups.1, workgroups.2);
}

/// Checks that a shader's group-0 bindings match a declared layout exactly, by reflecting the
/// composed WGSL with naga. Returns a description of every mismatch.
pub fn check_layout(shader_name: &str, bindings: &[BindingSpec]) -> Result<Vec<String>> {
    let source = shader::compose(shader_name)?;
    let (module, _) = shader::validate(shader_name, &source)?;
    let mut problems = Vec::new();
    let mut found = Vec::new();
    for (_, var) in module.global_variables.iter() {
        let Some(rb) = &var.binding else { continue };
        let name = var.name.clone().unwrap_or_default();
        let access = match var.space {
            naga::AddressSpace::Uniform => Access::Uniform,
            naga::AddressSpace::Storage { access } => {
                if access.contains(naga::StorageAccess::STORE) {
                    Access::ReadWrite
                } else {
                    Access::ReadOnly
                }
            }
            other => {
                problems.push(format!("{name}: unsupported address space {other:?}"));
                continue;
            }
        };
        if rb.group != 0 {
            problems.push(format!("{name}: group {} (only group 0 is used)", rb.group));
        }
        found.push((rb.binding, name.clone()));
        match bindings.iter().find(|b| b.binding == rb.binding) {
            None => problems.push(format!(
                "{name}: binding {} not declared in Rust",
                rb.binding
            )),
            Some(spec) => {
                if spec.name != name {
                    problems.push(format!(
                        "binding {}: WGSL `{name}` vs Rust `{}`",
                        rb.binding, spec.name
                    ));
                }
                if spec.access != access {
                    problems.push(format!("{name}: WGSL {access:?} vs Rust {:?}", spec.access));
                }
            }
        }
    }
    for spec in bindings {
        if !found.iter().any(|(b, _)| *b == spec.binding) {
            problems.push(format!(
                "Rust binding {} `{}` not in WGSL",
                spec.binding, spec.name
            ));
        }
    }
    Ok(problems)
}

/// A host mirror of a WGSL struct (a uniform block, or a storage record): the shader it is
/// declared in, its WGSL name, its size and the byte offset of every field. Build it with
/// [`struct_layout!`](crate::struct_layout), which takes the offsets from the Rust type
/// itself, and compare it with the WGSL with [`check_struct`].
#[derive(Clone, Copy, Debug)]
pub struct StructLayout {
    /// Kernel file (stem under `shaders/`) whose composed source declares the struct.
    pub shader: &'static str,
    /// The struct's name in WGSL.
    pub wgsl_name: &'static str,
    /// `size_of` of the Rust type.
    pub size: usize,
    /// (field name, byte offset) of every Rust field, in declaration order.
    pub fields: &'static [(&'static str, usize)],
}

/// The [`StructLayout`] of a `#[repr(C)]` Rust mirror:
/// `struct_layout!("shader", "WgslName", RustType { field_a, field_b, … })`, listing every
/// field of the Rust type in order.
#[macro_export]
macro_rules! struct_layout {
    ($shader:expr, $wgsl:expr, $ty:ty { $($field:ident),* $(,)? }) => {
        $crate::gpu::kernel::StructLayout {
            shader: $shader,
            wgsl_name: $wgsl,
            size: ::std::mem::size_of::<$ty>(),
            fields: &[$((stringify!($field), ::std::mem::offset_of!($ty, $field))),*],
        }
    };
}

/// Compares a Rust mirror with naga's reflection of its WGSL struct: the same size, and
/// every named field (not starting with `_`) at the same offset on both sides. Returns the
/// differences (empty when they agree); fails only if the shader does not compose or has no
/// such struct.
pub fn check_struct(layout: &StructLayout) -> Result<Vec<String>> {
    let source = shader::compose(layout.shader)?;
    let (module, _) = shader::validate(layout.shader, &source)?;
    let members = module
        .types
        .iter()
        .find_map(|(_, ty)| match &ty.inner {
            naga::TypeInner::Struct { members, span }
                if ty.name.as_deref() == Some(layout.wgsl_name) =>
            {
                Some((members.clone(), *span as usize))
            }
            _ => None,
        })
        .ok_or_else(|| crate::Error::Shader {
            name: layout.shader.into(),
            message: format!("no struct `{}` in the composed source", layout.wgsl_name),
        })?;
    let (members, span) = members;
    let mut problems = Vec::new();
    if span != layout.size {
        problems.push(format!(
            "{}: WGSL size {span} bytes, Rust {}",
            layout.wgsl_name, layout.size
        ));
    }
    let named = |name: &str| !name.starts_with('_');
    for m in &members {
        let name = m.name.clone().unwrap_or_default();
        if !named(&name) {
            continue;
        }
        match layout.fields.iter().find(|(f, _)| *f == name) {
            None => problems.push(format!(
                "{}.{name}: not in the Rust mirror",
                layout.wgsl_name
            )),
            Some(&(_, offset)) if offset != m.offset as usize => problems.push(format!(
                "{}.{name}: WGSL offset {}, Rust {offset}",
                layout.wgsl_name, m.offset
            )),
            Some(_) => {}
        }
    }
    for (field, _) in layout.fields.iter().filter(|(f, _)| named(f)) {
        if !members.iter().any(|m| m.name.as_deref() == Some(*field)) {
            problems.push(format!("{}.{field}: not in the WGSL", layout.wgsl_name));
        }
    }
    Ok(problems)
}
