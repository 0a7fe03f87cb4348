"""Leak filter: removes every stretch of the candidate sequences that aligns to held-out (test) sequence.

Usage:
    python3 scripts/pretrain/leakfilter.py --test TEST.fa [--test MORE.fa] IN.fa OUT.fa [--report report.json]

Rule: minimap2 (`-c -x asm20 -k 15 -w 5 -N 50`, base-level alignment) maps each candidate record against all test
sequences; every alignment with a block of >= 100 bases (PAF column 11) and identity >= 0.90 (matching bases / block
length, PAF columns 10 / 11) removes the aligned query interval. What is left of a record is cut at the removed
intervals and pieces shorter than --min-piece bases are dropped. k=15/w=5 (instead of asm20's 19/10) makes short
stretches near 90 % identity findable: a 100-base stretch at 90 % identity rarely holds an exact 19-mer.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

MIN_BLOCK = 100
MIN_IDENTITY = 0.90
MINIMAP2_ARGS = ["-c", "-x", "asm20", "-k", "15", "-w", "5", "-N", "50", "--secondary=yes"]


def read_fasta(path):
    name, seq = None, []
    with open(path) as f:
        for line in f:
            if line.startswith(">"):
                if name is not None:
                    yield name, "".join(seq)
                name, seq = line[1:].split()[0], []
            else:
                seq.append(line.strip())
    if name is not None:
        yield name, "".join(seq)


def hits(query_fa, test_fas, threads=2):
    """query name -> list of (start, end) intervals to remove."""
    need = shutil_which("minimap2")
    if not need:
        raise SystemExit("leakfilter: minimap2 not found (apt-get install minimap2)")
    with tempfile.TemporaryDirectory() as tmp:
        target = os.path.join(tmp, "test.fa")
        with open(target, "w") as out:
            for p in test_fas:
                for n, s in read_fasta(p):
                    out.write(f">{n}\n{s}\n")
        proc = subprocess.run(["minimap2", *MINIMAP2_ARGS, "-t", str(threads), target, query_fa],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"leakfilter: minimap2 failed: {proc.stderr.strip().splitlines()[-1:]}")
    out = {}
    for line in proc.stdout.splitlines():
        f = line.split("\t")
        qname, qs, qe, nmatch, block = f[0], int(f[2]), int(f[3]), int(f[9]), int(f[10])
        if block >= MIN_BLOCK and nmatch / block >= MIN_IDENTITY:
            out.setdefault(qname, []).append((qs, qe))
    return out


def shutil_which(cmd):
    import shutil
    return shutil.which(cmd)


def merge(intervals):
    merged = []
    for s, e in sorted(intervals):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return merged


def filter_fasta(in_fa, out_fa, test_fas, min_piece=257, threads=2):
    """Writes the kept pieces (named NAME:START-END, 0-based half-open) and returns counts."""
    bad = hits(in_fa, test_fas, threads)
    st = {"records_in": 0, "bases_in": 0, "records_hit": 0, "bases_removed": 0, "bases_dropped_short": 0,
          "pieces_out": 0, "bases_out": 0}
    with open(out_fa, "w") as out:
        for name, seq in read_fasta(in_fa):
            st["records_in"] += 1
            st["bases_in"] += len(seq)
            cut = merge(bad.get(name, []))
            if cut:
                st["records_hit"] += 1
                st["bases_removed"] += sum(e - s for s, e in cut)
            pos = 0
            for s, e in cut + [[len(seq), len(seq)]]:
                if s - pos >= min_piece:
                    out.write(f">{name}:{pos}-{s}\n{seq[pos:s]}\n")
                    st["pieces_out"] += 1
                    st["bases_out"] += s - pos
                else:
                    st["bases_dropped_short"] += max(0, s - pos)
                pos = max(pos, e)
    return st


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--test", action="append", required=True, help="held-out sequences (FASTA); repeatable")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--min-piece", type=int, default=257)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--report")
    a = p.parse_args()
    st = filter_fasta(a.input, a.output, a.test, a.min_piece, a.threads)
    print(json.dumps(st), file=sys.stderr)
    if a.report:
        with open(a.report, "w") as f:
            json.dump(st, f, indent=1)


if __name__ == "__main__":
    main()
