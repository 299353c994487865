//! Every composed shader parses and validates with naga using core capabilities only, and
//! translates to SPIR-V, MSL and HLSL; every Rust bind group layout and every Rust mirror of
//! a WGSL struct (uniform blocks, storage records) matches its WGSL. No adapter needed.

use nti_gpu::gpu::kernel::{check_layout, check_struct, StructLayout};
use nti_gpu::gpu::shader::{compose, validate, KERNELS};
use nti_gpu::md::ALL_LAYOUTS;

#[test]
fn every_kernel_validates_with_core_capabilities() {
    for (name, _) in KERNELS {
        let src = compose(name).unwrap();
        assert!(!src.contains("#import"), "{name}: unexpanded import");
        if let Err(e) = validate(name, &src) {
            panic!("{e}");
        }
    }
}

#[test]
fn every_kernel_translates_to_spirv_msl_hlsl() {
    for (name, _) in KERNELS {
        let src = compose(name).unwrap();
        let (module, info) = validate(name, &src).unwrap();
        naga::back::spv::write_vec(&module, &info, &Default::default(), None)
            .unwrap_or_else(|e| panic!("{name}: SPIR-V: {e}"));
        naga::back::msl::write_string(&module, &info, &Default::default(), &Default::default())
            .unwrap_or_else(|e| panic!("{name}: MSL: {e}"));
        let mut hlsl = String::new();
        let options = naga::back::hlsl::Options::default();
        let pipeline = naga::back::hlsl::PipelineOptions::default();
        naga::back::hlsl::Writer::new(&mut hlsl, &options, &pipeline)
            .write(&module, &info, None)
            .unwrap_or_else(|e| panic!("{name}: HLSL: {e}"));
        assert!(
            hlsl.contains("numthreads"),
            "{name}: no compute entry in HLSL"
        );
    }
}

#[test]
fn bind_group_layouts_match_the_wgsl() {
    let all_layouts = || {
        ALL_LAYOUTS
            .iter()
            .chain(nti_gpu::model::model_energy::ALL_LAYOUTS)
            .chain(nti_gpu::model::model_grad::ALL_LAYOUTS)
            .chain(nti_gpu::model::adam::ALL_LAYOUTS)
            .chain(nti_gpu::ti::denoise::ALL_LAYOUTS)
            .chain(nti_gpu::bench::model::ALL_LAYOUTS)
    };
    for (name, bindings) in all_layouts() {
        let problems = check_layout(name, bindings).unwrap();
        assert!(problems.is_empty(), "{name}: {problems:#?}");
    }
    // Every kernel file has a declared layout.
    for (name, _) in KERNELS {
        assert!(
            all_layouts().any(|(n, _)| n == name),
            "{name} has no layout"
        );
    }
}

#[test]
fn layout_check_catches_a_mismatch() {
    use nti_gpu::gpu::kernel::{bind, Access};
    const WRONG: &[nti_gpu::gpu::kernel::BindingSpec] = &[
        bind(0, "params", Access::Uniform),
        bind(1, "pos", Access::ReadWrite),
    ];
    let problems = check_layout("lj_forces", WRONG).unwrap();
    assert!(problems.iter().any(|p| p.contains("pos")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("force")), "{problems:?}");
}

#[test]
fn validation_rejects_f64_and_bad_wgsl() {
    let f64_src = "@compute @workgroup_size(1) fn main() { let x: f64 = 1.0lf; }";
    assert!(
        validate("f64", f64_src).is_err(),
        "f64 must be rejected by core validation"
    );
    let reserved = "@compute @workgroup_size(1) fn main() { let active = 1; }";
    assert!(validate("reserved", reserved).is_err());
}

fn all_struct_layouts() -> Vec<StructLayout> {
    [
        nti_gpu::md::params::STRUCT_LAYOUTS,
        nti_gpu::md::widom::STRUCT_LAYOUTS,
        nti_gpu::md::alchemical_energies::STRUCT_LAYOUTS,
        nti_gpu::model::adam::STRUCT_LAYOUTS,
        nti_gpu::model::model_energy::STRUCT_LAYOUTS,
        nti_gpu::model::model_grad::STRUCT_LAYOUTS,
        nti_gpu::ti::denoise::STRUCT_LAYOUTS,
    ]
    .concat()
}

#[test]
fn rust_mirrors_of_wgsl_structs_have_the_same_layout() {
    for layout in all_struct_layouts() {
        let problems = check_struct(&layout).unwrap();
        assert!(problems.is_empty(), "{}: {problems:#?}", layout.wgsl_name);
    }
    // Every uniform block of every kernel has a mirror under test.
    for (name, _) in KERNELS {
        let (module, _) = validate(name, &compose(name).unwrap()).unwrap();
        for (_, var) in module.global_variables.iter() {
            if var.space != naga::AddressSpace::Uniform {
                continue;
            }
            let ty = module.types[var.ty].name.clone().unwrap_or_default();
            assert!(
                all_struct_layouts().iter().any(|l| l.wgsl_name == ty),
                "{name}: uniform struct {ty} has no Rust mirror in the test"
            );
        }
    }
}

#[test]
fn struct_check_catches_a_mismatch() {
    // Two fields swapped and the size wrong.
    let wrong = StructLayout {
        shader: "adam",
        wgsl_name: "AdamParams",
        size: 44,
        fields: &[("count", 0), ("lr0", 20), ("decay", 16)],
    };
    let problems = check_struct(&wrong).unwrap();
    assert!(problems.iter().any(|p| p.contains("size")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("lr0")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("beta1")), "{problems:?}");
    let missing = StructLayout {
        wgsl_name: "NoSuchStruct",
        ..wrong
    };
    assert!(check_struct(&missing).is_err());
}

#[test]
fn model_kernels_validate_and_translate_with_every_compile_time_parameter() {
    use nti_gpu::gpu::shader::compose_with;
    for name in ["model_energy", "model_grad"] {
        for (ppl, kr, kvec) in [(1, 16, 8), (8, 16, 8), (8, 6, 0), (3, 64, 16), (16, 2, 2)] {
            let src = compose_with(name, &[("PPL", ppl), ("KR", kr), ("KVEC", kvec)]).unwrap();
            assert!(!src.contains("//#repeat") && !src.contains("@m") && !src.contains("@k"));
            assert!(src.contains(&format!("const PPL: u32 = {ppl}u;")), "{name}");
            assert!(src.contains(&format!("const KR: u32 = {kr}u;")), "{name}");
            let (module, info) = validate(name, &src)
                .unwrap_or_else(|e| panic!("{name} PPL {ppl} KR {kr} KVEC {kvec}: {e}"));
            naga::back::spv::write_vec(&module, &info, &Default::default(), None)
                .unwrap_or_else(|e| panic!("{name}: SPIR-V: {e}"));
            naga::back::msl::write_string(&module, &info, &Default::default(), &Default::default())
                .unwrap_or_else(|e| panic!("{name}: MSL: {e}"));
        }
    }
}
