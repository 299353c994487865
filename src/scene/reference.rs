//! Values known from elsewhere (a published number, another code, a longer run of this
//! one) that the report and `summary.csv` set every estimate against, with the deviation in
//! combined standard errors.
//!
//! ```ron
//! reference: [
//!     (n: 200, betaF_ex: (mean: -199.08, err: 1.48), source: "λ-TI, 16 windows, 2026-12-05"),
//!     (n: 40, betamu_ex: (mean: -1.0889, err: 0.0011), source: "Widom, 10⁷ insertions"),
//! ],
//! ```

use super::bad;
use crate::error::Result;
use serde::{Deserialize, Serialize};

/// A mean and its 1σ error, in kT.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownValue {
    /// The value, kT.
    pub mean: f64,
    /// Its standard error (1σ), kT; 0 for an exact value.
    #[serde(default)]
    pub err: f64,
}

/// Known values at one particle count.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceValue {
    /// The particle count the values belong to (in the scene's box).
    pub n: u32,
    /// βF_ex(N) of the whole box, kT.
    #[serde(rename = "betaF_ex", default, skip_serializing_if = "Option::is_none")]
    pub beta_f_ex: Option<KnownValue>,
    /// βμ_ex(N → N + 1), kT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub betamu_ex: Option<KnownValue>,
    /// Where the values come from, in words (shown next to them).
    #[serde(default)]
    pub source: String,
}

impl ReferenceValue {
    /// The known value of `quantity` (`betaF_ex` or `betamu_ex`, results.json's keys).
    pub fn get(&self, quantity: &str) -> Option<KnownValue> {
        match quantity {
            "betaF_ex" => self.beta_f_ex,
            "betamu_ex" => self.betamu_ex,
            _ => None,
        }
    }
}

/// Checks every entry: a particle count, at least one value, finite means and errors ≥ 0,
/// one entry per N.
pub fn validate(path: &str, values: &[ReferenceValue]) -> Result<()> {
    for (i, r) in values.iter().enumerate() {
        let field = |f: &str| format!("reference[{i}].{f}");
        if r.n == 0 {
            return Err(bad(path, &field("n"), r.n, "must be a particle count >= 1"));
        }
        if r.beta_f_ex.is_none() && r.betamu_ex.is_none() {
            return Err(bad(
                path,
                &field("n"),
                r.n,
                "this entry has no value: give `betaF_ex: (mean: .., err: ..)` and/or \
                 `betamu_ex: (mean: .., err: ..)`",
            ));
        }
        for (key, v) in [("betaF_ex", r.beta_f_ex), ("betamu_ex", r.betamu_ex)] {
            let Some(v) = v else { continue };
            if !v.mean.is_finite() {
                return Err(bad(
                    path,
                    &field(&format!("{key}.mean")),
                    v.mean,
                    "must be a finite number (kT)",
                ));
            }
            if !(v.err.is_finite() && v.err >= 0.0) {
                return Err(bad(
                    path,
                    &field(&format!("{key}.err")),
                    v.err,
                    "must be a finite standard error >= 0 (kT; 0 for an exact value)",
                ));
            }
        }
        if let Some(j) = values[..i].iter().position(|o| o.n == r.n) {
            return Err(bad(
                path,
                &field("n"),
                r.n,
                format!(
                    "N = {} already has an entry (reference[{j}]): merge the two",
                    r.n
                ),
            ));
        }
    }
    Ok(())
}

/// The deviation of `mean ± err` from the known value in combined standard errors, with
/// `err_sys` (a systematic error of the estimate, e.g. its quadrature error) added to the
/// combined statistical one; `None` when that is 0 or not finite.
pub fn deviation_sigma(mean: f64, err: f64, err_sys: f64, known: KnownValue) -> Option<f64> {
    let scale = err.hypot(known.err) + err_sys.max(0.0);
    let z = (mean - known.mean) / scale;
    (scale > 0.0 && z.is_finite()).then_some(z)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u32, f: Option<(f64, f64)>, mu: Option<(f64, f64)>) -> ReferenceValue {
        let kv = |(mean, err)| KnownValue { mean, err };
        ReferenceValue {
            n,
            beta_f_ex: f.map(kv),
            betamu_ex: mu.map(kv),
            source: "test".into(),
        }
    }

    #[test]
    fn bad_entries_name_their_field() {
        let cases = [
            (vec![entry(0, Some((1.0, 0.1)), None)], "reference[0].n"),
            (vec![entry(40, None, None)], "reference[0].n"),
            (
                vec![entry(40, Some((f64::NAN, 0.1)), None)],
                "reference[0].betaF_ex.mean",
            ),
            (
                vec![entry(40, None, Some((1.0, -0.1)))],
                "reference[0].betamu_ex.err",
            ),
            (
                vec![
                    entry(40, Some((1.0, 0.1)), None),
                    entry(40, None, Some((1.0, 0.1))),
                ],
                "reference[1].n",
            ),
        ];
        for (values, field) in cases {
            let e = validate("s.ron", &values).unwrap_err().to_string();
            assert!(e.contains(field), "{field}: {e}");
        }
        validate(
            "s.ron",
            &[
                entry(40, Some((1.0, 0.0)), None),
                entry(41, None, Some((-1.0, 0.1))),
            ],
        )
        .unwrap();
    }

    #[test]
    fn deviation_in_combined_errors() {
        let known = KnownValue {
            mean: 1.0,
            err: 0.3,
        };
        // (1.5 - 1) / hypot(0.4, 0.3) = 0.5 / 0.5
        assert_eq!(deviation_sigma(1.5, 0.4, 0.0, known), Some(1.0));
        // A systematic error widens the scale: 0.5 / (0.5 + 0.5).
        assert_eq!(deviation_sigma(1.5, 0.4, 0.5, known), Some(0.5));
        assert_eq!(
            deviation_sigma(
                1.0,
                0.0,
                0.0,
                KnownValue {
                    mean: 1.0,
                    err: 0.0
                }
            ),
            None
        );
    }
}
