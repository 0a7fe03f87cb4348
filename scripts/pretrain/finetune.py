"""Fine-tunes a read classifier (Mamba backbone, mean pooling, linear head) on one CUDA GPU; exports the
`MambaDNASequenceClassifier` directory that `mamba-dna classify --model` loads as it is.

Usage:
    python3 scripts/pretrain/finetune.py --task species --data finetune-data --init Fixtures/models/encoder \
        --run RUN_DIR --seconds 150 --val strain --export MODEL_DIR
    python3 scripts/pretrain/finetune.py --smoke --run /tmp/ft-smoke      # CPU, tiny model, a few steps

Reads are drawn fresh every step from the train split (make-finetune-data packs it):
  species  150-base reads from the train strains' genomes: species uniform, strain uniform within its species,
           position uniform over the strain's contigs, reads with N skipped, either strand, then substitutions
           ramping from 0.1 % to 1 % along the read (make_species_reads.py's error model);
  16s      150-base fragments at a uniform position of a uniformly drawn full-length train sequence, either strand
           (class labels).
Validation never uses a test split: --val strain holds out one train strain of every species that has several
(E. coli and S. suis, which have one, hold out the last 10 % of each contig); --val genus holds out a seeded 15 %
of the train genera; --val none trains on everything (the shipped models, with the schedule chosen under
validation). Validation reads are a fixed seeded draw from the held-out part; logits average the read and its
reverse complement, as `classify` does.

Schedule: AdamW (β 0.9/0.95), linear warm-up, constant, then a linear decay to 10 % over the last
--decay-fraction of --seconds. RUN_DIR/checkpoint.pt makes a killed run resumable; RUN_DIR/log.tsv has the
curve; RUN_DIR/run.json the summary.
"""
import argparse
import gzip
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mamba_torch import (MambaConfig, MambaLM, complement_ids, load_hub_dir, save_hub_dir, token_lut,  # noqa: E402
                         write_json)

LUT = token_lut()
COMPLEMENT = complement_ids()


def read_records(path):
    """(header fields dict, uint8 tokens) per FASTA record; header `>ID key=value ...`."""
    op = gzip.open if path.endswith(".gz") else open
    out, head, buf = [], None, []
    with op(path, "rb") as fh:
        for line in fh:
            if line.startswith(b">"):
                if head is not None:
                    out.append((head, LUT[np.frombuffer(b"".join(buf), dtype=np.uint8)]))
                parts = line[1:].decode().split()
                head = {"id": parts[0], **dict(p.split("=", 1) for p in parts[1:] if "=" in p)}
                buf = []
            else:
                buf.append(line.strip())
    if head is not None:
        out.append((head, LUT[np.frombuffer(b"".join(buf), dtype=np.uint8)]))
    if not out:
        raise SystemExit(f"{path}: no FASTA records")
    return out


class ReadSampler:
    """Fixed-length reads from groups of sequences. A read is: a class uniformly (or by `class_weights`), a group of
    that class uniformly, a start uniformly among the group's valid starts (window inside one record, no N)."""

    def __init__(self, groups, labels, L, device, sub_lo=0.0, sub_hi=0.0, every_class=True):
        # groups: list of (label, [token arrays])
        self.L, self.device, self.sub_lo, self.sub_hi = L, device, sub_lo, sub_hi
        pieces, self.group_starts, self.group_label = [], [], []
        offset = 0
        sep = np.full(1, 11, dtype=np.uint8)
        for label, seqs in groups:
            cat = np.concatenate([x for s in seqs for x in (s, sep)])
            bad = np.concatenate([[0], np.cumsum(cat == 11)])
            n = len(cat) - L + 1
            ok = np.nonzero(bad[L:L + n] - bad[:n] == 0)[0]
            if len(ok) == 0:
                continue
            self.group_starts.append(torch.from_numpy(ok + offset))
            self.group_label.append(labels.index(label))
            pieces.append(cat)
            offset += len(cat)
        self.tokens = torch.from_numpy(np.concatenate(pieces)).to(device)
        C = len(labels)
        self.class_groups = [[g for g, c in enumerate(self.group_label) if c == k] for k in range(C)]
        missing = [labels[k] for k in range(C) if not self.class_groups[k]]
        if missing and every_class:
            raise SystemExit(f"no sequence of at least {L} bases for class {missing[0]}")
        self.sizes = torch.tensor([len(s) for s in self.group_starts], dtype=torch.float64)
        self.flat_starts = torch.cat(self.group_starts)
        self.group_offset = torch.cat([torch.zeros(1, dtype=torch.long), torch.cumsum(self.sizes.long(), 0)[:-1]])
        self.offsets = torch.arange(L, device=device)
        self.pos_frac = torch.linspace(0, 1, L, device=device)

    def batch(self, n, g, uniform_over="class"):
        C = len(self.class_groups)
        if uniform_over == "class":
            cls = torch.randint(0, C, (n,), generator=g)
            pick = torch.rand(n, generator=g)
            grp = torch.tensor([self.class_groups[c][int(p * len(self.class_groups[c]))] for c, p in
                                zip(cls.tolist(), pick.tolist())])
        else:  # every group equally likely (16S: every train sequence as often, as the benchmark's fragments)
            grp = torch.randint(0, len(self.group_starts), (n,), generator=g)
        within = (torch.rand(n, generator=g, dtype=torch.float64) * self.sizes[grp]).long()
        start = self.flat_starts[self.group_offset[grp] + within]
        w = self.tokens[start.to(self.device)[:, None] + self.offsets].long()
        flip = (torch.rand(n, generator=g) < 0.5).to(self.device)
        w = torch.where(flip[:, None], COMPLEMENT.to(self.device)[w.flip(1)], w)
        if self.sub_hi > 0:
            rate = self.sub_lo + (self.sub_hi - self.sub_lo) * self.pos_frac
            u = torch.rand(n, self.L, generator=g).to(self.device)
            shift = torch.randint(1, 4, (n, self.L), generator=g).to(self.device)
            w = torch.where(u < rate, (w - 7 + shift) % 4 + 7, w)
        labels = torch.tensor([self.group_label[i] for i in grp.tolist()], device=self.device)
        return w, labels


