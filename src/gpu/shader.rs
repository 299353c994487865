//! WGSL sources, their composition and validation.
//!
//! Kernels live in `shaders/*.wgsl`; shared pieces in `shaders/common/*.wgsl` are pulled in
//! with a line `#import name` (each include at most once per composed shader). All sources
//! are embedded in the binary. [`compose`] expands the imports, [`validate`] parses and
//! validates the result with naga using [`naga::valid::Capabilities::empty`] so nothing
//! beyond core WGSL (no f64, no subgroups, ...) slips in.

use crate::error::{Error, Result};

/// Shared include files: `(name, source)`.
pub const INCLUDES: &[(&str, &str)] = &[
    ("pbc", include_str!("../../shaders/common/pbc.wgsl")),
    ("rng", include_str!("../../shaders/common/rng.wgsl")),
    ("lj", include_str!("../../shaders/common/lj.wgsl")),
    ("alchemy", include_str!("../../shaders/common/alchemy.wgsl")),
    (
        "model_common",
        include_str!("../../shaders/common/model_common.wgsl"),
    ),
    (
        "md_types",
        include_str!("../../shaders/common/md_types.wgsl"),
    ),
];

/// Kernel files: `(name, source)`; `name` is the file stem under `shaders/`.
pub const KERNELS: &[(&str, &str)] = &[
    (
        "alchemical_energies",
        include_str!("../../shaders/alchemical_energies.wgsl"),
    ),
    ("lj_forces", include_str!("../../shaders/lj_forces.wgsl")),
    ("cell_list", include_str!("../../shaders/cell_list.wgsl")),
    (
        "step_control",
        include_str!("../../shaders/step_control.wgsl"),
    ),
    ("integrate", include_str!("../../shaders/integrate.wgsl")),
    (
        "observables",
        include_str!("../../shaders/observables.wgsl"),
    ),
    ("widom", include_str!("../../shaders/widom.wgsl")),
    ("adam", include_str!("../../shaders/adam.wgsl")),
    (
        "model_energy",
        include_str!("../../shaders/model_energy.wgsl"),
    ),
    ("model_grad", include_str!("../../shaders/model_grad.wgsl")),
    ("denoise", include_str!("../../shaders/denoise.wgsl")),
];

fn lookup<'a>(table: &'a [(&str, &str)], name: &str) -> Option<&'a str> {
    table.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// Expands `#import name` lines of kernel `name` into one WGSL source.
pub fn compose(name: &str) -> Result<String> {
    let source = lookup(KERNELS, name).ok_or_else(|| Error::Shader {
        name: name.to_string(),
        message: "no such kernel file under shaders/".into(),
    })?;
    let mut out = String::new();
    let mut seen = Vec::new();
    expand(name, source, &mut out, &mut seen, 0)?;
    Ok(out)
}

fn expand(
    name: &str,
    source: &str,
    out: &mut String,
    seen: &mut Vec<String>,
    depth: usize,
) -> Result<()> {
    if depth > 8 {
        return Err(Error::Shader {
            name: name.into(),
            message: "#import nesting deeper than 8 (cycle?)".into(),
        });
    }
    for line in source.lines() {
        if let Some(rest) = line.trim_start().strip_prefix("#import") {
            let include = rest.trim();
            if seen.iter().any(|s| s == include) {
                continue;
            }
            let body = lookup(INCLUDES, include).ok_or_else(|| Error::Shader {
                name: name.into(),
                message: format!("`#import {include}`: no such file shaders/common/{include}.wgsl"),
            })?;
            seen.push(include.to_string());
            out.push_str(&format!("// ---- begin include {include}\n"));
            expand(include, body, out, seen, depth + 1)?;
            out.push_str(&format!("// ---- end include {include}\n"));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(())
}

/// Parses and validates a composed WGSL source with core capabilities only.
pub fn validate(name: &str, source: &str) -> Result<(naga::Module, naga::valid::ModuleInfo)> {
    let module = naga::front::wgsl::parse_str(source).map_err(|e| Error::Shader {
        name: name.into(),
        message: e.emit_to_string_with_path(source, &format!("{name}.wgsl (composed)")),
    })?;
    let info = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::empty(),
    )
    .validate(&module)
    .map_err(|e| Error::Shader {
        name: name.into(),
        message: e.emit_to_string_with_path(source, &format!("{name}.wgsl (composed)")),
    })?;
    Ok((module, info))
}

/// Composes and validates kernel `name`, returning the WGSL source.
pub fn composed_and_validated(name: &str) -> Result<String> {
    let source = compose(name)?;
    validate(name, &source)?;
    Ok(source)
}
