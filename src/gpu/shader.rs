//! WGSL sources, their composition and validation.
//!
//! Kernels live in `shaders/*.wgsl`; shared pieces in `shaders/common/*.wgsl` are pulled in
//! with a line `#import name` (each include at most once per composed shader). All sources
//! are embedded in the binary. [`compose`] expands the imports, [`validate`] parses and
//! validates the result with naga using [`naga::valid::Capabilities::empty`] so nothing
//! beyond core WGSL (no f64, no subgroups, ...) slips in.
//!
//! Compile-time parameters ([`compose_with`]): a line `const NAME: u32 = 8u;` takes the
//! value given for `NAME` (else keeps its own), and a block
//!
//! ```text
//! //#repeat m NAME
//! acc_@m = fma(w, x_@m, acc_@m);
//! //#end
//! ```
//!
//! is written out NAME times with `@m` replaced by 0, 1, …: straight-line code per
//! register-held item, which a fixed-size loop over an array does not give on every
//! compiler (Mesa's llvmpipe keeps such arrays in memory). Blocks do not nest.

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
    ("peak", include_str!("../../shaders/peak.wgsl")),
];

fn lookup<'a>(table: &'a [(&str, &str)], name: &str) -> Option<&'a str> {
    table.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// Expands `#import name` lines of kernel `name` into one WGSL source, with every
/// compile-time parameter at its default (see the module doc).
pub fn compose(name: &str) -> Result<String> {
    compose_with(name, &[])
}

/// [`compose`] with compile-time parameters: `(NAME, value)` sets `const NAME: u32` and the
/// count of `//#repeat` blocks over NAME (see the module doc).
pub fn compose_with(name: &str, params: &[(&str, u32)]) -> Result<String> {
    let imported = compose_imports(name)?;
    apply_parameters(name, &imported, params)
}

/// Sets the `const NAME: u32 = …u;` lines named in `params` and writes out the
/// `//#repeat var NAME` … `//#end` blocks.
fn apply_parameters(name: &str, source: &str, params: &[(&str, u32)]) -> Result<String> {
    let err = |message: String| Error::Shader {
        name: name.into(),
        message,
    };
    let mut values: Vec<(String, u32)> = params.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    let mut out = String::new();
    let mut block: Option<(String, u32, Vec<String>)> = None;
    for line in source.lines() {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("//#repeat") {
            let mut words = rest.split_whitespace();
            let (Some(var), Some(count)) = (words.next(), words.next()) else {
                return Err(err(format!("`{trimmed}`: use `//#repeat var NAME`")));
            };
            let n = values
                .iter()
                .find(|(k, _)| k == count)
                .map(|(_, v)| *v)
                .ok_or_else(|| err(format!("`{trimmed}`: no `const {count}: u32` before it")))?;
            if block.is_some() {
                return Err(err("`//#repeat` blocks do not nest".into()));
            }
            block = Some((var.to_string(), n, Vec::new()));
            continue;
        }
        if trimmed.starts_with("//#end") {
            let (var, n, lines) = block
                .take()
                .ok_or_else(|| err("`//#end` without `//#repeat`".into()))?;
            let token = format!("@{var}");
            for k in 0..n {
                for l in &lines {
                    out.push_str(&l.replace(&token, &k.to_string()));
                    out.push('\n');
                }
            }
            continue;
        }
        if let Some((_, _, lines)) = block.as_mut() {
            lines.push(line.to_string());
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix("const ") {
            let rest = rest.split("//").next().unwrap_or("").trim_end();
            if let Some((const_name, value)) = rest
                .strip_suffix("u;")
                .and_then(|r| r.split_once(": u32 = "))
            {
                let given = values
                    .iter()
                    .find(|(k, _)| k == const_name)
                    .map(|(_, v)| *v);
                match (given, value.parse::<u32>()) {
                    (Some(v), _) => {
                        out.push_str(&format!("const {const_name}: u32 = {v}u;\n"));
                        continue;
                    }
                    (None, Ok(v)) => values.push((const_name.to_string(), v)),
                    (None, Err(_)) => {}
                }
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    if block.is_some() {
        return Err(err("`//#repeat` without `//#end`".into()));
    }
    Ok(out)
}

fn compose_imports(name: &str) -> Result<String> {
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

/// Composes (with `params`) and validates kernel `name`, returning the WGSL source.
pub fn composed_and_validated(name: &str, params: &[(&str, u32)]) -> Result<String> {
    let source = compose_with(name, params)?;
    validate(name, &source)?;
    Ok(source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_set_constants_and_write_out_repeat_blocks() {
        let src = "const N: u32 = 2u; // default\nconst OTHER: u32 = 5u;\nfn f() {\n    //#repeat m N\n    let x_@m = @mu;\n    //#end\n}\n";
        let out = apply_parameters("t", src, &[("N", 3)]).unwrap();
        assert!(out.contains("const N: u32 = 3u;"), "{out}");
        assert!(out.contains("const OTHER: u32 = 5u;"), "{out}");
        for k in 0..3 {
            assert!(out.contains(&format!("let x_{k} = {k}u;")), "{out}");
        }
        assert!(!out.contains("x_3") && !out.contains("//#"), "{out}");
        // The default count applies without a value.
        let out = apply_parameters("t", src, &[]).unwrap();
        assert!(
            out.contains("let x_1 = 1u;") && !out.contains("x_2"),
            "{out}"
        );
    }

    #[test]
    fn malformed_repeat_blocks_are_errors() {
        for bad in [
            "//#repeat m N\nx\n//#end\n",
            "const N: u32 = 2u;\n//#repeat m N\nx\n",
            "//#end\n",
            "const N: u32 = 2u;\n//#repeat m N\n//#repeat k N\n//#end\n//#end\n",
        ] {
            assert!(apply_parameters("t", bad, &[]).is_err(), "{bad}");
        }
    }
}
