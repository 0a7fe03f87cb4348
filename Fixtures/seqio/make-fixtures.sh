#!/bin/sh
# Rebuilds every file in Fixtures/seqio. Needs python3, gzip, bgzip and samtools (1.16).
set -eu
cd "$(dirname "$0")"
python3 make-fixtures.py
samtools faidx ref.fa
gzip -9 -n -c reads.fq > reads.fq.gz
bgzip -c reads.fq > reads.fq.bgz
gzip -9 -n -c multi.fa > multi.fa.gz
bgzip -c ref.fa > ref.fa.bgz
samtools faidx ref.fa.bgz
# Coordinate-sorted SAM (text), BAM + .bai, BAM + .csi, CRAM + .crai (reference ref.fa).
samtools sort --no-PG -O sam -o aln.sorted.sam aln.sam
mv aln.sorted.sam aln.sam
samtools view --no-PG -b -o aln.bam aln.sam
samtools index aln.bam
cp aln.bam aln-csi.bam
samtools index -c aln-csi.bam
samtools view --no-PG -C -T ref.fa -o aln.cram aln.sam
samtools index aln.cram
# samtools records the reference's absolute path (UR) in the CRAM header; keep only M5 so
# the fixture does not depend on where it was made (readers get the FASTA explicitly).
samtools view -H aln.cram | sed 's/\tUR:[^\t]*//' > aln.cram.header
samtools reheader -i aln.cram.header aln.cram
rm aln.cram.header
samtools index aln.cram
