#!/usr/bin/env python3
"""Writes the small text fixtures of Fixtures/seqio (deterministic: fixed seed).
Compressed, binary and index files are then made by make-fixtures.sh with bgzip/gzip/samtools."""
import random

rng = random.Random(20240611)
BASES = "ACGT"

def rand_seq(n):
    return "".join(rng.choice(BASES) for _ in range(n))

def wrap(s, width):
    return [s[i:i + width] for i in range(0, len(s), width)] or [""]

# Reference: two ordinary contigs and one whose name contains a colon (region syntax {name}).
ref = {"chr1": rand_seq(3000), "chr2": rand_seq(1800), "HLA-A*01:01": rand_seq(400)}
with open("ref.fa", "w") as f:
    for name, s in ref.items():
        f.write(f">{name}\n" + "\n".join(wrap(s, 60)) + "\n")

# Multi-line FASTA: lowercase soft-masking, IUPAC codes, an empty record, a comment.
with open("multi.fa", "w") as f:
    f.write(">seq1 first record, comment text\n")
    f.write("ACGTACGTAC\nGTacgtNNNN\nRYKM\n")
    f.write(">empty\n")
    f.write(">seq3\n\nGGCC\nggccSWBDHVN\n")
    f.write(">seq4 lowercase only\nacgtacgtgc\n")

# The same records with Windows line ends.
with open("multi.fa") as src, open("crlf.fa", "w", newline="") as dst:
    dst.write(src.read().replace("\n", "\r\n"))

def qual(n):
    return "".join(chr(33 + rng.randint(2, 40)) for _ in range(n))

# FASTQ: 50 reads of varying length drawn from chr1, one empty read, one multi-line read.
with open("reads.fq", "w") as f:
    for i in range(50):
        n = rng.randint(30, 120)
        p = rng.randint(0, len(ref["chr1"]) - n)
        f.write(f"@read{i} sample=A\n{ref['chr1'][p:p + n]}\n+\n{qual(n)}\n")
    f.write("@emptyread\n\n+\n\n")
    s, q = rand_seq(70), qual(70)
    f.write(f"@multiline\n{s[:35]}\n{s[35:]}\n+\n{q[:35]}\n{q[35:]}\n")

with open("no-header.fa", "w") as f:
    f.write("ACGTACGT\n>late\nACGT\n")
with open("qual-mismatch.fq", "w") as f:
    f.write("@ok\nACGT\n+\nIIII\n@bad\nACGTACGT\n+\nIIII\n")

# Alignments: reads placed on the reference with substitutions, insertions, deletions,
# both strands, a range of MAPQ, and flags the pileup filters act on.
COMP = str.maketrans("ACGT", "TGCA")
def mutate(s):
    return "".join(rng.choice(BASES) if rng.random() < 0.02 else b for b in s)

records = []
def add(name, flag, contig, pos, mapq, cigar, seq, qualstr, mate="*", mpos=0, tlen=0, tags=""):
    records.append((name, flag, contig, pos, mapq, cigar, seq, qualstr, mate, mpos, tlen, tags))

def placed(name, contig, pos, length, flag, mapq, kind, mate="*", mpos=0, tlen=0):
    r = ref[contig]
    if kind == "ins":
        a, b = length // 2, length - length // 2 - 2
        seq = r[pos:pos + a] + rand_seq(2) + r[pos + a:pos + a + b]
        cigar = f"{a}M2I{b}M"
    elif kind == "del":
        a = length // 2
        seq = r[pos:pos + a] + r[pos + a + 3:pos + length + 3]
        cigar = f"{a}M3D{length - a}M"
    elif kind == "clip":
        seq = rand_seq(5) + r[pos:pos + length - 5]
        cigar = f"5S{length - 5}M"
    else:
        seq = r[pos:pos + length]
        cigar = f"{length}M"
    seq = mutate(seq)
    tags = f"NM:i:{rng.randint(0, 5)}\tRG:Z:grp1\tXF:f:{rng.random():.3f}\tXA:A:{rng.choice('PQ')}"
    add(name, flag, contig, pos + 1, mapq, cigar, seq, qual(len(seq)), mate, mpos, tlen, tags)

kinds = ["match"] * 6 + ["ins", "del", "clip"]
for i in range(160):
    contig = rng.choice(["chr1", "chr1", "chr2", "HLA-A*01:01"])
    length = rng.randint(60, 100)
    pos = rng.randint(0, len(ref[contig]) - length - 10)
    flag = 0x10 if rng.random() < 0.5 else 0
    r = rng.random()
    if r < 0.04: flag |= 0x400      # duplicate
    elif r < 0.07: flag |= 0x200    # QC fail
    elif r < 0.10: flag |= 0x100    # secondary
    elif r < 0.12: flag |= 0x800    # supplementary
    mapq = rng.choice([0, 5, 20, 40, 60, 60, 60])
    placed(f"r{i:03d}", contig, pos, length, flag, mapq, rng.choice(kinds))

# Pairs: properly paired and anomalous (paired, not proper) ones.
for i in range(30):
    contig = rng.choice(["chr1", "chr2"])
    p1 = rng.randint(0, len(ref[contig]) - 400)
    p2 = p1 + rng.randint(50, 250)
    proper = 0x2 if i % 3 else 0
    tlen = p2 + 80 - p1
    placed(f"p{i:02d}", contig, p1, 80, 0x1 | proper | 0x20 | 0x40, 60, "match", "=", p2 + 1, tlen)
    placed(f"p{i:02d}", contig, p2, 80, 0x1 | proper | 0x10 | 0x80, 50, "match", "=", p1 + 1, -tlen)

# Unmapped reads: one placed next to its mate, two with no position.
add("u1", 0x4, "*", 0, 0, "*", rand_seq(50), qual(50))
add("u2", 0x4, "*", 0, 0, "*", rand_seq(40), "*")

with open("aln.sam", "w") as f:
    f.write("@HD\tVN:1.6\tSO:unsorted\n")
    for name, s in ref.items():
        f.write(f"@SQ\tSN:{name}\tLN:{len(s)}\n")
    f.write("@RG\tID:grp1\tSM:sample1\n")
    for rec in records:
        name, flag, contig, pos, mapq, cigar, seq, q, mate, mpos, tlen, tags = rec
        fields = [name, flag, contig, pos, mapq, cigar, mate, mpos, tlen, seq, q] + ([tags] if tags else [])
        f.write("\t".join(str(x) for x in fields) + "\n")
