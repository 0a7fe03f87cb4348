#!/usr/bin/env python3
"""Scores a call VCF against a truth VCF as the benchmark's vcf_eval.py does (exact CHROM, POS, REF, ALT
after normalisation; reference calls skipped) and adds: the same over PASS records only, indel recall by
length (1-4, 5-13, 14-49 bp), and the precision of the calls in QUAL bins (with how many true calls of
>= 10 reads with an allele share >= 0.9 fall below QUAL 20).

usage: variant-eval-detail.py TRUTH.vcf[.gz] CALLS.vcf[.gz] [--json OUT] [--label NAME]
"""
import gzip
import json
import sys

BINS = [(0, 5), (5, 10), (10, 15), (15, 20), (20, 25), (25, 30), (30, 40), (40, 60), (60, 100), (100, 1e9)]
LENGTHS = [(1, 4), (5, 13), (14, 49)]


def records(path):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rt") as fh:
        for line in fh:
            if line.startswith("#"):
                continue
            f = line.rstrip("\n").split("\t")
            gt, ad, dp = None, None, None
            if len(f) > 9:
                keys, vals = f[8].split(":"), f[9].split(":")
                d = dict(zip(keys, vals))
                gt = d.get("GT", "").replace("|", "/") or None
                if "AD" in d and "." not in d["AD"]:
                    ad = [int(x) for x in d["AD"].split(",")]
                if "DP" in d and d["DP"] != ".":
                    dp = int(d["DP"])
            if gt is not None and set(gt.split("/")) <= {"0", "."}:
                continue
            qual = float(f[5]) if f[5] != "." else None
            for i, alt in enumerate(f[4].upper().split(",")):
                if alt in (".", "*", "<*>") or alt.startswith("<"):
                    continue
                share = None
                if ad and len(ad) > i + 1 and sum(ad) > 0:
                    share = (ad[i + 1], dp if dp else sum(ad))
                yield (f[0], int(f[1]), f[3].upper(), alt), qual, f[6], share


def is_snp(k):
    return len(k[2]) == 1 and len(k[3]) == 1


def prf(tp, nc, nt):
    p = tp / nc if nc else 0.0
    r = tp / nt if nt else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def main(argv):
    args = argv[1:]
    js, label = None, None
    if "--json" in args:
        i = args.index("--json"); js = args[i + 1]; del args[i:i + 2]
    if "--label" in args:
        i = args.index("--label"); label = args[i + 1]; del args[i:i + 2]
    truth = {k for k, _, _, _ in records(args[0])}
    calls = {k: (q, flt, s) for k, q, flt, s in records(args[1])}
    out = {"label": label}
    for name, keep in (("all", lambda v: True), ("pass", lambda v: v[1] in ("PASS", "."))):
        C = {k for k, v in calls.items() if keep(v)}
        for t, sel in (("SNP", is_snp), ("INDEL", lambda k: not is_snp(k))):
            T, CC = {k for k in truth if sel(k)}, {k for k in C if sel(k)}
            tp = len(T & CC)
            p, r, f = prf(tp, len(CC), len(T))
            out[f"{name}_{t}"] = dict(truth=len(T), calls=len(CC), TP=tp, precision=round(p, 4), recall=round(r, 4), F1=round(f, 4))
    for lo, hi in LENGTHS:
        T = {k for k in truth if not is_snp(k) and lo <= abs(len(k[2]) - len(k[3])) <= hi}
        tp = len(T & calls.keys())
        tpp = len({k for k in T & calls.keys() if calls[k][1] in ("PASS", ".")})
        out[f"indel_{lo}_{hi}"] = dict(truth=len(T), TP=tp, TP_pass=tpp)
    qb = []
    for lo, hi in BINS:
        ks = [k for k, v in calls.items() if v[0] is not None and lo <= v[0] < hi]
        tp = sum(1 for k in ks if k in truth)
        qb.append(dict(qual=f"[{lo},{hi if hi < 1e8 else 'inf'})", calls=len(ks), TP=tp,
                       precision=round(tp / len(ks), 4) if ks else None))
    out["qual_bins"] = qb
    hi = [k for k, v in calls.items() if v[0] is not None and v[0] >= 20]
    out["qual20_precision"] = round(sum(1 for k in hi if k in truth) / len(hi), 4) if hi else None
    strong = [k for k, v in calls.items() if k in truth and v[2] and v[2][1] >= 10 and v[2][0] >= 0.9 * v[2][1]]
    out["strong_true_below20"] = sum(1 for k in strong if calls[k][0] is not None and calls[k][0] < 20)
    out["strong_true"] = len(strong)
    for k in ("all_SNP", "all_INDEL", "pass_SNP", "pass_INDEL"):
        v = out[k]
        print(f"{label or ''} {k:11} truth {v['truth']:6d} calls {v['calls']:6d} TP {v['TP']:6d} "
              f"P {v['precision']:.4f} R {v['recall']:.4f} F1 {v['F1']:.4f}")
    print(f"{label or ''} indel recall by length: " + ", ".join(
        f"{lo}-{hi} bp {out[f'indel_{lo}_{hi}']['TP']}/{out[f'indel_{lo}_{hi}']['truth']}"
        f" (PASS {out[f'indel_{lo}_{hi}']['TP_pass']})" for lo, hi in LENGTHS))
    print(f"{label or ''} QUAL bins: " + "; ".join(f"{b['qual']} {b['TP']}/{b['calls']}" for b in qb))
    print(f"{label or ''} precision at QUAL>=20: {out['qual20_precision']}; true calls with >=10 reads, share>=0.9: "
          f"{out['strong_true']}, below QUAL 20: {out['strong_true_below20']}")
    if js:
        with open(js, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main(sys.argv)
