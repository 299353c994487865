//! `nti-gpu eos`: the equations of state of the full LJ fluid from the command line.

mod common;

use common::nti;

/// Reference table: JZG and KN at T* = 1.25, rho = N / 216.
const TABLE: &str = include_str!("data/lj_eos_T1.25.csv");

/// `(rho, betamu_ex_KN, Zm1_JZG)` of the table row with `N = n`, as printed.
fn table_row(n: &str) -> (String, String, String) {
    let mut lines = TABLE.lines().filter(|l| !l.starts_with('#'));
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let row: Vec<&str> = lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|r| r[col("N")] == n)
        .unwrap();
    (
        row[col("rho")].to_string(),
        row[col("betamu_ex_KN")].to_string(),
        row[col("Zm1_JZG")].to_string(),
    )
}

#[test]
fn json_output_has_the_documented_keys_and_matches_the_table() {
    let (rho, mu_kn, zm1_jzg) = table_row("120");
    let density = (120.0_f64 / 216.0).to_string();
    let stdout = common::nti_ok(&[
        "eos",
        "--temperature",
        "1.25",
        "--density",
        &density,
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["temperature"].as_f64(), Some(1.25));
    let d = v["density"].as_f64().unwrap();
    assert!((d - rho.parse::<f64>().unwrap()).abs() < 5e-7);
    for eos in ["kolafa_nezbeda", "johnson"] {
        for key in ["betaA_ex_per_particle", "z_minus_1", "betamu_ex"] {
            assert!(v[eos][key].as_f64().is_some(), "{eos}.{key} missing: {v}");
        }
        let p = &v[eos];
        // Energies and pressures in both units, labelled: the kT value is the ε value / T*.
        for (key, kt, eps) in [
            ("u_ex_per_particle", "kT", "epsilon"),
            ("pressure", "kT_per_sigma3", "epsilon_per_sigma3"),
        ] {
            let (a, b) = (p[key][kt].as_f64().unwrap(), p[key][eps].as_f64().unwrap());
            assert!((a - b / 1.25).abs() < 1e-12, "{eos}.{key}: {a} vs {b}");
        }
        let mu = p["betaA_ex_per_particle"].as_f64().unwrap() + p["z_minus_1"].as_f64().unwrap();
        assert!((mu - p["betamu_ex"].as_f64().unwrap()).abs() < 1e-12);
    }
    let got = v["kolafa_nezbeda"]["betamu_ex"].as_f64().unwrap();
    assert!(
        (got - mu_kn.parse::<f64>().unwrap()).abs() <= 0.5e-5,
        "KN betamu_ex {got} vs {mu_kn}"
    );
    let got = v["johnson"]["z_minus_1"].as_f64().unwrap();
    assert!(
        (got - zm1_jzg.parse::<f64>().unwrap()).abs() <= 0.5e-5,
        "JZG Z-1 {got} vs {zm1_jzg}"
    );
}

#[test]
fn table_output_lists_both_equations() {
    let out = nti()
        .args(["eos", "--temperature", "2", "--density", "0.5"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Kolafa-Nezbeda") && text.contains("Johnson"),
        "{text}"
    );
    assert!(text.contains("betamu_ex"), "{text}");
    for unit in [
        "U_ex/N [kT]",
        "U_ex/N [eps]",
        "P [kT/sigma^3]",
        "P [eps/sigma^3]",
    ] {
        assert!(text.contains(unit), "{unit} missing: {text}");
    }
}

/// Kolafa–Nezbeda's published check value P(T* = 1.3, ρ* = 0.2) = 0.121479 ε/σ³, printed in
/// both units: 0.121479 / 1.3 = 0.0934454 kT/σ³.
#[test]
fn pressure_is_printed_in_kt_and_epsilon_units() {
    let stdout = common::nti_ok(&["eos", "--temperature", "1.3", "--density", "0.2", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let p = &v["kolafa_nezbeda"]["pressure"];
    assert!(
        (p["epsilon_per_sigma3"].as_f64().unwrap() - 0.121479).abs() < 5e-7,
        "{p}"
    );
    assert!(
        (p["kT_per_sigma3"].as_f64().unwrap() - 0.121479 / 1.3).abs() < 5e-7,
        "{p}"
    );
}

#[test]
fn bad_input_names_the_flag() {
    for (args, flag) in [
        (["--temperature", "0", "--density", "0.5"], "--temperature"),
        (["--temperature", "1.0", "--density", "-0.1"], "--density"),
        (
            ["--temperature", "NaN", "--density", "0.5"],
            "--temperature",
        ),
    ] {
        let out = nti().arg("eos").args(args).output().unwrap();
        assert!(!out.status.success(), "{args:?} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(flag), "{args:?}: {err}");
    }
}

/// States where the equations diverge are refused (not printed as NaN or 1e17 with exit 0);
/// states outside the fitted range but where they are finite get a note.
#[test]
fn states_outside_the_fitted_range_are_refused_or_noted() {
    for args in [
        ["--temperature", "1e-300", "--density", "0.5"],
        ["--temperature", "1", "--density", "100"],
    ] {
        let out = nti().arg("eos").args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("far outside the range"), "{args:?}: {err}");
        assert!(!String::from_utf8_lossy(&out.stdout).contains("NaN"));
    }
    let out = nti()
        .args(["eos", "--temperature", "0.5", "--density", "0.9"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the values are extrapolations"), "{err}");
}
