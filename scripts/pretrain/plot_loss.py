"""Loss curve of a pretraining run as a PNG: training loss (per --log-every steps) and held-out loss vs tokens seen.

Usage:
    python3 scripts/pretrain/plot_loss.py RUN_DIR/log.tsv OUT.png [--title TEXT]
"""
import argparse
import csv

import matplotlib

matplotlib.use("Agg")  # no display here
import matplotlib.pyplot as plt  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("log")
    p.add_argument("out")
    p.add_argument("--title", default="Mamba DNA encoder, causal-LM pretraining")
    a = p.parse_args()
    rows = list(csv.DictReader(open(a.log), delimiter="\t"))
    seen = set()
    series = {"train": ([], []), "val": ([], [])}
    for r in rows:
        key = (r["kind"], r["step"])
        if key in seen:  # the end-of-run evaluation can repeat the last periodic one
            continue
        seen.add(key)
        series[r["kind"]][0].append(int(r["tokens"]) / 1e9)
        series[r["kind"]][1].append(float(r["loss"]))
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    ax.plot(*series["train"], lw=0.8, alpha=0.6, label="train (one batch)")
    ax.plot(*series["val"], "o-", ms=3, color="C3", label="held out")
    ax.axhline(1.3863, ls=":", color="grey", lw=0.8, label="uniform over A/C/G/T (ln 4)")
    ax.set_xlabel("tokens seen (billions)")
    ax.set_ylabel("next-base loss (nats)")
    lo = min(min(series["train"][1] or [1.3]), min(series["val"][1] or [1.3]))
    ax.set_ylim(lo - 0.02, 1.45)
    ax.set_title(a.title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(a.out)


if __name__ == "__main__":
    main()
