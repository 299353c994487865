//! End-to-end checks of the TI mathematics on systems with known answers (CPU only):
//! TI and AIS on a Gaussian path with a steep start, the isotherm of the paper's system
//! from equation-of-state free energies, and the exact N = 2 value of the paper's system.

use nti_gpu::baselines::two_body::{lj_two_body_beta_f_ex, LjPair};
use nti_gpu::quadrature::{halving, weights, Rule, TimeGrid};
use nti_gpu::ti::estimators::{ais_estimate, ti_estimate};
use nti_gpu::ti::grand::{isotherm, FreeEnergyCurve, FreeEnergyPoint, IdealGasUnits, SplineEnds};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

/// Dimensions of the Gaussian test system (3N for N = 40).
const DIM: usize = 120;

/// Width of the Gaussian marginal p_t ∝ exp(−Ũ(x, t)), Ũ = |x|²/(2σ(t)²): rises steeply
/// from 0.5 at t = 0 to 1 within t ≈ 0.1, like the fluid's integrand.
fn sigma(t: f64) -> f64 {
    0.5 + 0.5 * (1.0 - (-30.0 * t).exp()) / (1.0 - (-30f64).exp())
}

fn dsigma(t: f64) -> f64 {
    0.5 * 30.0 * (-30.0 * t).exp() / (1.0 - (-30f64).exp())
}

/// ∂_t Ũ(x, t) = −σ'(t) |x|² / σ(t)³.
fn dt_energy(x2: f64, t: f64) -> f64 {
    -dsigma(t) * x2 / sigma(t).powi(3)
}

/// βF between the ends: −ln(Z_0/Z_1) = −DIM ln(σ(0)/σ(1)).
fn exact() -> f64 {
    -(DIM as f64) * (sigma(0.0) / sigma(1.0)).ln()
}

/// Forward-noise style paths: one standard normal vector z per trajectory, x = σ(t) z,
/// exact samples of every marginal (correlated along t).
fn paths(grid: &[f64], trajectories: usize, seed: u64) -> Vec<Vec<f64>> {
    let normal: Normal<f64> = Normal::new(0.0, 1.0).unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    (0..trajectories)
        .map(|_| {
            let z2: f64 = (0..DIM).map(|_| normal.sample(&mut rng).powi(2)).sum();
            grid.iter()
                .map(|&t| dt_energy(sigma(t).powi(2) * z2, t))
                .collect()
        })
        .collect()
}

#[test]
fn ti_on_a_gaussian_path_recovers_the_exact_free_energy() {
    let exact = exact();
    // The paper's setting: a uniform grid with the Riemann rule is biased by many errors.
    let uniform = TimeGrid::Uniform.points(100).unwrap();
    let data = paths(&uniform, 64, 1);
    let riemann = ti_estimate(&data, &weights(Rule::Riemann, &uniform).unwrap(), 2).unwrap();
    // A power grid with the trapezoid or Simpson rule is not.
    let grid = TimeGrid::Power { exponent: 2.0 }.points(100).unwrap();
    let data = paths(&grid, 64, 1);
    let trap = ti_estimate(&data, &weights(Rule::Trapezoid, &grid).unwrap(), 2).unwrap();
    let simpson = ti_estimate(&data, &weights(Rule::Simpson, &grid).unwrap(), 2).unwrap();
    let mean: Vec<f64> = (0..grid.len())
        .map(|k| data.iter().map(|r| r[k]).sum::<f64>() / data.len() as f64)
        .collect();
    let h = halving(Rule::Trapezoid, &grid, &mean).unwrap();
    eprintln!(
        "exact {exact:.4}; uniform Riemann {:.4} ± {:.4}; power trapezoid {:.4} ± {:.4} \
         (bootstrap {:.4}, halving error {:.2e}); power Simpson {:.4} ± {:.4}",
        riemann.mean,
        riemann.err,
        trap.mean,
        trap.err,
        trap.bootstrap_err,
        h.error_estimate,
        simpson.mean,
        simpson.err
    );
    assert!((riemann.mean - exact).abs() > 10.0 * riemann.err);
    for e in [trap, simpson] {
        assert!((e.mean - exact).abs() < 4.0 * e.err, "{e:?} vs {exact}");
        assert!(e.err > 0.1 && e.err < 3.0, "{e:?}");
        assert!((e.bootstrap_err / e.err - 1.0).abs() < 0.2, "{e:?}");
    }
    assert!(h.error_estimate < 0.2 * trap.err, "{h:?}");
}

/// AIS with a perfect transition kernel (a fresh exact sample of p_t at every t, which
/// leaves p_t invariant): ⟨exp(−W)⟩ = Z_0/Z_1 exactly, for any grid.
#[test]
fn ais_on_a_gaussian_path_recovers_the_exact_free_energy() {
    let grid = TimeGrid::Power { exponent: 2.0 }.points(200).unwrap();
    let normal: Normal<f64> = Normal::new(0.0, 1.0).unwrap();
    let mut rng = StdRng::seed_from_u64(7);
    let energy = |x2: f64, t: f64| x2 / (2.0 * sigma(t).powi(2));
    let work: Vec<f64> = (0..400)
        .map(|_| {
            let mut w = 0.0;
            for k in (1..grid.len()).rev() {
                // x ~ p_{t_k}, then the step to t_{k−1} does work Ũ(x, t_{k−1}) − Ũ(x, t_k).
                let z2: f64 = (0..DIM).map(|_| normal.sample(&mut rng).powi(2)).sum();
                let x2 = sigma(grid[k]).powi(2) * z2;
                w += energy(x2, grid[k - 1]) - energy(x2, grid[k]);
            }
            w
        })
        .collect();
    let a = ais_estimate(&work, 3).unwrap();
    eprintln!("exact {:.4}; AIS {a:?}", exact());
    assert!((a.beta_f - exact()).abs() < 4.0 * a.err, "{a:?}");
    assert!(a.err < 0.5 && a.ess_fraction > 0.05, "{a:?}");
}

