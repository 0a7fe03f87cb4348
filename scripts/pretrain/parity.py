"""Hidden states of an exported model directory in PyTorch (fp32, CPU) vs `mamba-dna embed`, on a fixed input; for a
classifier directory (finetune.py's export) also the class probabilities vs `mamba-dna classify`.

Usage:
    python3 scripts/pretrain/parity.py --model MODEL_DIR --bin PATH/TO/mamba-dna [--write-io OUT.safetensors]

The fixed input is three sequences (150, 300 and 37 bases; one with N and lowercase bases), made from a seeded RNG.
Prints the max abs difference over every hidden state (and probability); exits 1 if one is above 1e-4. --write-io saves input_ids
(padded with -1 to a rectangle), lengths, and per sequence `hidden_states.K` and `logits.K` (fp32) as the expected
outputs for the Swift parity test.
"""
import argparse
import os
import random
import subprocess
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mamba_torch import encode, load_hub_dir  # noqa: E402


def fixed_sequences():
    rng = random.Random(20261206)
    seqs = []
    for n in (150, 300, 37):
        seqs.append("".join(rng.choice("ACGT") for _ in range(n)))
    s = list(seqs[1])
    s[10], s[11], s[200] = "N", "N", "N"
    s[50:60] = [c.lower() for c in s[50:60]]
    seqs[1] = "".join(s)
    return seqs


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--bin", help="mamba-dna binary (omit to only write --write-io)")
    p.add_argument("--write-io")
    a = p.parse_args()
    torch.set_num_threads(2)
    model = load_hub_dir(a.model, scan="ref").eval()
    seqs = fixed_sequences()
    ref = []
    with torch.no_grad():
        for s in seqs:
            ids = torch.tensor([encode(s)])
            h = model.hidden_states(ids)[0]
            ref.append((ids[0], h, model.lm_head(h)))
    if a.write_io:
        from safetensors.torch import save_file
        L = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), L), -1, dtype=torch.int64)
        t = {"lengths": torch.tensor([len(s) for s in seqs], dtype=torch.int64)}
        for k, (i, h, lg) in enumerate(ref):
            ids[k, :len(i)] = i
            t[f"hidden_states.{k}"] = h.contiguous()
            t[f"logits.{k}"] = lg.contiguous()
        t["input_ids"] = ids
        for k, pr in enumerate(classifier_probabilities(a.model, seqs) or []):
            t[f"probabilities.{k}"] = pr.contiguous()
        save_file(t, a.write_io, metadata={"produced_by": "scripts/pretrain/parity.py (PyTorch fp32, CPU)"})
        print(f"wrote {a.write_io}")
    if not a.bin:
        return
    from safetensors.torch import load_file
    with tempfile.TemporaryDirectory() as tmp:
        fa = os.path.join(tmp, "in.fa")
        with open(fa, "w") as f:
            for k, s in enumerate(seqs):
                f.write(f">s{k}\n{s}\n")
        out = os.path.join(tmp, "emb.safetensors")
        subprocess.run([a.bin, "embed", "--model", a.model, fa, "--format", "safetensors", "-o", out, "--threads", "2",
                        "--precision", "fp32"],
                       check=True)
        got = load_file(out)
    err = 0.0
    for k, (_, h, _) in enumerate(ref):
        g = got[f"s{k}"]
        assert g.shape == h.shape, (g.shape, h.shape)
        err = max(err, float((g - h).abs().max()))
    print(f"max abs difference, PyTorch vs mamba-dna embed, hidden states: {err:.3g}")
    perr = classifier_parity(a.model, a.bin, seqs)
    sys.exit(0 if err <= 1e-4 and perr <= 1e-4 else 1)


def classifier_probabilities(model_dir, seqs):
    """Class probabilities per sequence (read and reverse complement averaged, mean pooling, as `classify`), or None
    when the directory is not a classifier (finetune.py's export)."""
    import json
    from finetune import Classifier
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    if "MambaDNASequenceClassifier" not in cfg.get("architectures", []):
        return None
    from safetensors.torch import load_file
    clf = Classifier(load_hub_dir(model_dir, scan="ref"), len(cfg["labels"]))
    sd = load_file(os.path.join(model_dir, "model.safetensors"))
    clf.classifier.weight.data.copy_(sd["classifier.weight"])
    clf.classifier.bias.data.copy_(sd["classifier.bias"])
    clf.eval()
    with torch.no_grad():
        return [torch.softmax(clf.rc_logits(torch.tensor([encode(s)]))[0], -1) for s in seqs]


def classifier_parity(model_dir, binary, seqs):
    """Class probabilities vs `classify --all-probs` (max abs difference; 0 when the directory is not a classifier)."""
    import json
    want = classifier_probabilities(model_dir, seqs)
    if want is None:
        return 0.0
    with open(os.path.join(model_dir, "config.json")) as f:
        labels = json.load(f)["labels"]
    with tempfile.TemporaryDirectory() as tmp:
        fa, out = os.path.join(tmp, "in.fa"), os.path.join(tmp, "out.tsv")
        with open(fa, "w") as f:
            for k, s in enumerate(seqs):
                f.write(f">s{k}\n{s}\n")
        subprocess.run([binary, "classify", "--model", model_dir, fa, "--all-probs", "--no-screen", "--no-kmer-sketch",
                        "--no-kmer-profile", "--precision", "fp32", "-o", out, "--threads", "2"], check=True)
        with open(out) as f:
            rows = [line.rstrip("\n").split("\t") for line in f]
    header = rows[0]
    err = 0.0
    for k, row in enumerate(rows[1:]):
        got = {h: float(v) for h, v in zip(header, row) if h in labels}
        err = max(err, max(abs(got[l] - float(want[k][i])) for i, l in enumerate(labels)))
    print(f"max abs difference, PyTorch vs mamba-dna classify, class probabilities: {err:.3g}")
    return err


if __name__ == "__main__":
    main()
