#!/usr/bin/env python3
"""Pictures of runs from their metrics files (sprig train or sprig prune --metrics-out).
Needs matplotlib (launch/plot-metrics.sh installs it into a venv).

    python3 launch/plot-metrics.py OUTDIR RUN.jsonl [MORE.jsonl ...]

writes into OUTDIR
  curves.png    train loss and test accuracy per epoch, every file on one set of axes
                (for a prune run, dotted lines where a round pruned, and a marker for the
                accuracy right after pruning, before retraining);
  sparsity.png  active weights per layer at the end of the first file that has them;
  pruning.png   for prune runs: per round, test accuracy after pruning and after
                retraining, the active weights of each layer, and the neurons removed.
A file may hold several runs one after another (a train run's lines and a prune run's
appended to one file): a run ends at its final line or where the epochs start again, and
each is plotted as its own. Lines of any other shape are ignored; a line that is not JSON
is an error."""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def load(path):
    """The runs of a metrics file, one after another: each with its epoch lines, prune stage
    lines (each with the epoch before it) and final line ({} when none). A run ends at its
    final line, or where the epochs start again (a file that several runs appended to)."""
    runs = []
    run = None
    with open(path) as f:
        for number, text in enumerate(f, 1):
            if not text.strip():
                continue
            try:
                line = json.loads(text)
            except json.JSONDecodeError as e:
                sys.exit(f"plot-metrics: {path}:{number}: not a JSON line ({e})")
            if not isinstance(line, dict):
                sys.exit(f"plot-metrics: {path}:{number}: not a JSON object")
            restart = "epoch" in line and run and run["epochs"] and line["epoch"] <= run["epochs"][-1]["epoch"]
            if run is None or run["final"] or restart:
                run = {"path": path, "epochs": [], "stages": [], "final": {}}
                runs.append(run)
            if line.get("final"):
                run["final"] = line
            elif "stage" in line:
                run["stages"].append(dict(line, after_epoch=run["epochs"][-1]["epoch"] if run["epochs"] else 0))
            elif "epoch" in line and "train_loss" in line:
                run["epochs"].append(line)
    for k, run in enumerate(runs, 1):
        run["source"] = os.path.basename(path) + (f", run {k}" if len(runs) > 1 else "")
    return runs


def method(run):
    """The run's method: the final line's, "nnrelief" for a prune run."""
    final = run["final"]
    return final.get("method") or ("nnrelief" if "rounds" in final or run["stages"] else "")


def labels(runs):
    """A legend label per run: its method, with its file (and place in it) when methods repeat."""
    names = [method(r) or r["source"] for r in runs]
    return [n if names.count(n) == 1 else f"{n} ({r['source']})" for n, r in zip(names, runs)]


def round_of(stage):
    """(round, kind) of a stage line: ("trained" is round 0)."""
    words = stage["stage"].split()
    if words[0] == "round" and len(words) >= 3 and words[1].isdigit():
        return int(words[1]), words[2]
    return 0, stage["stage"]


def save(fig, path):
    fig.tight_layout()
    fig.savefig(path + ".tmp.png", dpi=100)
    os.replace(path + ".tmp.png", path)


def curves(runs, names, out):
    fig, (loss, acc) = plt.subplots(1, 2, figsize=(9, 3.4))
    for run, name in zip(runs, names):
        epochs = run["epochs"]
        line, = loss.plot([e["epoch"] for e in epochs], [e["train_loss"] for e in epochs], label=name)
        acc.plot([e["epoch"] for e in epochs], [100 * e["test_accuracy"] for e in epochs], label=name, color=line.get_color())
        pruned = [s for s in run["stages"] if round_of(s)[1] == "pruned"]
        for s in pruned:
            for ax in (loss, acc):
                ax.axvline(s["after_epoch"], color=line.get_color(), linestyle=":", alpha=0.5)
        if pruned:
            acc.plot([s["after_epoch"] for s in pruned], [100 * s["test_accuracy"] for s in pruned], "v",
                     color=line.get_color(), label=f"{name}: after pruning")
    loss.set_yscale("log")
    loss.set(xlabel="epoch", ylabel="train loss", title="training loss")
    acc.set(xlabel="epoch", ylabel="test accuracy (%)", title="test accuracy")
    for ax in (loss, acc):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        ax.xaxis.get_major_locator().set_params(integer=True)
    save(fig, os.path.join(out, "curves.png"))


