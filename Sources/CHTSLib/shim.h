// htslib for Swift. htslib's record accessors are C macros, which Swift cannot call,
// so each one used by SeqIO is wrapped here as a `static inline` function.
#ifndef MAMBA_DNA_HTSLIB_SHIM_H
#define MAMBA_DNA_HTSLIB_SHIM_H

#include <htslib/hts.h>
#include <htslib/sam.h>
#include <htslib/faidx.h>
#include <htslib/kseq.h>
#include <htslib/bgzf.h>
#include <htslib/hfile.h>
#include <htslib/tbx.h>
#include <htslib/vcf.h>
#include <htslib/kstring.h>
#include <stdint.h>

// ---- BAM record accessors (all pointers borrowed from the bam1_t; valid until the next read) ----
static inline char *mdna_bam_get_qname(const bam1_t *b) { return bam_get_qname(b); }
static inline uint32_t *mdna_bam_get_cigar(const bam1_t *b) { return bam_get_cigar(b); }
static inline uint8_t *mdna_bam_get_seq(const bam1_t *b) { return bam_get_seq(b); }
static inline uint8_t *mdna_bam_get_qual(const bam1_t *b) { return bam_get_qual(b); }
static inline uint8_t *mdna_bam_get_aux(const bam1_t *b) { return bam_get_aux(b); }
static inline int mdna_bam_get_l_aux(const bam1_t *b) { return bam_get_l_aux(b); }
/// 4-bit code (=ACMGRSVTWYHKDBN) of base i of a packed sequence.
static inline int mdna_bam_seqi(const uint8_t *s, int i) { return bam_seqi(s, i); }
static inline int mdna_bam_is_rev(const bam1_t *b) { return bam_is_rev(b); }
static inline uint32_t mdna_bam_cigar_op(uint32_t c) { return bam_cigar_op(c); }
static inline uint32_t mdna_bam_cigar_oplen(uint32_t c) { return bam_cigar_oplen(c); }
static inline char mdna_bam_cigar_opchr(uint32_t c) { return bam_cigar_opchr(c); }
static inline int mdna_bam_cigar_type(uint32_t op) { return bam_cigar_type(op); }

// ---- iterators and index (macros in sam.h) ----
static inline int mdna_sam_itr_next(samFile *fp, hts_itr_t *itr, bam1_t *b) { return sam_itr_next(fp, itr, b); }
static inline void mdna_sam_itr_destroy(hts_itr_t *itr) { sam_itr_destroy(itr); }
static inline const char *mdna_sam_hdr_tid2name(const sam_hdr_t *h, int tid) { return sam_hdr_tid2name(h, tid); }
static inline hts_pos_t mdna_sam_hdr_tid2len(const sam_hdr_t *h, int tid) { return sam_hdr_tid2len(h, tid); }

// ---- plain / gzip / BGZF sequence streams through htslib's kseq on a BGZF handle ----
// bgzf_read reads plain, gzip and BGZF files alike (compression is detected from content).
// htslib 1.16's kseq treats a negative read result as data and then loops forever on a
// corrupt or truncated file, so read errors are turned into end of input here and left in
// fp->errcode, which the caller checks after each record.
static inline int mdna_bgzf_read_or_eof(BGZF *fp, void *buf, int len) {
    ssize_t n = bgzf_read(fp, buf, (size_t)len);
    if (n < 0) { if (!fp->errcode) fp->errcode |= BGZF_ERR_IO; return 0; }
    return (int)n;
}
KSEQ_INIT(BGZF *, mdna_bgzf_read_or_eof)
typedef kseq_t mdna_kseq_t;
static inline mdna_kseq_t *mdna_kseq_init(BGZF *fp) { return kseq_init(fp); }
static inline void mdna_kseq_destroy(mdna_kseq_t *ks) { kseq_destroy(ks); }
/// >= 0: sequence length; -1: end of file; -2: truncated quality string; -3: stream error.
static inline int mdna_kseq_read(mdna_kseq_t *ks) { return kseq_read(ks); }

