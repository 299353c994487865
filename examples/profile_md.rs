use nti_gpu::md::init::initial_state;
use nti_gpu::md::{MdConfig, MdKernels, MdSystem, PairSearch};
use nti_gpu::reference::lj::LjParams;
use std::sync::Arc;
use std::time::Instant;
fn main() {
    let g = nti_gpu::gpu::Gpu::new(&Default::default()).unwrap();
    let k = Arc::new(MdKernels::new(&g).unwrap());
    let skin: f64 = std::env::var("SKIN")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.3);
    let n = 4000u32;
    let l = (n as f64 / 0.8).cbrt();
    let cfg = MdConfig {
        n,
        replicas: 1,
        lj: LjParams {
            epsilon: 1.0,
            sigma: 1.0,
            cutoff: Some(2.5),
            shift: false,
            box_length: l,
        },
        kt: 2.0,
        mass: 1.0,
        dt: 0.005,
        friction: 1.0,
        seed: 1,
        search: PairSearch::CellList { skin },
        gr_bins: 10,
        gr_max: 2.5,
    };
    let (p, v) = initial_state(n, 1, l, 2.0, 1.0, 3);
    let s = MdSystem::new(&g, k, cfg, &p, &v).unwrap();
    s.run(&g, 300).unwrap();
    let reps = 200;
    let t = Instant::now();
    let c0 = s.control(&g).unwrap().rebuilds;
    s.run(&g, reps).unwrap();
    let c1 = s.control(&g).unwrap().rebuilds;
    println!(
        "full step: {:.3} ms/step, rebuild every {:.1} steps",
        t.elapsed().as_secs_f64() * 1e3 / reps as f64,
        reps as f64 / (c1 - c0) as f64
    );
    let t = Instant::now();
    s.submit_pass(&g, |pass| {
        for _ in 0..reps {
            s.record_forces(pass)
        }
    });
    g.wait().unwrap();
    println!(
        "forces only (no rebuild): {:.3} ms",
        t.elapsed().as_secs_f64() * 1e3 / reps as f64
    );
    let mut tot = 0.0;
    for _ in 0..50 {
        let mut c = s.control(&g).unwrap();
        c.rebuild = 1;
        g.queue
            .write_buffer(&s.buffers.control, 0, bytemuck::bytes_of(&c));
        let t = Instant::now();
        s.submit_pass(&g, |pass| {
            s.record_kernel(pass, "step_control");
            s.record_forces(pass)
        });
        g.wait().unwrap();
        tot += t.elapsed().as_secs_f64();
    }
    println!(
        "forces with rebuild: {:.3} ms (incl ~0.1ms submit)",
        tot * 1e3 / 50.0
    );
    for name in [
        "integrate_baoa",
        "cells_count",
        "cells_scan",
        "cells_scatter",
        "neighbors_build",
        "lj_forces_neighbors",
        "integrate_b",
    ] {
        let mut tot = 0.0;
        for _ in 0..20 {
            let mut c = s.control(&g).unwrap();
            c.rebuild = 1;
            g.queue
                .write_buffer(&s.buffers.control, 0, bytemuck::bytes_of(&c));
            let t = Instant::now();
            s.submit_pass(&g, |pass| {
                s.record_kernel(pass, name);
            });
            g.wait().unwrap();
            tot += t.elapsed().as_secs_f64();
        }
        println!("{name}: {:.3} ms", tot * 1e3 / 20.0);
    }
    // zero the indirect args: one step_control with rebuild = 0
    let mut c = s.control(&g).unwrap();
    c.rebuild = 0;
    g.queue
        .write_buffer(&s.buffers.control, 0, bytemuck::bytes_of(&c));
    s.submit_pass(&g, |pass| {
        s.record_kernel(pass, "step_control");
    });
    g.wait().unwrap();
    for (label, names) in [
        ("step_control", vec!["step_control"]),
        ("indirect no-op cells_count", vec!["cells_count"]),
        ("lj_forces_neighbors", vec!["lj_forces_neighbors"]),
        ("integrate_b_baoa", vec!["integrate_b_baoa"]),
        ("integrate_b", vec!["integrate_b"]),
    ] {
        let t = Instant::now();
        s.submit_pass(&g, |pass| {
            for _ in 0..200 {
                for n in &names {
                    s.record_kernel(pass, n);
                }
            }
        });
        g.wait().unwrap();
        println!(
            "{label} x200 in one pass: {:.4} ms each",
            t.elapsed().as_secs_f64() * 1e3 / 200.0
        );
    }
    let t = Instant::now();
    for _ in 0..50 {
        s.submit_pass(&g, |_pass| {});
        g.wait().unwrap();
    }
    println!(
        "empty submit: {:.3} ms",
        t.elapsed().as_secs_f64() * 1e3 / 50.0
    );
}
