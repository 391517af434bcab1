"""The Markdown tables of launch/reproduce.sh, from the metrics files of its runs.

    python3 launch/reproduce_tables.py TABLE RUN_FOLDER

Seeds are summarised as the median and the spread (lowest to highest), as the RigL paper
reports its runs.
"""
import json
import statistics
import sys

NAMES = {"dense": "Dense", "static": "Static", "set": "SET", "snfs": "SNFS", "snip": "SNIP", "rigl": "RigL",
         "gmp": "Gradual pruning", "srigl": "SRigL", "topkast": "Top-KAST", "granet": "GraNet"}
# The sparse methods of the comparison tables, in their rows' order (launch/reproduce.sh runs them).
METHODS = ("static", "set", "snfs", "snip", "rigl", "gmp", "srigl", "topkast", "granet")


def lines(path):
    return [json.loads(l) for l in open(path)]


def final(path):
    last = lines(path)[-1]
    assert last.get("final") is True, f"{path}: the run did not finish"
    return last


def pct(x):
    return f"{100 * x:.2f}%"


def seeds(values, fmt=pct):
    """`median (lowest-highest)` of a list of values."""
    if len(values) == 1:
        return fmt(values[0])
    return f"{fmt(statistics.median(values))} ({fmt(min(values))}-{fmt(max(values))})"


def rigl_mnist(out, caption):
    rows = ["| start sparsity fc1 / fc2 | final test error, seeds 1, 2, 3 | median (spread) | best during training, median | "
            "active weights | connected architecture (seed 1) |", "|---|---|---|---|---|---|"]
    for variant, label in (("paper", "99% / 89% (the paper's)"), ("code", "98% / 88.2% (the reference code's defaults)")):
        finals = [final(f"{out}/{variant}-{s}.jsonl") for s in (1, 2, 3)]
        errors = [1 - f["test_accuracy"] for f in finals]
        best = [1 - max(e["test_accuracy"] for e in lines(f"{out}/{variant}-{s}.jsonl")[:-1]) for s in (1, 2, 3)]
        f = finals[0]
        rows.append(f"| {label} | {', '.join(pct(e) for e in errors)} | **{seeds(errors)}** | {pct(statistics.median(best))} "
                    f"| {f['active_weights']:,} of {f['dense_weights']:,} | {f.get('connected_widths', '-')} |")
    return caption + " The paper (RigL, appendix B): 1.48% final test error, 1.44% the best during training, 408-100-69 connected.\n\n" + "\n".join(rows)


def nnrelief(out, config):
    ls = lines(f"{out}/nnrelief.jsonl")
    end = ls[-1]
    assert end.get("final") is True, "the run did not finish"
    rows = ["| stage | weights kept | test accuracy (kept epoch) | validation accuracy (kept epoch) | "
            "best test accuracy of the round (the reference's choice) | per layer |", "|---|---|---|---|---|---|"]
    for l in ls:
        stage = l.get("stage", "")
        if stage != "trained" and not stage.endswith("retrained"):
            continue
        per = ", ".join(f"{k} {v:,}" for k, v in l["active_per_layer"].items())
        val = pct(l["validation_accuracy"]) if "validation_accuracy" in l else "-"
        best = pct(l["best_test_accuracy"]) if "best_test_accuracy" in l else "-"
        rows.append(f"| {stage} | {l['active_weights']:,} ({100 * l['weights_fraction']:.2f}%) | {pct(l['test_accuracy'])} "
                    f"| {val} | {best} | {per} |")
    removed = ", ".join(f"{k} {v}" for k, v in end["removed_neurons"].items())
    return (f"`sprig prune --config {config}` ({end['rounds']} rounds, {end['epochs']} epochs in all, seed 1). Each round "
            f"keeps its retraining epoch of best validation accuracy (5,000 held-out training images); the column "
            f"before last is what choosing on the test set, as the reference code does, would have reported. "
            f"Neurons removed at the end: {removed}.\n\n" + "\n".join(rows))


def methods_lenet300(out):
    pcts = (90, 95, 98, 99)
    dense = [final(f"{out}/dense-s{s}.jsonl")["test_accuracy"] for s in (1, 2, 3)]
    rows = ["| method | " + " | ".join(f"{p}%" for p in pcts) + " | training FLOPs at 98% (x dense) |",
            "|---|" + "---|" * (len(pcts) + 1)]
    for m in METHODS:
        cells = []
        for p in pcts:
            cells.append(seeds([final(f"{out}/{m}-{p}-s{s}.jsonl")["test_accuracy"] for s in (1, 2, 3)]))
        flops = final(f"{out}/{m}-98-s1.jsonl")["training_flops_vs_dense"]
        rows.append(f"| {NAMES[m]} | " + " | ".join(cells) + f" | {flops:.3f} |")
    return ("LeNet-300-100 on MNIST, uniform sparsity on every layer, 30 epochs (`configs/methods/`), one process: test "
            "accuracy, the median of seeds 1, 2 and 3 (lowest-highest). Dense, the same recipe with every weight: "
            f"{seeds(dense)}.\n\n" + "\n".join(rows))


def methods_resnet20(out):
    sparsities = ("8", "9", "95")
    dense = final(f"{out}/dense.jsonl")
    rows = ["| method | 80% | 90% | 95% | training FLOPs at 90% (x dense) |", "|---|---|---|---|---|"]
    for m in METHODS:
        cells = [pct(final(f"{out}/{m}-{s}.jsonl")["test_accuracy"]) for s in sparsities]
        rows.append(f"| {NAMES[m]} | " + " | ".join(cells) + f" | {final(f'{out}/{m}-9.jsonl')['training_flops_vs_dense']:.3f} |")
    return ("ResNet-20 on MNIST (`configs/resnet-20-mnist.yaml` with `--epochs 2`), ERK distribution, 2 ranks, seed 1: "
            f"test accuracy after 2 epochs. Dense, the same recipe with every weight: {pct(dense['test_accuracy'])}.\n\n"
            + "\n".join(rows))


table, out = sys.argv[1], sys.argv[2]
print({"rigl-mnist": lambda: rigl_mnist(out, "RigL on LeNet-300-100, MNIST, 200 epochs, one process "
                                         "(`configs/paper/rigl-lenet300.yaml`: the reference code's recipe with the paper's "
                                         "starting sparsities; the second row sets the reference code's)."),
       "rigl-mnist-torch": lambda: rigl_mnist(out, "The same recipe written anew in PyTorch (`python/rigl_mnist_reference.py`, "
                                               "torch on one thread, the reference code's semantics), seeds 1-3."),
       "nnrelief-lenet300": lambda: nnrelief(out, "configs/paper/nnrelief-lenet300.yaml"),
       "nnrelief-lenet5-caffe": lambda: nnrelief(out, "configs/paper/nnrelief-lenet5-caffe.yaml"),
       "methods-lenet300": lambda: methods_lenet300(out),
       "methods-resnet20": lambda: methods_resnet20(out)}[table]())
