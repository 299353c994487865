#!/usr/bin/env python3
"""Checks that other tools read an nti-gpu output directory as documented
(docs/results.md, "Files for other tools"):

- pandas reads summary.csv and every other CSV with default options: one plain header row,
  no unnamed columns, at least one data row, numbers where numbers belong;
- ASE reads every configuration of every samples_N<N>.xyz: as many as results.json says
  were kept (or every replica of the last frame, for large sets), N atoms each, the box
  L/sigma, lengths stated in sigma;
- pymbar's MBAR, run on each exported lambda leg (u_nk table and N_k from the states table),
  agrees with this program's MBAR free energies in results.json within TOLERANCE, and the
  dH/dl table's per-state means agree with the states table.

- alchemlyb, when installed, reads the same tables as its u_nk and dHdl frames: its MBAR
  agrees with ours, its TI with ours over the same span.

Usage: check_interop.py OUTPUT_DIR   (needs numpy, pandas, ase, pymbar >= 4; alchemlyb
optional)
Exits 0 when every check passes; prints one line per check and a closing count.
"""

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

# Largest |f_k(pymbar) - f_k(nti-gpu)| accepted, in kT. Both solve the MBAR equations on the
# same reduced energies (the CSV holds every f64 exactly); pymbar runs its "robust" solver to
# a relative tolerance of 1e-12 (its default solver can stop near 1e-6 kT short of the
# solution on a leg with a 40 kT span, where nti-gpu's own solution satisfies the
# self-consistent equations to 1e-13).
TOLERANCE = 1e-8
# Relative tolerance on the uncertainty of f_{K-1} - f_0 (the same covariance formula).
ERR_TOLERANCE = 1e-3

passed = 0
failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok: {what}")
    else:
        failed += 1
        print(f"FAILED: {what}")


def text_columns(name):
    """Columns of a CSV that hold words, not numbers."""
    if name == "summary.csv":
        return {"method", "quantity", "verdict"}
    return set()


def check_csvs(out):
    for path in sorted(out.glob("*.csv")):
        df = pd.read_csv(path)
        header_ok = not any(str(c).startswith("#") or str(c).startswith("Unnamed") for c in df.columns)
        numeric = [c for c in df.columns if c not in text_columns(path.name)]
        bad = [c for c in numeric if not pd.api.types.is_numeric_dtype(df[c])]
        check(
            header_ok and len(df) > 0 and not bad,
            f"pandas reads {path.name}: {len(df)} rows x {len(df.columns)} columns"
            + (f", non-numeric columns {bad}" if bad else ""),
        )


def check_summary(out, results):
    df = pd.read_csv(out / "summary.csv")
    expected = {"N", "rho", "method", "quantity", "mean", "err", "err_sys", "verdict", "wall_s",
                "deviation_sigma"}
    check(set(df.columns) == expected, f"summary.csv columns {list(df.columns)}")
    # Rows of an N and quantity the scene gives a known value for carry their deviation in
    # combined standard errors (the systematic error added to the scale).
    for ref in results.get("scene", {}).get("reference", []):
        for quantity in ("betaF_ex", "betamu_ex"):
            known = ref.get(quantity)
            if known is None:
                continue
            rows = df[(df["N"] == ref["n"]) & (df["quantity"] == quantity)
                      & (df["method"] != "reference") & df["mean"].notna()]
            check(len(rows) >= 1, f"summary.csv has estimates of {quantity} at N = {ref['n']}")
            for _, row in rows.iterrows():
                scale = np.hypot(row["err"], known["err"]) + (
                    0.0 if pd.isna(row["err_sys"]) else row["err_sys"])
                z = (row["mean"] - known["mean"]) / scale
                check(abs(row["deviation_sigma"] - z) <= 1e-9 * max(1.0, abs(z)),
                      f"summary.csv {row['method']} at N = {ref['n']}: deviation "
                      f"{row['deviation_sigma']:.4f} sigma from the scene's reference ({z:.4f})")
    for n, methods in results.get("free_energy", {}).items():
        for method in methods:
            rows = df[(df["N"] == int(n)) & (df["method"] == method)]
            check(len(rows) >= 1, f"summary.csv has a row for N = {n}, {method}")
        if "lambda_ti" in methods and methods["lambda_ti"].get("mean") is not None:
            row = df[(df["N"] == int(n)) & (df["method"] == "lambda_ti")].iloc[0]
            check(
                row["mean"] == methods["lambda_ti"]["mean"],
                f"summary.csv lambda_ti mean {row['mean']} is results.json's",
            )


def check_extxyz(out, results):
    import ase.io

    box = results["scene"]["system"]["box_length"] / results["scene"]["system"]["sigma"]
    for n, ref in results.get("reference", {}).items():
        path = out / ref["files"]["xyz"]
        if not path.exists():
            check(False, f"{path.name} missing")
            continue
        frames = ase.io.read(path, index=":", format="extxyz")
        n = int(n)
        kept = ref["samples"]
        replicas = ref["replicas"]
        every = len(frames) == kept
        last_only = len(frames) == replicas and kept * n > 1_000_000
        check(every or last_only, f"ASE reads {len(frames)} configurations of {path.name} (kept: {kept})")
        check(all(len(a) == n for a in frames), f"{path.name}: {n} atoms in every configuration")
        check(
            all(np.allclose(a.cell.lengths(), [box] * 3) and a.pbc.all() for a in frames),
            f"{path.name}: periodic box of side {box} (sigma)",
        )
        check(
            all(a.info.get("length_unit") == "sigma" for a in frames),
            f"{path.name}: every comment line states length_unit=sigma",
        )