/// The paper's system through equation-of-state free energies (JZG at T* = 1.25, ε = 0.8 kT,
/// V = 216 σ³, from tests/data/lj_eos_T1.25.csv; N = 0 and 1 are exactly 0): with the
/// paper's units the isotherm jumps from vapour to liquid near βμ ≈ −28 (§6 of the method
/// note), and the spline through the paper's five N reproduces the EOS's βμ_ex.
#[test]
fn isotherm_of_the_paper_system_jumps_near_minus_28() {
    const JZG: [(usize, f64); 20] = [
        (10, -1.611),
        (20, -6.309),
        (30, -13.897),
        (40, -24.147),
        (50, -36.791),
        (60, -51.545),
        (70, -68.145),
        (80, -86.358),
        (90, -105.975),
        (100, -126.772),
        (110, -148.444),
        (120, -170.532),
        (130, -192.351),
        (140, -212.957),
        (150, -231.128),
        (160, -245.380),
        (170, -253.965),
        (180, -254.846),
        (190, -245.618),
        (200, -223.423),
    ];
    let point = |n: usize, f: f64| FreeEnergyPoint {
        n,
        beta_f_ex: f,
        err: 0.1,
    };
    let mut all = vec![point(0, 0.0), point(1, 0.0)];
    all.extend(JZG.iter().map(|&(n, f)| point(n, f)));
    let curve = FreeEnergyCurve::new(&all, SplineEnds::NotAKnot).unwrap();
    let units = IdealGasUnits::default();
    let mus: Vec<f64> = (0..=80).map(|i| -32.0 + 0.1 * i as f64).collect();
    let iso = isotherm(&curve, &units, &mus, 216.0).unwrap();
    // Steepest rise of ⟨ρ⟩.
    let (i, _) = iso
        .windows(2)
        .enumerate()
        .map(|(i, w)| (i, w[1].density - w[0].density))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap();
    let jump = 0.5 * (iso[i].beta_mu + iso[i + 1].beta_mu);
    eprintln!(
        "jump at βμ = {jump:.2}: ρ {:.3} → {:.3}; ρ(−32) = {:.4}, ρ(−24) = {:.3}",
        iso[i].density,
        iso[i + 1].density,
        iso[0].density,
        iso[80].density
    );
    assert!((-29.0..=-27.0).contains(&jump), "{jump}");
    assert!(iso[i + 1].density - iso[i].density > 0.1);
    assert!(iso[0].density < 0.05 && iso[80].density > 0.6);

    // βμ_ex from splines through N = 0, 1, 40, 80, ..., 200 against the EOS's finite
    // differences (F(N+10) − F(N))/10 of the dense table: why not-a-knot is the default.
    let sparse: Vec<FreeEnergyPoint> = [point(0, 0.0), point(1, 0.0)]
        .into_iter()
        .chain(
            JZG.iter()
                .filter(|p| p.0 % 40 == 0)
                .map(|&(n, f)| point(n, f)),
        )
        .collect();
    for ends in [SplineEnds::NotAKnot, SplineEnds::Natural] {
        let c = FreeEnergyCurve::new(&sparse, ends).unwrap();
        let mut worst: f64 = 0.0;
        for &(n, f) in &JZG {
            if !(40..=190).contains(&n) {
                continue;
            }
            let reference = JZG.iter().find(|p| p.0 == n + 10).unwrap().1 - f;
            let spline =
                c.beta_f_ex((n + 10) as f64).unwrap().mean - c.beta_f_ex(n as f64).unwrap().mean;
            worst = worst.max((spline - reference).abs() / 10.0);
        }
        eprintln!("{ends:?}: worst |Δβμ_ex| over N = 40..200 = {worst:.3}");
        // Measured: not-a-knot 0.21 (at N = 190), natural 1.09 (its S'' = 0 at N = 200).
        match ends {
            SplineEnds::NotAKnot => assert!(worst < 0.25, "{worst}"),
            SplineEnds::Natural => assert!(worst > 0.5, "{worst}"),
        }
    }
}

/// The exact βF_ex(N = 2) of the paper's system (L = 6σ, ε = 0.8 kT, minimum image, no
/// cutoff), cross-checked against a 600 000-panel Simpson rule for the ball and a 3e6-point
/// Monte Carlo of the corners (0.19919 ± 0.0002) while it was written.
#[test]
fn two_body_value_of_the_paper_system() {
    let t = lj_two_body_beta_f_ex(6.0, &LjPair::paper()).unwrap();
    eprintln!("N = 2, paper system: {t:?}");
    assert!(
        (t.beta_f_ex - (-0.031_172_576_135_14)).abs() < 1e-12,
        "{t:?}"
    );
    assert!((t.ball - 6.640_185_466_611).abs() < 1e-9);
    assert!((t.corner - 0.199_14).abs() < 3e-4);
}
