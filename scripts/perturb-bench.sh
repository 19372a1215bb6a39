#!/usr/bin/env bash
# Whole-process cost of robustness by perturbation (issue 16 target: 20
# variants of the IBSI CT phantom with all families under 10 s on 2 threads).
#
#   scripts/perturb-bench.sh [RADIAL_BINARY] [DATA_DIR] [VARIANTS]
#
# RADIAL_BINARY defaults to target/release/radial (cargo build --release),
# DATA_DIR to ../shared/data (or $RADIAL_DATA_DIR), VARIANTS to 20.
#
# A fresh store in a temporary directory, a manifest with the CT phantom,
# and the pipeline load -> perturb (VARIANTS variants: rotation, translation,
# noise, volume adaptation, contour randomisation) -> the IBSI configuration
# C chain (linear interpolation to 2 mm, re-segmentation [-1000, 400] HU,
# FBS 25 HU; IVH FBS 2.5 HU) -> all eleven families -> collect, run with
# `radial run --jobs 2`, timed with `/usr/bin/time -v` (elapsed time and
# peak RSS printed at the end). A second, fully cached run is timed too.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/target/release/radial}
data=${2:-${RADIAL_DATA_DIR:-$root/../shared/data}}
variants=${3:-20}

[ -x "$bin" ] || { echo "no radial binary at $bin (cargo build --release)" >&2; exit 1; }
image=$data/ibsi/ct_phantom/image.nii.gz
mask=$data/ibsi/ct_phantom/mask.nii.gz
[ -f "$image" ] || { echo "no CT phantom at $image" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/manifest.csv" <<CSV
case_id,image,mask
ct_phantom,$image,$mask
CSV
cat > "$work/bench.yaml" <<YAML
name: perturb-bench
manifest: manifest.csv
stages:
  - {id: load, kind: load}
  - id: perturb
    kind: perturb
    inputs: [load]
    params:
      variants: $variants
      rotation: {angles: [-15, -10, -5, 0, 5, 10, 15]}
      translation: {fractions: [0.0, 0.25, 0.5, 0.75]}
      noise: {repeats: 1}
      volume: {fractions: [-0.2, -0.1, 0.0, 0.1, 0.2]}
      contour: {repeats: 1}
  - id: resample
    kind: resample
    inputs: [perturb]
    params: {spacing: [2.0, 2.0, 2.0], image: linear, mask: linear,
             partial_volume_threshold: 0.5, round_intensities: true}
  - {id: resegment, kind: resegment, inputs: [resample], params: {range: [-1000, 400]}}
  - {id: discretise, kind: discretise, inputs: [resegment],
     params: {method: fixed_bin_size, bin_width: 25}}
  - {id: morphology, kind: morphology, inputs: [resegment]}
  - {id: local_intensity, kind: local_intensity, inputs: [resegment]}
  - {id: statistics, kind: statistics, inputs: [resegment]}
  - {id: ivh, kind: ivh, inputs: [resegment], params: {method: fixed_bin_size, bin_width: 2.5}}
  - {id: histogram, kind: histogram, inputs: [discretise]}
  - {id: glcm, kind: glcm, inputs: [discretise]}
  - {id: glrlm, kind: glrlm, inputs: [discretise]}
  - {id: glszm, kind: glszm, inputs: [discretise]}
  - {id: gldzm, kind: gldzm, inputs: [discretise]}
  - {id: ngtdm, kind: ngtdm, inputs: [discretise]}
  - {id: ngldm, kind: ngldm, inputs: [discretise]}
  - id: collect
    kind: collect
    inputs: [morphology, local_intensity, statistics, ivh, histogram,
             glcm, glrlm, glszm, gldzm, ngtdm, ngldm]
YAML

for pass in fresh cached; do
  echo "== $pass run: $variants variants of the CT phantom, all families, --jobs 2"
  ( cd "$work" && /usr/bin/time -v "$bin" run bench.yaml --jobs 2 ) > "$work/$pass.out" 2> "$work/$pass.err" || {
    cat "$work/$pass.err" >&2; exit 1; }
  tail -n 3 "$work/$pass.out"
  grep -E "User time|System time|Elapsed \(wall clock\)|Maximum resident set size" "$work/$pass.err"
done
rows=$(($(wc -l < "$work/results/perturb-bench/collect.csv") - 1))
cols=$(head -1 "$work/results/perturb-bench/collect.csv" | tr ',' '\n' | wc -l)
echo "collect.csv: $rows rows, $cols columns"
