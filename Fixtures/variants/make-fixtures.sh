#!/usr/bin/env bash
# Rebuilds the variant-calling fixtures: a random 4 kb reference (two contigs), error-free 100 bp
# reads from a haplotype carrying one SNP, one deletion and one insertion on chrT, aligned with
# minimap2. Deterministic (fixed seed). Needs python3, minimap2, samtools, bgzip, tabix.
set -euo pipefail
cd "$(dirname "$0")"
python3 - <<'PY'
import random
rng = random.Random(7)
seq = lambda n: "".join(rng.choice("ACGT") for _ in range(n))
chrT, chrU = seq(3000), seq(1000)
def fasta(path, recs):
    with open(path, "w") as f:
        for n, s in recs:
            f.write(f">{n}\n" + "".join(s[i:i+60] + "\n" for i in range(0, len(s), 60)))
fasta("ref.fa", [("chrT", chrT), ("chrU", chrU)])
fasta("wrong-length.fa", [("chrT", chrT[:2900]), ("chrU", chrU)])
# variants (1-based VCF positions): SNP at 1000, deletion of 2 bases after 2000, insertion of 3 after 2500
snp_alt = "ACGT"[("ACGT".index(chrT[999]) + 1) % 4]
hap = chrT[:999] + snp_alt + chrT[1000:2000] + chrT[2002:2500] + "GTC" + chrT[2500:]
vcf = [("chrT", 1000, chrT[999], snp_alt), ("chrT", 2000, chrT[1999:2002], chrT[1999]),
       ("chrT", 2500, chrT[2499], chrT[2499] + "GTC")]
head = "##fileformat=VCFv4.2\n##contig=<ID=chrT,length=3000>\n##contig=<ID=chrU,length=1000>\n" \
       '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ttruth\n'
with open("truth.vcf", "w") as f:
    f.write(head + "".join(f"{c}\t{p}\t.\t{r}\t{a}\t.\tPASS\t.\tGT\t1\n" for c, p, r, a in vcf))
with open("truth-badcontig.vcf", "w") as f:
    f.write(head.replace("##contig=<ID=chrU", "##contig=<ID=chrZ,length=10>\n##contig=<ID=chrU")
            + f"chrZ\t5\t.\tA\tC\t.\tPASS\t.\tGT\t1\n")
comp = {"A": "T", "C": "G", "G": "C", "T": "A"}
with open("reads.fq", "w") as f:
    k = 0
    for name, s in (("T", hap), ("U", chrU)):
        for start in range(0, len(s) - 100 + 1, 10):
            r = s[start:start + 100]
            for strand in (0, 1):
                read = r if strand == 0 else "".join(comp[b] for b in reversed(r))
                f.write(f"@r{k}_{name}{start}_{strand}\n{read}\n+\n{'I' * 100}\n")
                k += 1
PY
samtools faidx ref.fa
samtools faidx wrong-length.fa
minimap2 -a -x sr ref.fa reads.fq 2>/dev/null | samtools sort -o aln.bam - 2>/dev/null
samtools index aln.bam
cp aln.bam noindex.bam
bgzip -f truth.vcf && tabix -f -p vcf truth.vcf.gz
printf 'chrT\t900\t2100\nchrU\t0\t1000\n' > regions.bed
printf 'chrT\t0\t3000\n' > confident.bed
rm -f reads.fq
