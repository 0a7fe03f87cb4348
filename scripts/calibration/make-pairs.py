#!/usr/bin/env python3
"""Read pairs from the species calibration fold's held-out sequences (the same strains and contig ends as
make-folds.py's species_calibrate.fa; test splits are not read), to measure how the single-read confidence
calibration holds on `classify --paired`.

Usage:
  scripts/calibration/make-pairs.py [--species DIR] [--out DIR] [--pairs N] [--random N] [--seed N]
      OUT/species_pairs_1.fa, OUT/species_pairs_2.fa    N pairs per species (`>pNNNNNNN/1 species=X`)
      OUT/random_pairs_{1,2}.fa, OUT/random_reads.fa      uniform random DNA: pairs, and single reads of 150 bases
  scripts/calibration/make-pairs.py --evaluate CALLS.tsv --truth READS.fa --threshold T [--target P]
      accuracy of the labelled rows (a row per read or pair, `classify --confidence 0`), and at confidence >= T the
      share of them kept and the precision of those kept; rows without `species=` in the truth are random (the
      share of them kept is printed); with --target, also the lowest threshold at which the labelled rows kept
      reach precision P, and the share kept there.

Pairs: fragment length ~ N(350, 50) (at least 150), 150-base mates from its two ends, mate 2 reverse-complemented,
the fragment on either strand; substitutions ramping from 0.1 % to 1 % along each mate (make_species_reads.py's
error model); fragments with a base other than A/C/G/T are drawn again.
"""
import argparse
import importlib.util
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("make_folds", os.path.join(HERE, "make-folds.py"))
folds = importlib.util.module_from_spec(spec)
spec.loader.exec_module(folds)

COMP, mutate = folds.COMP, folds.mutate
L = 150


def pairs(rng, contigs, n):
    spans = [s for s in contigs if len(s) >= 600]
    weights = [len(s) for s in spans]
    out = []
    while len(out) < n:
        s = rng.choices(spans, weights)[0]
        f = max(L, int(round(rng.gauss(350, 50))))
        if f > len(s):
            continue
        p = rng.randint(0, len(s) - f)
        frag = s[p:p + f]
        if set(frag) - set("ACGT"):
            continue
        if rng.random() < 0.5:
            frag = frag.translate(COMP)[::-1]
        out.append((mutate(rng, frag[:L]), mutate(rng, frag.translate(COMP)[::-1][:L])))
    return out


def make(a):
    rng = random.Random(a.seed)
    _, held = folds.species_parts(a.species)
    os.makedirs(a.out, exist_ok=True)
    k = 0
    with open(os.path.join(a.out, "species_pairs_1.fa"), "w") as f1, open(os.path.join(a.out, "species_pairs_2.fa"), "w") as f2:
        for sp in sorted(held):
            for r1, r2 in pairs(rng, held[sp], a.pairs):
                k += 1
                f1.write(f">p{k:07d}/1 species={sp}\n{r1}\n")
                f2.write(f">p{k:07d}/2 species={sp}\n{r2}\n")
    rand = lambda: "".join(rng.choice("ACGT") for _ in range(L))
    with open(os.path.join(a.out, "random_pairs_1.fa"), "w") as f1, open(os.path.join(a.out, "random_pairs_2.fa"), "w") as f2, \
            open(os.path.join(a.out, "random_reads.fa"), "w") as f3:
        for i in range(1, a.random + 1):
            f1.write(f">q{i:07d}/1\n{rand()}\n")
            f2.write(f">q{i:07d}/2\n{rand()}\n")
            f3.write(f">q{i:07d}\n{rand()}\n")
    print(f"{a.out}: {k} pairs of held-out fold sequence, {a.random} random pairs and {a.random} random reads")


def evaluate(a):
    truth = {}
    with open(a.truth) as fh:
        for line in fh:
            if line.startswith(">"):
                f = line[1:].split()
                name = f[0][:-2] if f[0].endswith(("/1", "/2")) else f[0]
                truth[name] = next((x.split("=", 1)[1] for x in f[1:] if x.startswith("species=")), None)
    n = right = kept = kept_right = rnd = rnd_kept = 0
    conf_kept = 0.0
    scored = []   # (confidence, right) of the labelled rows
    with open(a.evaluate) as fh:
        next(fh)
        for line in fh:
            f = line.rstrip("\n").split("\t")
            label, conf = f[1], float(f[2])
            keep = label != "unclassified" and conf >= a.threshold
            name = f[0][:-2] if f[0].endswith(("/1", "/2")) else f[0]
            want = truth[name]
            if want is None:
                rnd += 1
                rnd_kept += keep
                continue
            n += 1
            right += label == want
            kept += keep
            kept_right += keep and label == want
            conf_kept += conf if keep else 0
            if label != "unclassified":
                scored.append((conf, label == want))
    text = (f"labelled {n}: accuracy {right / max(n, 1):.4f}; at confidence >= {a.threshold:.4f}: kept {kept / max(n, 1):.4f}, "
            f"precision {kept_right / max(kept, 1):.4f} (mean confidence of those kept {conf_kept / max(kept, 1):.4f}); "
            f"random {rnd}: kept {rnd_kept / max(rnd, 1):.4f}")
    if a.target:
        # The lowest threshold at which the labelled rows kept, best first, reach the target precision.
        scored.sort(key=lambda x: -x[0])
        good = best = 0
        for i, (c, ok) in enumerate(scored, 1):
            good += ok
            if good / i >= a.target and (i == len(scored) or scored[i][0] < c):
                best = i
        t = scored[best - 1][0] if best else 1.0
        text += f"; precision >= {a.target}: threshold {t:.4f}, kept {best / max(n, 1):.4f}"
    print(text)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--species", default="bench-data/species_reads")
    p.add_argument("--out", default="bench-data/calibration/pairs")
    p.add_argument("--pairs", type=int, default=2_000)
    p.add_argument("--random", type=int, default=3_000)
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--evaluate")
    p.add_argument("--truth")
    p.add_argument("--threshold", type=float)
    p.add_argument("--target", type=float, help="also the lowest threshold reaching this precision")
    a = p.parse_args()
    evaluate(a) if a.evaluate else make(a)


if __name__ == "__main__":
    main()
