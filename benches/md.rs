//! `cargo bench --bench md`: the MD workloads of `nti-gpu bench` (standard suite unless
//! NTI_BENCH_SUITE says otherwise), on the default adapter, against the CPU reference.

fn main() {
    let suite = std::env::var("NTI_BENCH_SUITE").unwrap_or_else(|_| "standard".into());
    let gpu = match nti_gpu::gpu::Gpu::new(&Default::default()) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("no adapter: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "adapter: {} ({}, {})",
        gpu.adapter.name, gpu.adapter.backend, gpu.adapter.driver_info
    );
    println!("{}", nti_gpu::bench::table_header());
    if let Err(e) = nti_gpu::bench::run_suite(&gpu, &suite, |r| println!("{}", r.text())) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
