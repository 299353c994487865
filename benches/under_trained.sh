#!/bin/bash
# Needs a release build (cargo build --release). Results: benches/RESULTS.md.
# Deliberately under-trained model (200 steps): how the estimates move with MALA correctors,
# and with resampling (4 populations of 8, at every grid point).
cd "$(dirname "$0")/.."
BIN=target/release/nti-gpu
OUT=${TMPDIR:-/tmp}/nti-under-trained
for CFG in "1 1 0.0" "4 1 0.0" "16 1 0.0" "4 4 1.0" "16 4 1.0"; do
  set -- $CFG; M=$1; P=$2; R=$3
  sed -e 's/        steps: 1000,                 \/\/ the paper: 100 000/        steps: 200,/' \
      -e "s/        correctors: 2,               \/\/ MALA steps per grid point/        correctors: $M, populations: $P, resample: $R,/" \
      -e 's/        steps: 100,                  \/\/ time-grid intervals.*/        steps: 50,/' \
      -e 's/        chemical_potential: true,    \/\/ also N = 41.*/        chemical_potential: false,/' \
      -e 's/        estimators: \[ReverseSde, Corrected, Annealed, ForwardNoise\],/        estimators: [ReverseSde, Corrected, Annealed],/' \
      assets/scenes/quick.ron > $OUT-${M}_${P}.ron
  grep -qE "correctors: $M, populations" $OUT-${M}_${P}.ron || { echo "sed failed"; exit 1; }
  $BIN run $OUT-${M}_${P}.ron --out $OUT 2>/dev/null | grep "N = 40: neural" | sed "s/^/M=$M P=$P R=$R /"
done
