#!/usr/bin/env python3
"""Calibration folds of the species and 16S benchmarks' train splits: a part to build the fold's k-mer sketch,
profile or model from, and held-out reads to calibrate the confidence on (reads from strains or genera the fold
never saw, as the test splits are for the shipped models). Test splits are not read.

Usage: scripts/calibration/make-folds.py [--species DIR] [--rrna DIR] [--out DIR] [--seed N]

species (DIR/genomes/<species>/<strain>.fa from make_species_reads.py; train strains only):
  OUT/species_fold_train.fa   --sketch-reads reads per species from the strains kept (the sketch's training reads)
  OUT/species_calibrate.fa    --calibrate-reads reads per species from the held-out part
  Held out: the last train strain (name order) of every species with several; E. coli and S. suis (one train
  genome) hold out the last 10 % of each contig of their train part (S. suis: the first 80 %).
  Reads as make_species_reads.py makes them: 150 bases, random position and strand, substitutions ramping from
  0.1 % to 1 % along the read, no N.
16S (DIR/full_train.fa from make_16s_benchmark.py):
  OUT/16s_fold_train.fa       full-length train sequences of the genera kept
  OUT/16s_calibrate.fa        5 fragments of 150 bases per sequence of the held-out genera (a seeded 15 %)
"""
import argparse
import os
import random

TRAIN_STRAINS = {
    "E_coli": ["MG1655"],
    "H_pylori": ["ELS37", "G27", "Gambia94_24", "SJM180"],
    "K_pneumoniae": ["HS11286", "MGH78578", "NTUH-K2044"],
    "S_aureus": ["COL", "JKD6008", "N315", "NCTC8325", "RF122"],
    "S_suis": ["SC84"],
    "V_cholerae": ["H1", "O1_Inaba", "O1_biovar_N16961"],
}
TRAIN_PART = {"SC84": 0.8}
COMP = str.maketrans("ACGTN", "TGCAN")


def read_fasta(path):
    out, name, buf = [], None, []
    with open(path) as fh:
        for line in fh:
            if line.startswith(">"):
                if name is not None:
                    out.append((name, "".join(buf).upper()))
                name, buf = line[1:].rstrip("\n"), []
            else:
                buf.append(line.strip())
    if name is not None:
        out.append((name, "".join(buf).upper()))
    return out


def mutate(rng, r):
    """make_species_reads.py's error model: substitutions ramping from 0.1 % to 1 % along the read."""
    r = list(r)
    for i in range(len(r)):
        if rng.random() < 0.001 + 0.009 * i / (len(r) - 1):
            r[i] = rng.choice([c for c in "ACGT" if c != r[i]])
    return "".join(r)


def sample(rng, contigs, n, L=150):
    """n reads from the (name, sequence) pieces, length-weighted, with `mutate`'s errors."""
    spans = [s for s in contigs if len(s) >= L]
    weights = [len(s) - L + 1 for s in spans]
    reads = []
    while len(reads) < n:
        s = rng.choices(spans, weights)[0]
        p = rng.randint(0, len(s) - L)
        r = s[p:p + L]
        if set(r) - set("ACGT"):
            continue
        if rng.random() < 0.5:
            r = r.translate(COMP)[::-1]
        reads.append(mutate(rng, r))
    return reads


def species_parts(species_dir):
    """Per species, the sequences the fold keeps and those it holds out (train strains only)."""
    kept, held = {}, {}
    for sp, strains in TRAIN_STRAINS.items():
        kept[sp], held[sp] = [], []
        for st in strains:
            seqs = [s[:int(len(s) * TRAIN_PART.get(st, 1.0))]
                    for _, s in read_fasta(os.path.join(species_dir, "genomes", sp, st + ".fa"))]
            if len(strains) > 1:
                (held if st == strains[-1] else kept)[sp].extend(seqs)
            else:
                kept[sp].extend(s[:int(len(s) * 0.9)] for s in seqs)
                held[sp].extend(s[int(len(s) * 0.9):] for s in seqs)
    return kept, held


def species_folds(a, rng):
    kept, held = species_parts(a.species)
    for name, part, n in (("species_fold_train.fa", kept, a.sketch_reads), ("species_calibrate.fa", held, a.calibrate_reads)):
        with open(os.path.join(a.out, name), "w") as f:
            k = 0
            for sp in sorted(part):
                for r in sample(rng, part[sp], n):
                    k += 1
                    f.write(f">{name.split('_')[1][0]}{k:07d} species={sp}\n{r}\n")
        print(f"{a.out}/{name}: {k} reads")


def rrna_folds(a, rng):
    recs = read_fasta(os.path.join(a.rrna, "full_train.fa"))
    genus = lambda h: dict(f.split("=", 1) for f in h.split()[1:] if "=" in f)["genus"]
    genera = sorted({genus(h) for h, _ in recs})
    held = set(rng.sample(genera, round(0.15 * len(genera))))
    n_train = n_frag = 0
    with open(os.path.join(a.out, "16s_fold_train.fa"), "w") as tr, open(os.path.join(a.out, "16s_calibrate.fa"), "w") as cal:
        for h, s in recs:
            if genus(h) not in held:
                tr.write(f">{h}\n{s}\n")
                n_train += 1
                continue
            rid, rest = h.split(" ", 1)
            for k in range(5):
                p = rng.randrange(0, len(s) - 150)
                cal.write(f">{rid}_c{k} {rest}\n{s[p:p + 150]}\n")
                n_frag += 1
    print(f"{a.out}/16s_fold_train.fa: {n_train} sequences; {a.out}/16s_calibrate.fa: {n_frag} fragments of "
          f"{len(held)} held-out genera")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--species", default="bench-data/species_reads")
    p.add_argument("--rrna", default="bench-data/16s")
    p.add_argument("--out", default="bench-data/calibration")
    p.add_argument("--sketch-reads", type=int, default=200_000)
    p.add_argument("--calibrate-reads", type=int, default=2_000)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--only", choices=["species", "16s"])
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    if a.only != "16s":
        species_folds(a, random.Random(a.seed))
    if a.only != "species":
        rrna_folds(a, random.Random(a.seed + 1))


if __name__ == "__main__":
    main()