/// kseq_read, but strict about FASTQ line structure: kseq keeps appending quality lines until they
/// are as long as the bases, so a record whose quality line is too short swallows the next
/// record's header and bases (and silently loses that record when the lengths happen to add up).
/// Here a record whose bases fill one line must have its qualities on one line.
/// Returns as kseq_read, plus -4: the record's bases are one line of `seq.l` characters and its
/// first quality line has `*quality_line` characters (another number). Same parsing otherwise.
static inline int mdna_kseq_read_strict(mdna_kseq_t *seq, size_t *quality_line) {
    kstream_t *ks = seq->f;
    int c;
    *quality_line = 0;
    if (seq->last_char == 0) {                       // find the next header
        while ((c = ks_getc(ks)) != -1 && c != '>' && c != '@') {}
        if (c == -1) return -1;
        seq->last_char = c;
    }
    seq->comment.l = seq->seq.l = seq->qual.l = 0;
    if (ks_getuntil(ks, 0, &seq->name, &c) < 0) return -1;
    if (c != '\n') ks_getuntil(ks, KS_SEP_LINE, &seq->comment, 0);
    size_t lines = 0;
    while ((c = ks_getc(ks)) != -1 && c != '>' && c != '+' && c != '@') {
        if (c == '\n') continue;                     // blank line
        if (ks_resize(&seq->seq, seq->seq.l + 2) < 0) return -3;
        seq->seq.s[seq->seq.l++] = (char)c;
        ks_getuntil2(ks, KS_SEP_LINE, &seq->seq, 0, 1);
        lines++;
    }
    if (c == '>' || c == '@') seq->last_char = c;
    if (ks_resize(&seq->seq, seq->seq.l + 2) < 0) return -3;
    seq->seq.s[seq->seq.l] = 0;
    if (c != '+') return (int)seq->seq.l;            // FASTA
    while ((c = ks_getc(ks)) != -1 && c != '\n') {}   // rest of the '+' line
    if (c == -1) return -2;
    if (ks_resize(&seq->qual, seq->seq.l + 2) < 0) return -3;
    int first = 1;
    while (ks_getuntil2(ks, KS_SEP_LINE, &seq->qual, 0, 1) >= 0) {
        if (first) { *quality_line = seq->qual.l; first = 0; }
        if (seq->qual.l >= seq->seq.l || lines <= 1) break;
    }
    seq->last_char = 0;
    if (lines <= 1 && *quality_line != seq->seq.l) return -4;
    if (seq->seq.l != seq->qual.l) return -2;
    return (int)seq->seq.l;
}

// ---- pileup helpers ----
static inline const bam1_t *mdna_pileup_b(const bam_pileup1_t *p) { return p->b; }

// ---- SeqIO helpers: errno, file access, bit-fields and variadic calls Swift cannot reach ----
#include <errno.h>
#include <string.h>
#include <unistd.h>
/// The calling thread's errno (a macro in C).
static inline int mdna_errno(void) { return errno; }
static inline void mdna_set_errno(int e) { errno = e; }
/// 1 when `path` exists and is readable by this process.
static inline int mdna_readable(const char *path) { return access(path, R_OK) == 0; }
#include <sys/stat.h>
/// 1 when `path` names a directory.
static inline int mdna_is_directory(const char *path) { struct stat st; return stat(path, &st) == 0 && S_ISDIR(st.st_mode); }
/// hopen (variadic in C).
static inline hFILE *mdna_hopen(const char *path, const char *mode) { return hopen(path, mode); }
/// Non-zero once a BGZF handle has seen a read or decompression error.
static inline int mdna_bgzf_errcode(const BGZF *fp) { return fp->errcode; }
/// The BGZF handle under a BAM (or bgzipped SAM) htsFile; NULL for CRAM and plain SAM.
static inline BGZF *mdna_hts_bgzf(htsFile *fp) { return fp->is_bgzf ? fp->fp.bgzf : NULL; }
/// hts_set_opt(CRAM_OPT_REFERENCE) (variadic in C).
static inline int mdna_hts_set_cram_reference(htsFile *fp, const char *fasta) { return hts_set_opt(fp, CRAM_OPT_REFERENCE, fasta); }
static inline int mdna_plp_is_del(const bam_pileup1_t *p) { return p->is_del; }
static inline int mdna_plp_is_head(const bam_pileup1_t *p) { return p->is_head; }
static inline int mdna_plp_is_tail(const bam_pileup1_t *p) { return p->is_tail; }
static inline int mdna_plp_is_refskip(const bam_pileup1_t *p) { return p->is_refskip; }
/// The i-th entry of a pileup column.
static inline const bam_pileup1_t *mdna_plp_at(const bam_pileup1_t *p, int i) { return p + i; }

