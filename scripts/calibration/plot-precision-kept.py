#!/usr/bin/env python3
"""Precision against share of reads kept, as the confidence threshold falls, for `classify` tables (run with
`--confidence 0`, so every read past the screen has a label and a confidence), with other tools' single operating
points beside them.

Usage: scripts/calibration/plot-precision-kept.py OUT.png TITLE:TSV:FASTA:KEY[:DEFAULT_T] ... [--point=TITLE:KEPT:PRECISION]...
       [--curve=TITLE:KEPT/PRECISION,KEPT/PRECISION,...]...
  TSV     classify output; FASTA the same reads with KEY=label in their headers (the truth)
  DEFAULT_T  marks the model's default threshold on its curve
  --curve  another tool's operating points joined into a line (e.g. kraken2 at several --confidence values,
           from scripts/kraken2-peer --confidence-curve)
Prints, per curve, the share kept at precision >= 0.9997, 0.999, 0.99, 0.98.
"""
import itertools
import sys


def curve(tsv, fasta, key):
    truth = {}
    with open(fasta) as f:
        for line in f:
            if line.startswith(">"):
                p = line[1:].split()
                truth[p[0]] = dict(x.split("=", 1) for x in p[1:] if "=" in x)[key]
    with open(tsv) as f:
        rows = [line.rstrip("\n").split("\t") for line in f][1:]
    n = len(rows)
    data = sorted(((float(r[2]), r[1] == truth[r[0]]) for r in rows if r[1] != "unclassified"), key=lambda x: -x[0])
    pts, right, kept = [], 0, 0
    # A threshold keeps every read at or above it: one point per distinct confidence.
    for c, group in itertools.groupby(data, key=lambda x: x[0]):
        g = list(group)
        right += sum(k for _, k in g)
        kept += len(g)
        pts.append((c, kept / n, right / kept))
    return pts


def main():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    out, args = sys.argv[1], sys.argv[2:]
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    colors = {}
    for a in args:
        if a.startswith("--curve="):
            title, points = a[len("--curve="):].rsplit(":", 1)
            pts = sorted(tuple(float(v) for v in p.split("/")) for p in points.split(","))
            # Dashed, in the colour of the curve whose title starts with the same word (the same benchmark).
            color = colors.get(title.split()[0])
            ax.plot([p[0] for p in pts], [p[1] for p in pts], "--.", color=color, label=title)
            continue
        if a.startswith("--point="):
            title, kept, prec = a[len("--point="):].rsplit(":", 2)
            ax.plot([float(kept)], [float(prec)], "o", label=title)
            continue
        parts = a.split(":")
        title, tsv, fasta, key = parts[:4]
        default = float(parts[4]) if len(parts) > 4 else None
        pts = curve(tsv, fasta, key)
        line, = ax.plot([p[1] for p in pts], [p[2] for p in pts], label=title)
        colors[title.split()[0]] = line.get_color()
        for target in (0.9997, 0.999, 0.99, 0.98):
            ok = [p for p in pts if p[2] >= target]
            best = max(ok, key=lambda p: p[1]) if ok else None
            print(f"{title}: precision >= {target}: kept {best[1]:.4f} (threshold {best[0]:.6g})" if best
                  else f"{title}: precision >= {target}: none")
        if default is not None:
            at = [p for p in pts if p[0] >= default]
            if at:
                ax.plot([at[-1][1]], [at[-1][2]], "s", color=line.get_color(), label=f"{title}: default threshold")
    ax.set_xlabel("share of reads classified")
    ax.set_ylabel("precision of the classified reads")
    ax.set_ylim(0.88, 1.002)
    ax.set_xlim(0, 1.01)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(out)


if __name__ == "__main__":
    main()
