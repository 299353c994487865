//! `nti-gpu`: thin entry point; everything lives in the library.

fn main() {
    std::process::exit(nti_gpu::cli::run());
}