// ---- VCF/BCF macros (vcf.h) used by the variant caller ----
static inline int mdna_bcf_hdr_nsamples(const bcf_hdr_t *h) { return bcf_hdr_nsamples(h); }
static inline const char *mdna_bcf_hdr_id2name(const bcf_hdr_t *h, int rid) { return bcf_hdr_id2name(h, rid); }
static inline int mdna_bcf_hdr_nseqs(const bcf_hdr_t *h) { return h->n[BCF_DT_CTG]; }
/// Length of contig `rid` from its `##contig` line (0 when not given).
static inline hts_pos_t mdna_bcf_hdr_ctg_len(const bcf_hdr_t *h, int rid) {
    const bcf_hrec_t *r = h->id[BCF_DT_CTG][rid].val ? h->id[BCF_DT_CTG][rid].val->hrec[0] : NULL;
    if (!r) return 0;
    int i = bcf_hrec_find_key((bcf_hrec_t *)r, "length");
    return i < 0 ? 0 : strtoll(r->vals[i], NULL, 10);
}
/// GT values (allele indices, -1 missing) of the first sample, at most `cap`; returns the count or < 0.
static inline int mdna_bcf_first_gt(const bcf_hdr_t *h, bcf1_t *rec, int *out, int cap) {
    int32_t *gt = NULL; int ngt = 0;
    int n = bcf_get_genotypes(h, rec, &gt, &ngt);
    if (n <= 0 || bcf_hdr_nsamples(h) < 1) { free(gt); return -1; }
    int per = n / bcf_hdr_nsamples(h), k = 0;
    for (int i = 0; i < per && k < cap; i++) {
        if (gt[i] == bcf_int32_vector_end) break;
        out[k++] = bcf_gt_is_missing(gt[i]) ? -1 : bcf_gt_allele(gt[i]);
    }
    free(gt);
    return k;
}
static inline int mdna_bcf_update_info_int32(const bcf_hdr_t *h, bcf1_t *r, const char *key, const int32_t *v, int n) { return bcf_update_info_int32(h, r, key, v, n); }
static inline int mdna_bcf_update_info_float(const bcf_hdr_t *h, bcf1_t *r, const char *key, const float *v, int n) { return bcf_update_info_float(h, r, key, v, n); }
static inline int mdna_bcf_update_info_flag(const bcf_hdr_t *h, bcf1_t *r, const char *key, int set) { return bcf_update_info_flag(h, r, key, NULL, set); }
static inline int mdna_bcf_update_format_int32(const bcf_hdr_t *h, bcf1_t *r, const char *key, const int32_t *v, int n) { return bcf_update_format_int32(h, r, key, v, n); }
static inline int mdna_bcf_update_format_float(const bcf_hdr_t *h, bcf1_t *r, const char *key, const float *v, int n) { return bcf_update_format_float(h, r, key, v, n); }
/// Writes unphased GT from allele indices.
static inline int mdna_bcf_update_gt_unphased(const bcf_hdr_t *h, bcf1_t *r, const int *alleles, int n) {
    int32_t gt[8]; if (n > 8) n = 8;
    for (int i = 0; i < n; i++) gt[i] = bcf_gt_unphased(alleles[i]);
    return bcf_update_genotypes(h, r, gt, n);
}

// ---- VCF/BCF header and record helpers (SeqIO's VariantFileReader / VariantFileWriter) ----
/// The name of dictionary entry `id` of `type` (BCF_DT_ID: FILTER/INFO/FORMAT keys); borrowed from the header.
static inline const char *mdna_bcf_hdr_int2id(const bcf_hdr_t *h, int type, int id) { return bcf_hdr_int2id(h, type, id); }
/// The i-th sample name; borrowed from the header.
static inline const char *mdna_bcf_hdr_sample(const bcf_hdr_t *h, int i) { return h->samples[i]; }
/// Sets QUAL to missing (`.`).
static inline void mdna_bcf_set_qual_missing(bcf1_t *r) { bcf_float_set_missing(r->qual); }
/// Whether QUAL is missing (`.`).
static inline int mdna_bcf_qual_is_missing(const bcf1_t *r) { return bcf_float_is_missing(r->qual); }

#endif