class Classifier(nn.Module):
    """Backbone (mamba_ssm names) → mean over positions → linear head, as MambaDNASequenceClassifier."""

    def __init__(self, lm: MambaLM, n_classes: int):
        super().__init__()
        self.lm = lm
        self.classifier = nn.Linear(lm.config.d_model, n_classes)
        nn.init.normal_(self.classifier.weight, std=0.02)
        nn.init.zeros_(self.classifier.bias)

    def forward(self, ids):
        h = self.lm.hidden_states(ids)           # (b, L, d) fp32
        return self.classifier(h.mean(1).float())  # (b, C)

    def rc_logits(self, ids):
        rc = COMPLEMENT.to(ids.device)[ids.flip(1)]
        return 0.5 * (self(ids) + self(rc))


def species_groups(data, val):
    """(train groups, val groups, labels). Group = one strain (train) or one held-out piece (val)."""
    recs = read_records(os.path.join(data, "species.fa.gz"))
    by_strain = {}
    for h, s in recs:
        by_strain.setdefault((h["species"], h["strain"]), []).append(s)
    labels = sorted({sp for sp, _ in by_strain})
    train, held = [], []
    for sp in labels:
        strains = sorted(st for s2, st in by_strain if s2 == sp)
        if val == "strain" and len(strains) > 1:
            # The last strain in name order is held out (seedless, so every run holds out the same one).
            for st in strains[:-1]:
                train.append((sp, by_strain[(sp, st)]))
            held.append((sp, by_strain[(sp, strains[-1])]))
        elif val == "strain":
            seqs = by_strain[(sp, strains[0])]
            train.append((sp, [s[:int(len(s) * 0.9)] for s in seqs]))
            held.append((sp, [s[int(len(s) * 0.9):] for s in seqs]))
        else:
            for st in strains:
                train.append((sp, by_strain[(sp, st)]))
    return train, held, labels


def rrna_groups(data, val, seed):
    recs = read_records(os.path.join(data, "16s.fa.gz"))
    labels = sorted({h["class"] for h, _ in recs})
    genera = sorted({h["genus"] for h, _ in recs})
    held_genera = set()
    if val == "genus":
        rng = random.Random(seed)
        held_genera = set(rng.sample(genera, round(0.15 * len(genera))))
    train = [(h["class"], [s]) for h, s in recs if h["genus"] not in held_genera]
    held = [(h["class"], [s]) for h, s in recs if h["genus"] in held_genera]
    return train, held, labels


@torch.no_grad()
def evaluate(model, windows, labels, batch, amp):
    model.eval()
    correct, loss, n = 0, 0.0, 0
    for i in range(0, len(windows), batch):
        w, y = windows[i:i + batch], labels[i:i + batch]
        with torch.autocast(device_type=w.device.type, dtype=torch.bfloat16, enabled=amp):
            z = model.rc_logits(w).float()
        loss += float(F.cross_entropy(z, y, reduction="sum"))
        correct += int((z.argmax(-1) == y).sum())
        n += len(w)
    model.train()
    return loss / n, correct / n


