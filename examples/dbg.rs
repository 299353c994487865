use nti_gpu::md::init::initial_state;
use nti_gpu::md::{MdConfig, MdKernels, MdSystem, PairSearch};
use nti_gpu::reference::lj::LjParams;
use std::sync::Arc;
fn main() {
    let g = nti_gpu::gpu::Gpu::new(&Default::default()).unwrap();
    let k = Arc::new(MdKernels::new(&g).unwrap());
    let cfg = MdConfig {
        n: 40,
        replicas: 1,
        lj: LjParams {
            epsilon: 0.8,
            sigma: 1.0,
            cutoff: None,
            shift: false,
            box_length: 6.0,
        },
        kt: 1.0,
        mass: 1.0,
        dt: 0.005,
        friction: 1.0,
        seed: 1,
        search: PairSearch::AllPairs,
        gr_bins: 10,
        gr_max: 2.5,
    };
    let (p, v) = initial_state(40, 1, 6.0, 1.0, 1.0, 3);
    let s = MdSystem::new(&g, k, cfg, &p, &v).unwrap();
    println!("{:?}", s.control(&g).unwrap());
    s.submit_pass(&g, |pass| {
        s.record_kernel(pass, "step_control");
    });
    println!("after step_control {:?}", s.control(&g).unwrap());
    s.submit_pass(&g, |pass| {
        s.record_kernel(pass, "integrate_baoa");
    });
    s.submit_pass(&g, |pass| {
        s.record_steps(pass, 1);
    });
    println!("after 1 step {:?}", s.control(&g).unwrap());
    s.submit_pass(&g, |pass| {
        s.record_kernel(pass, "integrate_baoa");
        s.record_kernel(pass, "step_control");
    });
    s.submit_pass(&g, |pass| {
        s.record_kernel(pass, "integrate_baoa");
        s.record_kernel(pass, "step_control");
        s.record_kernel(pass, "lj_forces");
    });
    println!("after baoa+sc+lj {:?}", s.control(&g).unwrap());
    s.submit_pass(&g, |pass| {
        s.record_kernel(pass, "integrate_baoa");
        s.record_kernel(pass, "step_control");
        s.record_kernel(pass, "integrate_b");
    });
    println!("after baoa+sc+b {:?}", s.control(&g).unwrap());
    s.submit_pass(&g, |pass| {
        s.record_kernel(pass, "step_control");
        s.record_kernel(pass, "integrate_b");
    });
    println!("after sc+b {:?}", s.control(&g).unwrap());
    println!("after baoa+sc {:?}", s.control(&g).unwrap());
    s.submit_pass(&g, |pass| {
        s.record_kernel(pass, "integrate_baoa");
        s.record_kernel(pass, "step_control");
        s.record_kernel(pass, "lj_forces");
    });
    println!("after baoa+sc+lj {:?}", s.control(&g).unwrap());
    s.submit_pass(&g, |pass| {
        s.record_kernel(pass, "integrate_baoa");
        s.record_kernel(pass, "step_control");
        s.record_kernel(pass, "integrate_b");
    });
    println!("after baoa+sc+b {:?}", s.control(&g).unwrap());
    s.submit_pass(&g, |pass| {
        s.record_kernel(pass, "step_control");
        s.record_kernel(pass, "integrate_b");
    });
    println!("after sc+b {:?}", s.control(&g).unwrap());
    println!(
        "after baoa {:?} {:?}",
        s.control(&g).unwrap(),
        &s.read_positions(&g).unwrap()[0]
    );
}
