//! `cargo bench --bench md`: the workloads of `nti-gpu bench` (standard suite unless
//! NTI_BENCH_SUITE says otherwise), on the default adapter, against the CPU reference.

fn main() {
    let suite = std::env::var("NTI_BENCH_SUITE").unwrap_or_else(|_| "standard".into());
    let gpu = match nti_gpu::gpu::Gpu::new(&nti_gpu::gpu::GpuOptions {
        timestamps: true,
        ..Default::default()
    }) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("no adapter: {e}");
            std::process::exit(1);
        }
    };
    let opts = nti_gpu::bench::BenchOptions {
        suite,
        ..Default::default()
    };
    println!("{}", nti_gpu::bench::table_header());
    match nti_gpu::bench::run_suite(&gpu, &opts, |r| {
        println!("{}", nti_gpu::bench::table_row(r))
    }) {
        Ok(report) => print!("\n{}", nti_gpu::bench::report_text(&report)),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
