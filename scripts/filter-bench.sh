#!/usr/bin/env bash
# Whole-process timings of the IBSI chapter 2 filters (issue 14 targets).
#
#   scripts/filter-bench.sh [RADIAL_BINARY] [DATA_DIR]
#
# RADIAL_BINARY defaults to target/release/radial (build it with
# `cargo build --release`), DATA_DIR to ../shared/data (or $RADIAL_DATA_DIR).
#
# (a) Each single filter on the IBSI CT phantom resampled once to 1 mm
#     (about 7 M voxels; tricubic, written uncompressed so that reading it
#     costs little), with `radial filter`, the map written as uncompressed
#     .nii: the time is the whole process (read, filter, write).
# (b) The 18 IBSI 2 phase-2 configurations, whole process, with
#     `radial extract --settings pipelines/ibsi2/phase2/<id>.yaml`, and their total.
#
# With FILTER_BENCH_OUT=DIR the phase-2 feature tables are kept in DIR, with
# FILTER_BENCH_MAPS=DIR the response maps of (a) (to compare two builds
# byte for byte).
# Every run uses RAYON_NUM_THREADS (default 2) and is timed with
# `/usr/bin/time` (elapsed seconds, peak RSS, and user + system CPU seconds:
# on a machine shared with other jobs the elapsed time varies with their
# load, the CPU time much less).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/target/release/radial}
data=${2:-${RADIAL_DATA_DIR:-$root/../shared/data}}
threads=${RAYON_NUM_THREADS:-2}
export RAYON_NUM_THREADS=$threads

[ -x "$bin" ] || { echo "no radial binary at $bin (cargo build --release)" >&2; exit 1; }
image=$data/ibsi/ct_phantom/image.nii.gz
mask=$data/ibsi/ct_phantom/mask.nii.gz
[ -f "$image" ] || { echo "no CT phantom at $image" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tables=${FILTER_BENCH_OUT:-$work}
maps=${FILTER_BENCH_MAPS:-$work}
mkdir -p "$tables" "$maps"

# Seconds and KB of one whole process; its output goes to $work/last.log.
timed() {
    /usr/bin/time -f "%e s %M KB cpu %U+%S s" -o "$work/time" "$@" >"$work/last.log" 2>&1 || {
        echo "FAILED: $*" >&2
        cat "$work/last.log" >&2
        exit 1
    }
    cat "$work/time"
}

# The phantom at 1 mm, once: a mean filter of support 1 is the identity, so
# `radial filter --spacing` writes the resampled image itself.
printf 'kind: mean\nsupport: 1\ndimensions: 3\n' >"$work/identity.yaml"
"$bin" filter --image "$image" --settings "$work/identity.yaml" \
    --spacing 1,1,1 --out "$work/ct_1mm.nii"
ct=$work/ct_1mm.nii

filter_settings() {
    case $1 in
    mean) printf 'kind: mean\nsupport: 5\ndimensions: 3\nboundary: mirror\n' ;;
    log) printf 'kind: log\nsigma: 1.5\ncutoff: 4\ndimensions: 3\nboundary: mirror\n' ;;
    laws) printf 'kind: laws\nkernel: L5E5E5\nrotation_invariant: true\npooling: max\nenergy: {delta: 7}\ndimensions: 3\nboundary: mirror\n' ;;
    wavelet_db3_llh) printf 'kind: wavelet\nfamily: db3\nsubband: LLH\nlevel: 1\nrotation_invariant: true\npooling: average\ndimensions: 3\nboundary: mirror\n' ;;
    wavelet_db3_hhh_level2) printf 'kind: wavelet\nfamily: db3\nsubband: HHH\nlevel: 2\nrotation_invariant: true\npooling: average\ndimensions: 3\nboundary: mirror\n' ;;
    gabor_16x3) printf 'kind: gabor\nsigma: 5\nlambda: 2\ngamma: 1.5\ntheta: 0\ntheta_step: 22.5\nresponse: modulus\nplanes: orthogonal\npooling: average\nboundary: mirror\n' ;;
    simoncelli_1) printf 'kind: simoncelli\nlevel: 1\ndimensions: 3\nboundary: periodic\n' ;;
    simoncelli_2) printf 'kind: simoncelli\nlevel: 2\ndimensions: 3\nboundary: periodic\n' ;;
    esac
}

echo "# radial: $bin"
echo "# threads: $threads; image: CT phantom at 1 mm ($(stat -c %s "$ct") bytes as float32 NIfTI)"
echo
echo "## (a) single filters, whole process (radial filter on the 1 mm phantom)"
printf '%-24s %s\n' filter "elapsed  peak RSS  CPU (user+sys)"
for f in mean log laws wavelet_db3_llh wavelet_db3_hhh_level2 gabor_16x3 simoncelli_1 simoncelli_2; do
    filter_settings "$f" >"$work/$f.yaml"
    printf '%-24s %s\n' "$f" "$(timed "$bin" filter --image "$ct" --settings "$work/$f.yaml" --out "$maps/$f.nii")"
done

echo
echo "## (b) IBSI 2 phase-2 configurations, whole process (radial extract)"
printf '%-6s %s\n' config "elapsed  peak RSS  CPU (user+sys)"
total=0
cpu=0
for id in 1A 1B 2A 2B 3A 3B 4A 4B 5A 5B 6A 6B 7A 7B 8A 8B 9A 9B; do
    line=$(timed "$bin" extract --image "$image" --mask "$mask" \
        --settings "$root/pipelines/ibsi2/phase2/$id.yaml" --out "$tables/$id.csv")
    printf '%-6s %s\n' "$id" "$line"
    total=$(echo "$total ${line%% s*}" | awk '{printf "%.2f", $1 + $2}')
    cpu=$(echo "$cpu ${line##*cpu }" | awk '{split($2, c, "+"); printf "%.2f", $1 + c[1] + c[2]}')
done
echo "total  $total s (CPU $cpu s)"
