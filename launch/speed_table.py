"""The table of launch/speed-bench.sh from its measurements (speed.jsonl, one JSON object
per measurement and round): each ratio the median of the rounds' ratios, with its floor.
Prints one line per missed floor and exits 1 when any is missed.

    python3 launch/speed_table.py speed.jsonl speed.md
"""
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def per_round(measure, **match):
    found = {}
    for o in rows:
        if o["measure"] == measure and all(o.get(k) == v for k, v in match.items()):
            found[o["round"]] = o["samples_per_second"]
    return found
def ratio(a, b):
    pairs = [a[r] / b[r] for r in sorted(a) if r in b]
    return statistics.median(pairs), pairs
def fmt(d): return ", ".join(f"{v:,.0f}" for _, v in sorted(d.items()))
lines = ["| what | Sprig (samples/s, per round) | against (per round) | ratio, median of the rounds (each round) | floor |",
         "|---|---|---|---|---|"]
missed = []
def row(what, a, b, against, floor):
    m, pairs = ratio(a, b)
    met = floor == "-" or (m > float(floor[2:-1]) if floor.startswith("> ") else m >= float(floor[3:-1]))
    if not met:
        missed.append(f"{what}: {m:.2f}x against {against}, floor {floor}")
    lines.append(f"| {what} | {fmt(a)} | {against}: {fmt(b)} | **{m:.2f}x** ({', '.join(f'{p:.2f}' for p in pairs)}) | {floor}{'' if met else ' (missed)'} |")
row("LeNet-300-100 RigL 98%", per_round("rigl98-sprig"), per_round("rigl98-torch"), "rigl-torch 98%", ">= 20x")
row("LeNet-300-100 dense", per_round("dense300-sprig"), per_round("dense300-torch"), "PyTorch", "-")
row("LeNet-5 dense", per_round("lenet5-sprig", sparsity=0), per_round("lenet5-torch"), "PyTorch", "> 1x")
row("LeNet-5 RigL 95% ERK", per_round("lenet5-sprig", sparsity=0.95), per_round("lenet5-sprig", sparsity=0), "Sprig dense LeNet-5", ">= 3x")
row("dense LeNet-300-100, 4 micro-batches", per_round("dense300-sprig"), per_round("dense300-mb1"), "1 micro-batch", ">= 0.95x")
fast = [o for o in rows if o["measure"] == "fast-mnist"]
acc = [o["test_accuracy"] for o in fast]
wall = [o["wall_seconds"] for o in fast]
lines.append("")
lines.append(f"configs/fast-mnist.yaml on 2 ranks, seeds {', '.join(str(o['round']) for o in fast)}: test accuracy {', '.join(f'{a:.2f}%' for a in acc)} "
             f"(mean {statistics.mean(acc):.2f}%, {sum(a >= 98.0 for a in acc)} of {len(acc)} at >= 98.0%); wall time "
             f"{', '.join(f'{w:.2f}' for w in wall)} s (median {statistics.median(wall):.2f} s; floor: >= 98.0% in <= 3.0 s).")
if not (statistics.mean(acc) >= 98.0 and statistics.median(wall) <= 3.0):
    missed.append(f"fast-mnist: mean {statistics.mean(acc):.2f}% in a median {statistics.median(wall):.2f} s, floor >= 98.0% in <= 3.0 s")
text = "\n".join(lines) + "\n"
open(sys.argv[2], "w").write(text)
print(text)
for m in missed:
    print(f"speed-bench: floor missed: {m}")
sys.exit(1 if missed else 0)