def check_mbar(out, results):
    import pymbar

    legs = 0
    for n, methods in results.get("free_energy", {}).items():
        for leg in methods.get("lambda_ti", {}).get("legs", []):
            files = leg.get("files") or {}
            if not files.get("u_nk") or leg.get("mbar_f_k") is None:
                continue
            legs += 1
            u_nk = pd.read_csv(out / files["u_nk"])
            states = pd.read_csv(out / files["states"])
            state_columns = list(u_nk.columns[2:])
            k = len(state_columns)
            u_kn = u_nk[state_columns].to_numpy().T
            n_k = states["n_k"].to_numpy()
            counts = u_nk.groupby("fep-lambda", sort=False).size().to_numpy()
            check(
                u_kn.shape == (k, n_k.sum()) and list(counts) == list(n_k),
                f"{files['u_nk']}: u_kn {u_kn.shape}, N_k {[int(x) for x in n_k]} from {files['states']}",
            )
            mbar = pymbar.MBAR(u_kn, n_k, solver_protocol="robust", relative_tolerance=1e-12)
            fe = mbar.compute_free_energy_differences()
            theirs = fe["Delta_f"][0]
            ours = np.array(leg["mbar_f_k"])
            gap = np.max(np.abs(theirs - ours))
            check(
                gap <= TOLERANCE,
                f"N = {n} {leg['path']}: pymbar f_K-1 - f_0 = {theirs[-1]:.8f}, nti-gpu "
                f"{ours[-1]:.8f} (largest gap over {k} states {gap:.1e} kT <= {TOLERANCE:.0e})",
            )
            their_err = fe["dDelta_f"][0, -1]
            our_err = leg["mbar_delta_f"]["err"]
            check(
                abs(their_err - our_err) <= ERR_TOLERANCE * our_err,
                f"N = {n} {leg['path']}: uncertainty pymbar {their_err:.6f}, nti-gpu {our_err:.6f}",
            )
            dhdl = pd.read_csv(out / files["dhdl"])
            means = dhdl.groupby("fep-lambda", sort=False)["fep"].mean().to_numpy()
            errs = states["dudl_err"].to_numpy()
            gap = np.max(np.abs(means - states["dudl_mean"].to_numpy()) / errs)
            check(
                gap < 0.5,
                f"{files['dhdl']}: per-state mean dH/dl within {gap:.2f} of its error of the "
                "states table (block averages weigh the records alike up to the last block)",
            )
    return legs


def check_alchemlyb(out, results):
    """The same tables through alchemlyb, when it is installed: its MBAR on u_nk gives our
    f_{K-1} - f_0, its trapezoid TI on dHdl (summed over the legs) our ti_betaF_span within a
    tenth of its error (ours block-averages each window's records)."""
    try:
        from alchemlyb.estimators import MBAR, TI
    except ImportError:
        print("skipped: alchemlyb is not installed (pip install alchemlyb)")
        return
    for n, methods in results.get("free_energy", {}).items():
        lti = methods.get("lambda_ti", {})
        ti_sum = 0.0
        legs = [leg for leg in lti.get("legs", []) if leg.get("files")]
        for leg in legs:
            files = leg["files"]
            dhdl = pd.read_csv(out / files["dhdl"], index_col=[0, 1])
            dhdl.attrs = {"temperature": 1.0, "energy_unit": "kT"}
            ti_sum += TI().fit(dhdl).delta_f_.iloc[0, -1]
            if not files.get("u_nk") or leg.get("mbar_delta_f") is None:
                continue
            u_nk = pd.read_csv(out / files["u_nk"], index_col=[0, 1])
            u_nk.columns = u_nk.columns.astype(float)
            u_nk.attrs = {"temperature": 1.0, "energy_unit": "kT"}
            fit = MBAR(method="robust", relative_tolerance=1e-12).fit(u_nk)
            theirs = fit.delta_f_.iloc[0, -1]
            ours = leg["mbar_delta_f"]["mean"]
            check(
                abs(theirs - ours) <= TOLERANCE,
                f"N = {n} {leg['path']}: alchemlyb MBAR {theirs:.8f}, nti-gpu {ours:.8f}",
            )
        span = lti.get("ti_betaF_span")
        if legs and span:
            check(
                abs(-ti_sum - span["mean"]) <= 0.1 * span["err"],
                f"N = {n}: alchemlyb TI over the legs {-ti_sum:.4f}, nti-gpu ti_betaF_span "
                f"{span['mean']:.4f} +- {span['err']:.4f}",
            )


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = Path(sys.argv[1])
    results = json.loads((out / "results.json").read_text())
    check(results.get("schema_version") == 2, f"results.json schema_version {results.get('schema_version')}")
    check_csvs(out)
    check_summary(out, results)
    check_extxyz(out, results)
    legs = check_mbar(out, results)
    print(f"lambda legs compared with pymbar: {legs}")
    check_alchemlyb(out, results)
    print(f"check_interop: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
