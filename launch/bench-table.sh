#!/usr/bin/env bash
# docs/results.md's throughput table ("Training throughput"): `sprig bench` on LeNet-300-100 and
# mlp-wide over sparsities 0-99%, one rank, batch 128 in 4 micro-batches, RigL mask updates
# every 100 steps included, beside the sparse kernels', the dense kernels' and sgemm's
# GFLOP/s in the same run.
# Prints the table; with UPDATE_README=1 (or UPDATE_RESULTS=1) also writes it between
# docs/results.md's bench-table markers, under a stamp naming this command, the commit and
# the day (launch/readme_block.py).
#
#   launch/bench-table.sh            env: SECONDS_PER_ROW (2), UPDATE_README (0), UPDATE_RESULTS (0)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source "$ROOT/launch/results-stamp.sh"
STAMP="$(stamp_command launch/bench-table.sh SECONDS_PER_ROW)"
[ -x .build/release/sprig ] || swift build -c release --product sprig
export OPENBLAS_NUM_THREADS=1
json=$(.build/release/sprig bench --json --seconds "${SECONDS_PER_ROW:-2}")
table=$(printf '%s\n' "$json" | python3 -c "$(cat <<'PY'
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.startswith("{")]
sgemm = next(r for r in rows if r.get("kernel") == "sgemm")
own = next(r for r in rows if r.get("kernel") == "dense_kernels")
print("| model | sparsity | samples/s | vs dense | useful GFLOP/s | model bytes | vs dense |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    if "samples_per_second" not in r:
        continue
    vs = "-" if r["speedup_vs_dense"] is None else "%.2fx" % r["speedup_vs_dense"]
    mem = "-" if r["model_bytes_vs_dense"] is None else "%.3f" % r["model_bytes_vs_dense"]
    print("| %s | %.2f | %s | %s | %.1f | %s | %s |" % (r["model"], r["sparsity"], format(round(r["samples_per_second"]), ","),
                                                   vs, r["gflops"], format(r["model_bytes"], ","), mem))
for k in rows:
    if k.get("kernel") == "sparse" and k["model"] == "lenet-300-100" and abs(k["sparsity"] - 0.98) < 1e-9:
        print()
        print("Sparse kernels on LeNet-300-100 fc1 at 98%%, batch %d: forward %.1f, input gradient %.1f, weight gradient "
              "(SDDMM) %.1f useful GFLOP/s, against %.1f for sgemm 1024^3 in the same run (`launch/bench-table.sh`, which "
              "runs `sprig bench --json`)." % (k["batch"], k["forward_gflops"], k["input_gradient_gflops"],
                                               k["weight_gradient_gflops"], sgemm["gflops"]))
print()
print("Dense layers run on Sprig's DenseKernels: %.1f GFLOP/s at 1024^3 against %.1f for sgemm, and %.1f against %.1f "
      "on LeNet-300-100's fc1 forward product (300 x 128 x 784)." % (own["gflops"], sgemm["gflops"], own["fc1_gflops"],
                                                                     own["fc1_sgemm_gflops"]))
PY
)")
printf '%s\n' "$table"
if [ "${UPDATE_README:-0}" = 1 ] || [ "${UPDATE_RESULTS:-0}" = 1 ]; then
  printf '%s\n' "$table" | python3 launch/readme_block.py bench-table docs/results.md --command "$STAMP" --commit "$STAMP_COMMIT"
fi
