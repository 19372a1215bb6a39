#!/usr/bin/env bash
# The planning benchmark of docs/scale.md: `radial run --executor slurm
# --plan-only` over 10,000 cases x 25 per-case stages, with wall time and
# peak memory from /usr/bin/time -v. Planning hashes every input file, so
# the manifest's 10,000 rows point at a few synthetic cases (each file is
# hashed once, then found by its stamp).
#
#   scripts/slurm-plan-bench.sh [RADIAL_BINARY] [CASES] [run [BUNDLE] | local]
#                              (default: target/release/radial, 10000, planning only)
#
# With `run`, the pipeline up to `collect` (the learning stages on 10,000
# rows of four distinct cases would measure the classifier, not the driver)
# is then run on the cluster (SLURM_CONF; scripts/slurm-local.sh start) to
# measure the driver's peak memory over a whole run. The task keys depend
# on content, not on case ids, so the workers compute four chains and find
# the other 9,996 cached: the driver still plans, submits, polls and records
# all 250,000 tasks, which is what its memory holds. With `local`, the same
# run through the local executor, for comparison.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${1:-${CARGO_TARGET_DIR:-$ROOT/target}/release/radial}"
CASES="${2:-10000}"
MODE="${3:-plan}"
BUNDLE="${4:-}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
"$BIN" synth --cases 4 --out "$WORK/cases" > /dev/null
cp "$ROOT/pipelines/bench/slurm-plan-25-stages.yaml" "$WORK/pipeline.yaml"
{
    echo "case_id,image,mask,label,phenotype"
    for i in $(seq 0 $((CASES - 1))); do
        k=$((i % 4))
        echo "c$i,cases/images/case_000$k.nii.gz,cases/masks/case_000$k.nii.gz,1,$((k % 2))"
    done
} > "$WORK/manifest-10000.csv"
cd "$WORK"
for pass in cold warm; do
    echo "== $pass ($CASES cases; $pass file-hash cache)"
    /usr/bin/time -v "$BIN" run pipeline.yaml --executor slurm --plan-only --bundle 1 2> time.txt
    grep -E "Elapsed \(wall|Maximum resident" time.txt
done
if [ "$MODE" = run ] || [ "$MODE" = local ]; then
    awk '/^  - id: select/{exit} {print}' pipeline.yaml > pipeline-run.yaml
    if [ "$MODE" = run ]; then
        executor=(--executor slurm ${BUNDLE:+--bundle "$BUNDLE"})
    else
        executor=(--executor local)
    fi
    echo "== run to collect, ${executor[*]} ($CASES cases)"
    /usr/bin/time -v "$BIN" run pipeline-run.yaml "${executor[@]}" 2> time.txt | tail -2
    grep -E "^slurm:|Elapsed \(wall|Maximum resident" time.txt
    ls -l .radial/runs/*.json | awk '{print "run record:", $5, "bytes"}'
fi