def export(model: Classifier, labels, out_dir, info):
    """The classifier directory: the backbone's files (save_hub_dir) + head tensors + classifier config keys."""
    from safetensors.torch import save_file
    save_hub_dir(model.lm, out_dir, {
        "architectures": ["MambaDNASequenceClassifier"], "labels": labels, "num_labels": len(labels),
        "id2label": {str(i): l for i, l in enumerate(labels)}, "label2id": {l: i for i, l in enumerate(labels)},
        "pooling": "mean", "rc_average": True, "fine_tuning": info})
    sd = model.lm.export_state()
    sd["classifier.weight"] = model.classifier.weight.detach().float().cpu().contiguous()
    sd["classifier.bias"] = model.classifier.bias.detach().float().cpu().contiguous()
    tmp = os.path.join(out_dir, ".model.safetensors.tmp")
    save_file(sd, tmp, metadata={"format": "pt"})
    os.chmod(tmp, 0o644)
    os.replace(tmp, os.path.join(out_dir, "model.safetensors"))


def make_smoke_data(directory, seed=0):
    rng = random.Random(seed)
    os.makedirs(directory, exist_ok=True)
    with gzip.open(os.path.join(directory, "species.fa.gz"), "wt") as f:
        for sp, motif in (("A_one", "GATTACA"), ("B_two", "CCGGTTA")):
            for st in ("s1", "s2"):
                s = "".join(rng.choice("ACGT") if rng.random() < 0.6 else motif[j % 7] for j in range(3000))
                f.write(f">{st}|c1 species={sp} strain={sp}_{st}\n{s}\n")
    with gzip.open(os.path.join(directory, "16s.fa.gz"), "wt") as f:
        for i in range(40):
            cl, motif = (("X", "AAGGT") if i % 2 else ("Y", "TTACG"))
            s = "".join(rng.choice("ACGT") if rng.random() < 0.6 else motif[j % 5] for j in range(400))
            f.write(f">q{i} class={cl} genus=g{i % 10}\n{s}\n")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--task", choices=["species", "16s"], default="species")
    p.add_argument("--data", default="finetune-data")
    p.add_argument("--init", default="none", help="model directory to start from (save_hub_dir layout), or none")
    p.add_argument("--d-model", type=int, default=64, help="with --init none")
    p.add_argument("--n-layer", type=int, default=4, help="with --init none")
    p.add_argument("--run", required=True)
    p.add_argument("--export")
    p.add_argument("--seconds", type=float, default=150)
    p.add_argument("--val", choices=["strain", "genus", "none"], default=None,
                   help="held-out part of the train split (default: strain for species, genus for 16s)")
    p.add_argument("--val-reads", type=int, default=6000)
    p.add_argument("--read-length", type=int, default=150)
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--decay-fraction", type=float, default=0.3)
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--scan", default=None)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--substitutions", type=float, nargs=2, metavar=("FIRST", "LAST"), default=None,
                   help="substitution rate at the first and last base of a training read (default: species 0.001 "
                        "0.01, as the benchmark's reads; 16S 0 0)")
    p.add_argument("--max-steps", type=int, default=0, help="stop at this global step (0: no limit)")
    p.add_argument("--smoke", action="store_true", help="CPU, tiny model, synthetic data, 8 steps")
    a = p.parse_args(argv)
    if a.val is None:
        a.val = "strain" if a.task == "species" else "genus"
    if a.smoke:
        a.data = os.path.join(a.run, "data")
        make_smoke_data(a.data)
        a.d_model, a.n_layer, a.read_length, a.batch, a.val_reads = 16, 2, 40, 16, 32
        a.warmup, a.eval_every = 2, 3
        a.max_steps = a.max_steps or 8
    device = torch.device("cuda" if torch.cuda.is_available() and not a.smoke else "cpu")
    scan = a.scan or ("triton" if device.type == "cuda" else "ref")
    amp = device.type == "cuda"
    torch.manual_seed(a.seed)
    random.seed(a.seed)
    t0 = time.time()
    if a.task == "species":
        train_g, held_g, labels = species_groups(a.data, a.val)
        sub = (0.001, 0.01)
    else:
        train_g, held_g, labels = rrna_groups(a.data, a.val, a.seed)
        sub = (0.0, 0.0)
    L = a.read_length
    # Validation reads keep the benchmark's error model; --substitutions changes the training reads only.
    train = ReadSampler(train_g, labels, L, device, *(a.substitutions or sub))
    uniform_over = "class" if a.task == "species" else "group"
    val_w = val_y = None
    if held_g:
        held = ReadSampler(held_g, labels, L, device, *sub, every_class=(uniform_over == "class"))
        val_w, val_y = held.batch(a.val_reads, torch.Generator().manual_seed(4242), uniform_over)
    print(f"{a.task}: {len(labels)} classes, {len(train_g)} train groups ({len(train.flat_starts):,} read starts), "
          f"{len(held_g)} held-out groups, {0 if val_w is None else len(val_w)} validation reads "
          f"(loaded in {time.time() - t0:.1f} s)", flush=True)

    if a.init != "none":
        lm = load_hub_dir(a.init, scan=scan)
    else:
        lm = MambaLM(MambaConfig(d_model=a.d_model, n_layer=a.n_layer, d_state=16 if not a.smoke else 4,
                                 dt_rank=math.ceil(a.d_model / 16)), scan=scan)
    model = Classifier(lm, len(labels)).to(device)
    decay, no_decay = [], []
    for n_, prm in model.named_parameters():
        (decay if prm.dim() >= 2 and "embedding" not in n_ and "A_log" not in n_ else no_decay).append(prm)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=a.lr, betas=(0.9, 0.95))
    os.makedirs(a.run, exist_ok=True)
    ckpt_path = os.path.join(a.run, "checkpoint.pt")
    gen = torch.Generator().manual_seed(a.seed)
    state = {"step": 0, "reads": 0, "seconds": 0.0, "best": None}
    if os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        gen.set_state(ck["gen"])
        state = ck["state"]
        print(f"resuming at step {state['step']} ({state['seconds']:.0f} s trained)", flush=True)
    log_path = os.path.join(a.run, "log.tsv")
    if not os.path.exists(log_path):
        with open(log_path, "w") as f:
            f.write("kind\tstep\treads\tseconds\tloss\taccuracy\tlr\n")

    def log(kind, loss, acc, lr):
        with open(log_path, "a") as f:
            f.write(f"{kind}\t{state['step']}\t{state['reads']}\t{state['seconds']:.1f}\t{loss:.5f}\t{acc:.5f}\t{lr:.6g}\n")

    def save():
        tmp = ckpt_path + ".tmp"
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "gen": gen.get_state(),
                    "state": state}, tmp)
        os.replace(tmp, ckpt_path)

    last_save = time.time()
    seg = time.time()
    while state["seconds"] + (time.time() - seg) < a.seconds and not (a.max_steps and state["step"] >= a.max_steps):
        el = state["seconds"] + (time.time() - seg)
        lr = a.lr * min(1.0, (state["step"] + 1) / a.warmup)
        decay_from = a.seconds * (1 - a.decay_fraction)
        if el > decay_from:
            lr *= 1.0 - 0.9 * min(1.0, (el - decay_from) / (a.seconds - decay_from))
        for g_ in opt.param_groups:
            g_["lr"] = lr
        w, y = train.batch(a.batch, gen, uniform_over)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp):
            z = model(w)
        loss = F.cross_entropy(z.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        state["step"] += 1
        state["reads"] += len(w)
        if state["step"] % 50 == 0:
            state["seconds"] += time.time() - seg
            seg = time.time()
            log("train", float(loss.detach()), float((z.argmax(-1) == y).float().mean()), lr)
        if val_w is not None and state["step"] % a.eval_every == 0:
            state["seconds"] += time.time() - seg
            vl, va = evaluate(model, val_w, val_y, 1024, amp)
            log("val", vl, va, lr)
            print(f"step {state['step']} reads {state['reads']:,} {state['seconds']:.0f} s: loss {float(loss.detach()):.4f} "
                  f"val loss {vl:.4f} val acc {va:.4f} lr {lr:.2e}", flush=True)
            seg = time.time()
        if time.time() - last_save > 60:
            state["seconds"] += time.time() - seg
            save()
            seg = last_save = time.time()
    state["seconds"] += time.time() - seg
    result = {"task": a.task, "init": a.init, "val": a.val, "steps": state["step"], "reads": state["reads"],
              "train_seconds": round(state["seconds"], 1), "lr": a.lr, "batch": a.batch, "labels": labels,
              "substitutions": list(a.substitutions or sub),
              "device": torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu"}
    if val_w is not None:
        vl, va = evaluate(model, val_w, val_y, 1024, amp)
        log("val", vl, va, 0)
        result.update({"val_loss": round(vl, 5), "val_accuracy": round(va, 5), "val_reads": len(val_w)})
        print(f"end: step {state['step']}, {state['reads']:,} reads, val loss {vl:.4f} acc {va:.4f}", flush=True)
    save()
    write_json(os.path.join(a.run, "run.json"), result)
    if a.export:
        model.float()
        export(model, labels, a.export, {k: result[k] for k in ("task", "steps", "reads", "train_seconds", "lr")}
               | {"init": os.path.basename(os.path.normpath(a.init)) if a.init != "none" else "none"})
        print(f"exported {a.export}", flush=True)
    return result


if __name__ == "__main__":
    main()