def sparsity(run, out):
    final = run["final"]
    active, dense = final["active_per_layer"], final["dense_per_layer"]
    names = list(active)
    density = [active[n] / dense[n] for n in names]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    bars = ax.bar(names, density, color="#3b528b")
    for bar, n, d in zip(bars, names, density):
        ax.text(bar.get_x() + bar.get_width() / 2, d, f"{active[n]:,} of {dense[n]:,}\n{100 * d:.1f}%",
                ha="center", va="bottom", fontsize=8)
    ax.set_yscale("log")
    ax.set_ylim(min(density) / 3, 3)
    ax.set(ylabel="density (active / all)", title=f"active weights per layer ({method(run)})")
    ax.grid(alpha=0.3, axis="y")
    save(fig, os.path.join(out, "sparsity.png"))


def pruning(runs, names, out):
    fig, (acc, weights, neurons) = plt.subplots(1, 3, figsize=(13, 3.6))
    styles = ["-", "--", "-.", ":"]
    for i, (run, name) in enumerate(zip(runs, names)):
        style = styles[i % len(styles)]
        prefix = f"{name}: " if len(runs) > 1 else ""
        for kind, marker in (("pruned", "v"), ("retrained", "o")):
            points = [(round_of(s)[0], 100 * s["test_accuracy"]) for s in run["stages"] if round_of(s)[1] in (kind, "trained")]
            if len(points) > 1:
                acc.plot(*zip(*points), marker=marker, linestyle=style, label=f"{prefix}after {'pruning' if kind == 'pruned' else 'retraining'}")
        # a round's weights and neurons once it has pruned (retraining changes neither)
        rounds = [s for s in run["stages"] if round_of(s)[1] in ("pruned", "trained")]
        x = [round_of(s)[0] for s in rounds]
        for layer in rounds[0].get("active_per_layer", {}) if rounds else {}:
            line, = weights.plot(x, [s["active_per_layer"][layer] for s in rounds], marker="o", linestyle=style, label=prefix + layer)
            neurons.plot(x, [s.get("removed_neurons", {}).get(layer, 0) for s in rounds], marker="o", linestyle=style,
                         color=line.get_color(), label=prefix + layer)
        if rounds and "active_weights" in rounds[0]:
            weights.plot(x, [s["active_weights"] for s in rounds], marker="s", linestyle=style, color="black", label=prefix + "all")
            if "weights_fraction" in rounds[-1]:
                weights.annotate(f"{100 * rounds[-1]['weights_fraction']:.1f}% of all", (x[-1], rounds[-1]["active_weights"]),
                                 textcoords="offset points", xytext=(-4, 6), ha="right", fontsize=8)
    acc.set(xlabel="round (0: trained dense)", ylabel="test accuracy (%)", title="accuracy per round")
    weights.set_yscale("log")
    weights.set(xlabel="round", ylabel="active weights", title="weights per layer")
    neurons.set(xlabel="round", ylabel="neurons removed (so far)", title="neurons removed per layer")
    for ax in (acc, weights, neurons):
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
        ax.xaxis.get_major_locator().set_params(integer=True)
    save(fig, os.path.join(out, "pruning.png"))


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out, paths = sys.argv[1], sys.argv[2:]
    runs = []
    for p in paths:
        found = load(p)
        if not found:
            sys.exit(f"plot-metrics: no metrics lines in {p}")
        runs += found
    os.makedirs(out, exist_ok=True)
    names = labels(runs)
    written = []
    trained = [(r, n) for r, n in zip(runs, names) if r["epochs"]]
    if trained:
        curves(*zip(*trained), out)
        written.append("curves.png")
    first = next((r for r in runs if r["final"].get("active_per_layer") and r["final"].get("dense_per_layer")), None)
    if first:
        sparsity(first, out)
        written.append("sparsity.png")
    pruned = [(r, n) for r, n in zip(runs, names) if r["stages"]]
    if pruned:
        pruning(*zip(*pruned), out)
        written.append("pruning.png")
    if not written:
        sys.exit("plot-metrics: nothing to plot (no epoch, prune round or final lines with per-layer weights)")
    print(f"plot-metrics: wrote {' and '.join(os.path.join(out, w) for w in written)}")


main()
