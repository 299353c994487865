//! Figures of the grand-canonical view: the isotherm ⟨ρ⟩(βμ) and p(N) at the βμ of the
//! largest number fluctuations (the tables are written by the integration stage).

use crate::report::plot::{write_figure, Figure, Series};
use crate::ti::grand::{Distribution, IsothermPoint};
use std::path::Path;

/// Writes `isotherm.png` and `pn.png` (each also as SVG) into `out_dir`; a figure that cannot be drawn is a
/// warning, not an error (the tables hold the numbers).
pub fn write_grand_canonical_plots(out_dir: &Path, iso: &[IsothermPoint], dist: &Distribution) {
    let fig = Figure::new(
        "Grand-canonical isotherm (neural TI)",
        "βμ (paper units: V = 1, h = 1e-4, m = 1)",
        "⟨ρ⟩ (σ⁻³)",
    )
    .with_series(Series::line(
        "⟨N⟩/V from p(N) ∝ exp(βμN − βF_ex(N)) V^N/(Λ^{3N} N!)",
        iso.iter().map(|p| (p.beta_mu, p.density)),
    ));
    if let Err(e) = write_figure(std::slice::from_ref(&fig), &out_dir.join("isotherm.png")) {
        eprintln!("warning: isotherm plot not written: {e}");
    }
    let fig = Figure::new(
        format!("p(N) at βμ = {:.2} (neural TI)", dist.beta_mu),
        "N",
        "p(N)",
    )
    .with_series(Series::line(
        "grand-canonical p(N)",
        dist.n.iter().map(|&n| n as f64).zip(dist.p.iter().copied()),
    ));
    if let Err(e) = write_figure(std::slice::from_ref(&fig), &out_dir.join("pn.png")) {
        eprintln!("warning: p(N) plot not written: {e}");
    }
}
