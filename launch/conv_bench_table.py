#!/usr/bin/env python3
"""The table and the plot of launch/conv-bench.sh: conv_bench_table.py JSONL TABLE.md PLOT.svg RIGL_SPARSITY.

For each model and sparsity: Sprig's samples/s in each round, the median of the rounds' ratios
to Sprig's dense row and to PyTorch dense (same round), rigl-torch beside its sparsity, and where
the step's time goes in Sprig. The plot (SVG, no dependencies) shows samples/s against sparsity.
"""
import json
import statistics
import sys

rows = [json.loads(line) for line in open(sys.argv[1])]
rigl = float(sys.argv[4])
models = list(dict.fromkeys(o["model"] for o in rows))


def by_round(measure, model, sparsity=None):
    return {o["round"]: o["samples_per_second"] for o in rows
            if o["measure"] == measure and o["model"] == model and (sparsity is None or abs(o["sparsity"] - sparsity) < 1e-9)}


def ratio(a, b):
    pairs = [a[r] / b[r] for r in sorted(a) if r in b]
    return (statistics.median(pairs), pairs) if pairs else (float("nan"), [])


def fmt(d):
    return ", ".join(f"{v:,.0f}" for _, v in sorted(d.items()))


def cell(a, b):
    m, pairs = ratio(a, b)
    return f"**{m:.2f}x** ({', '.join(f'{p:.2f}' for p in pairs)})"


lines = ["| model | sparsity (ERK) | Sprig samples/s (rounds) | vs Sprig dense | vs PyTorch dense | where Sprig's step goes (conv fwd / dX / dW / both, BN, element-wise, masks) |",
         "|---|---|---|---|---|---|"]
series = {}
for model in models:
    torch_dense, rigl_torch = by_round("torch", model), by_round("rigl-torch", model)
    sparsities = sorted({o["sparsity"] for o in rows if o["measure"] == "sprig" and o["model"] == model})
    dense = by_round("sprig", model, 0.0)
    for s in sparsities:
        mine = by_round("sprig", model, s)
        last = [o for o in rows if o["measure"] == "sprig" and o["model"] == model and abs(o["sparsity"] - s) < 1e-9][-1]
        t = last.get("time_shares", {})
        shares = " / ".join(f"{100 * t.get(k, 0):.0f}" for k in ("conv_forward", "conv_input_grad", "conv_weight_grad", "conv_backward_unsplit"))
        shares += ", " + ", ".join(f"{100 * t.get(k, 0):.0f}" for k in ("batch_norm", "elementwise", "mask_update")) + " %"
        lines.append(f"| {model} | {s:.2f} | {fmt(mine)} | {cell(mine, dense) if s > 0 else '1x'} | {cell(mine, torch_dense)} | {shares} |")
        series.setdefault(model, []).append((s, statistics.median(mine.values())))
    lines.append(f"| {model} | PyTorch dense | {fmt(torch_dense)} | | | |")
    lines.append(f"| {model} | rigl-torch {rigl:.2f} (uniform) | {fmt(rigl_torch)} | | {cell(rigl_torch, torch_dense)} | |")
inference = [o for o in rows if o["measure"] == "sprig-inference"]
if inference:
    lines += ["", "Inference (forward pass alone, one thread; Sprig's sparse and dense models and PyTorch's `model.eval()` "
              "under `torch.no_grad()`, in turn):", "",
              "| model | sparsity (ERK) | batch | Sprig samples/s (rounds) | vs Sprig dense | vs PyTorch eval |", "|---|---|---|---|---|---|"]
    for model in dict.fromkeys(o["model"] for o in inference):
        for batch in sorted({o["batch"] for o in inference if o["model"] == model}):
            torch = {o["round"]: o["samples_per_second"] for o in rows
                     if o["measure"] == "torch-inference" and o["model"] == model and o["batch"] == batch}
            mine = [o for o in inference if o["model"] == model and o["batch"] == batch]
            dense = {o["round"]: o["dense_samples_per_second"] for o in mine}
            for s in sorted({o["sparsity"] for o in mine}):
                sparse = {o["round"]: o["samples_per_second"] for o in mine if o["sparsity"] == s}
                lines.append(f"| {model} | {s:.2f} | {batch} | {fmt(sparse)} | {cell(sparse, dense)} | {cell(sparse, torch)} |")
            lines.append(f"| {model} | dense | {batch} | {fmt(dense)} | 1x | {cell(dense, torch)} |")
            lines.append(f"| {model} | PyTorch eval | {batch} | {fmt(torch)} | | |")
text = "\n".join(lines) + "\n"
open(sys.argv[2], "w").write(text)
print(text)

# The plot: samples/s (log scale) against sparsity, one line per model, PyTorch dense as a dashed level.
import math
W, H, L, B = 640, 400, 70, 50
values = [v for pts in series.values() for _, v in pts] + [statistics.median(by_round("torch", m).values()) for m in models if by_round("torch", m)]
lo, hi = math.log10(min(values) / 1.5), math.log10(max(values) * 1.5)
x = lambda s: L + (W - L - 20) * s
y = lambda v: H - B - (H - B - 20) * (math.log10(v) - lo) / (hi - lo)
colors = ["#1b6ca8", "#c0392b", "#27ae60", "#8e44ad", "#d35400"]
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
       f'<rect width="{W}" height="{H}" fill="white"/>',
       f'<line x1="{L}" y1="{H - B}" x2="{W - 20}" y2="{H - B}" stroke="black"/><line x1="{L}" y1="20" x2="{L}" y2="{H - B}" stroke="black"/>',
       f'<text x="{W / 2}" y="{H - 12}" text-anchor="middle">sparsity (ERK; RigL)</text>',
       f'<text x="16" y="{H / 2}" transform="rotate(-90 16 {H / 2})" text-anchor="middle">training samples/s (one thread)</text>']
for s in (0, 0.2, 0.4, 0.6, 0.8, 1.0):
    svg.append(f'<text x="{x(s)}" y="{H - B + 16}" text-anchor="middle">{s:.1f}</text>')
for e in range(math.floor(lo), math.ceil(hi) + 1):
    for m in (1, 2, 5):
        v = m * 10 ** e
        if lo <= math.log10(v) <= hi:
            svg.append(f'<text x="{L - 6}" y="{y(v) + 4}" text-anchor="end">{v:g}</text><line x1="{L}" y1="{y(v)}" x2="{W - 20}" y2="{y(v)}" stroke="#ddd"/>')
for i, (model, pts) in enumerate(series.items()):
    c = colors[i % len(colors)]
    svg.append(f'<polyline fill="none" stroke="{c}" stroke-width="2" points="{" ".join(f"{x(s):.1f},{y(v):.1f}" for s, v in pts)}"/>')
    for s, v in pts:
        svg.append(f'<circle cx="{x(s):.1f}" cy="{y(v):.1f}" r="3" fill="{c}"/>')
    svg.append(f'<text x="{L + 10}" y="{34 + 16 * i}" fill="{c}">Sprig {model}</text>')
    t = by_round("torch", model)
    if t:
        v = statistics.median(t.values())
        svg.append(f'<line x1="{L}" y1="{y(v):.1f}" x2="{W - 20}" y2="{y(v):.1f}" stroke="{c}" stroke-dasharray="6 4"/>')
        svg.append(f'<text x="{W - 24}" y="{y(v) - 4:.1f}" text-anchor="end" fill="{c}">PyTorch dense {model}</text>')
svg.append("</svg>")
open(sys.argv[3], "w").write("\n".join(svg) + "\n")
