#!/usr/bin/env python3
"""Pictures of a run from its metrics file (sprig train --metrics-out): training curves
(train loss and test accuracy per epoch) and per-layer density bars. Several files can be
given to compare runs on one set of axes. Needs matplotlib (launch/plot-metrics.sh installs
it into a venv).

    python3 launch/plot-metrics.py OUTDIR RUN.jsonl [MORE.jsonl ...]
writes OUTDIR/curves.png and OUTDIR/sparsity.png (the first file's layers)."""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def load(path):
    lines = [json.loads(l) for l in open(path) if l.strip()]
    return [l for l in lines if not l.get("final")], next((l for l in lines if l.get("final")), {})


def save(fig, path):
    fig.tight_layout()
    fig.savefig(path + ".tmp.png", dpi=100)
    os.replace(path + ".tmp.png", path)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out, paths = sys.argv[1], sys.argv[2:]
    os.makedirs(out, exist_ok=True)
    fig, (loss, acc) = plt.subplots(1, 2, figsize=(9, 3.4))
    for path in paths:
        epochs, final = load(path)
        label = final.get("method", os.path.basename(path))
        x = [e["epoch"] for e in epochs]
        loss.plot(x, [e["train_loss"] for e in epochs], label=label)
        acc.plot(x, [100 * e["test_accuracy"] for e in epochs], label=label)
    loss.set_yscale("log")
    loss.set(xlabel="epoch", ylabel="train loss", title="training loss")
    acc.set(xlabel="epoch", ylabel="test accuracy (%)", title="test accuracy")
    for ax in (loss, acc):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    save(fig, os.path.join(out, "curves.png"))

    _, final = load(paths[0])
    active, dense = final.get("active_per_layer", {}), final.get("dense_per_layer", {})
    if active and dense:
        names = list(active)
        density = [active[n] / dense[n] for n in names]
        fig, ax = plt.subplots(figsize=(5, 3.2))
        bars = ax.bar(names, density, color="#3b528b")
        for bar, n, d in zip(bars, names, density):
            ax.text(bar.get_x() + bar.get_width() / 2, d, f"{active[n]:,} of {dense[n]:,}\n{100 * d:.1f}%",
                    ha="center", va="bottom", fontsize=8)
        ax.set_yscale("log")
        ax.set_ylim(min(density) / 3, 3)
        ax.set(ylabel="density (active / all)", title=f"active weights per layer ({final.get('method', '')})")
        ax.grid(alpha=0.3, axis="y")
        save(fig, os.path.join(out, "sparsity.png"))
    print(f"plot-metrics: wrote {out}/curves.png" + (f" and {out}/sparsity.png" if active else ""))


main()
