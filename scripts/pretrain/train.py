"""Causal-LM pretraining of a Mamba-1 DNA encoder, resumable across short runs; exports a mamba_ssm-layout model dir.

Usage:
    python3 scripts/pretrain/train.py --corpus CORPUS_DIR --run RUN_DIR --seconds 500 [--export MODEL_DIR]
    python3 scripts/pretrain/train.py --smoke --run /tmp/smoke          # CPU, tiny model, a few steps, seconds

CORPUS_DIR holds train.fa.gz and val.fa.gz (scripts/pretrain/make-corpus writes them). RUN_DIR/checkpoint.pt holds
model, optimizer, step, tokens seen, the RNG states and the data sampler's generator, so the next run with the same
RUN_DIR continues exactly where the last one stopped (the model shape comes from the checkpoint then). Each run
trains until --seconds of wall time have passed (or --max-steps), then saves the checkpoint, evaluates the held-out
windows and, with --export, writes config.json + model.safetensors (fp32) + tokenizer files. RUN_DIR/log.tsv gets
one line per --log-every steps and per evaluation.

The objective is next-base prediction on random windows (--seq-len) of the training records, each window reverse-
complemented with probability 1/2 (reads come from either strand). The model is unidirectional, as the shipped
classifiers are, so causal LM rather than masked LM fits it: every position's embedding is trained.

--lr-decay-seconds S: the last S seconds of this run decay the learning rate linearly to 10 % of --lr (use it on the
final run; the schedule is otherwise warm-up then constant, so runs can be chained without knowing their number).
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
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mamba_torch import MambaConfig, MambaLM, complement_ids, save_hub_dir, token_lut, write_json  # noqa: E402

LUT = token_lut()
COMPLEMENT = complement_ids()


def read_fasta_tokens(path):
    """Records of a FASTA file (plain or gzip) as uint8 token arrays. Not FASTA: one line, exit 2."""
    op = gzip.open if path.endswith(".gz") else open
    seqs, cur = [], []
    with op(path, "rb") as fh:
        first = True
        for line in fh:
            if first:
                if not line.startswith(b">"):
                    raise SystemExit(f"{path}: not FASTA (first line does not start with '>')")
                first = False
            if line.startswith(b">"):
                if cur:
                    seqs.append(LUT[np.frombuffer(b"".join(cur), dtype=np.uint8)])
                cur = []
            else:
                cur.append(line.strip())
        if cur:
            seqs.append(LUT[np.frombuffer(b"".join(cur), dtype=np.uint8)])
    if not seqs:
        raise SystemExit(f"{path}: no sequences")
    return seqs


class WindowSampler:
    """Uniform random windows of length L+1 over all records at least L+1 long, drawn with a torch.Generator whose
    state is saved in the checkpoint (that state is the data position)."""

    def __init__(self, seqs, L, device, seed):
        seqs = [s for s in seqs if len(s) >= L + 1]
        if not seqs:
            raise SystemExit(f"no record of at least {L + 1} bases")
        self.L = L
        self.tokens = torch.from_numpy(np.concatenate(seqs)).to(device)
        lens = np.array([len(s) for s in seqs], dtype=np.int64)
        self.starts = torch.from_numpy(np.concatenate([[0], np.cumsum(lens)[:-1]]))
        valid = torch.from_numpy(lens - L)  # start positions per record
        self.cum = torch.cumsum(valid, 0)
        self.total_valid = int(self.cum[-1])
        self.bases = int(lens.sum())
        self.records = len(seqs)
        self.gen = torch.Generator().manual_seed(seed)
        self.device = device
        self.offsets = torch.arange(L + 1, device=device)

    def batch(self, n, gen=None):
        g = gen or self.gen
        k = torch.randint(0, self.total_valid, (n,), generator=g)
        rec = torch.searchsorted(self.cum, k, right=True)
        before = torch.where(rec > 0, self.cum[(rec - 1).clamp(min=0)], torch.zeros_like(k))
        pos = self.starts[rec] + (k - before)
        flip = torch.rand(n, generator=g) < 0.5
        w = self.tokens[pos.to(self.device)[:, None] + self.offsets].long()
        flip = flip.to(self.device)
        rc = COMPLEMENT.to(self.device)[w.flip(1)]
        return torch.where(flip[:, None], rc, w)


def lm_loss(model, w):
    logits = model(w[:, :-1])
    tgt = w[:, 1:]
    loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), tgt.reshape(-1))
    acc = (logits.argmax(-1) == tgt).float().mean()
    return loss, acc


@torch.no_grad()
def evaluate(model, val_windows, batch, amp):
    model.eval()
    tot_l = tot_a = 0.0
    n = 0
    for i in range(0, len(val_windows), batch):
        w = val_windows[i:i + batch]
        with torch.autocast(device_type=w.device.type, dtype=torch.bfloat16, enabled=amp):
            l, a = lm_loss(model, w)
        tot_l += float(l) * len(w)
        tot_a += float(a) * len(w)
        n += len(w)
    model.train()
    return tot_l / n, tot_a / n


def make_smoke_corpus(directory, seed=0):
    """Random DNA with a repeated motif, so a few steps visibly lower the loss."""
    rng = random.Random(seed)
    os.makedirs(directory, exist_ok=True)
    for name, n in (("train.fa.gz", 40), ("val.fa.gz", 4)):
        with gzip.open(os.path.join(directory, name), "wt") as f:
            for i in range(n):
                s = "".join(rng.choice("ACGT") if rng.random() < 0.5 else "GATTACA"[j % 7] for j in range(600))
                f.write(f">r{i}\n{s}\n")


def save_checkpoint(path, model, opt, state, sampler):
    tmp = path + ".tmp"
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "state": state,
                "sampler_rng": sampler.gen.get_state(), "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
                "python_rng": random.getstate(), "config": model.config.to_json()}, tmp)
    os.replace(tmp, path)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--corpus", help="folder with train.fa.gz and val.fa.gz")
    p.add_argument("--run", required=True, help="run folder: checkpoint.pt, log.tsv, run.json")
    p.add_argument("--export", help="write the model directory here at the end")
    p.add_argument("--seconds", type=float, default=500, help="wall-time budget of this run (training only)")
    p.add_argument("--max-steps", type=int, default=0, help="stop at this global step (0: no limit)")
    p.add_argument("--d-model", type=int, default=64)
    p.add_argument("--n-layer", type=int, default=4)
    p.add_argument("--d-state", type=int, default=16)
    p.add_argument("--seq-len", type=int, default=256)
    p.add_argument("--batch", type=int, default=512, help="windows per step")
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--warmup", type=int, default=300)
    p.add_argument("--lr-decay-seconds", type=float, default=0)
    p.add_argument("--scan", default=None, help="triton (default on CUDA) or ref (default on CPU)")
    p.add_argument("--scan-block-d", type=int, default=0, help="Triton scan: channels per program (bench.py picks)")
    p.add_argument("--scan-warps", type=int, default=0, help="Triton scan: warps per program")
    p.add_argument("--no-bf16", action="store_true", help="fp32 matrix products on the GPU")
    p.add_argument("--val-windows", type=int, default=2048)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--eval-every", type=int, default=1000)
    p.add_argument("--checkpoint-every", type=float, default=120, help="seconds between checkpoints")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--smoke", action="store_true", help="CPU, tiny model, synthetic corpus, 6 steps")
    a = p.parse_args(argv)

    if a.smoke:
        a.corpus = a.corpus or os.path.join(a.run, "corpus")
        if not os.path.exists(os.path.join(a.corpus, "train.fa.gz")):
            make_smoke_corpus(a.corpus)
        a.d_model, a.n_layer, a.d_state, a.seq_len, a.batch = 16, 2, 4, 32, 8
        a.warmup, a.log_every, a.eval_every, a.val_windows = 2, 1, 3, 16
        a.max_steps = a.max_steps or 6
    if not a.corpus:
        p.error("--corpus is required (or --smoke)")
    device = torch.device("cuda" if torch.cuda.is_available() and not a.smoke else "cpu")
    scan = a.scan or ("triton" if device.type == "cuda" else "ref")
    amp = device.type == "cuda" and not a.no_bf16
    if scan == "triton":
        import scan_triton
        scan_triton.set_config(a.scan_block_d or None, a.scan_warps or None)
    os.makedirs(a.run, exist_ok=True)
    ckpt_path = os.path.join(a.run, "checkpoint.pt")
    ck = torch.load(ckpt_path, map_location="cpu", weights_only=False) if os.path.exists(ckpt_path) else None

    torch.manual_seed(a.seed)
    random.seed(a.seed)
    cfg = MambaConfig.from_json(ck["config"]) if ck else MambaConfig(
        d_model=a.d_model, n_layer=a.n_layer, d_state=a.d_state, dt_rank=math.ceil(a.d_model / 16))
    model = MambaLM(cfg, scan=scan).to(device)
    decay, no_decay = [], []
    for n_, prm in model.named_parameters():
        (decay if prm.dim() >= 2 and "embedding" not in n_ and "A_log" not in n_ else no_decay).append(prm)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=a.lr, betas=(0.9, 0.95), eps=1e-8)

    t0 = time.time()
    train = WindowSampler(read_fasta_tokens(os.path.join(a.corpus, "train.fa.gz")), a.seq_len, device, a.seed)
    val = WindowSampler(read_fasta_tokens(os.path.join(a.corpus, "val.fa.gz")), a.seq_len, device, a.seed + 1000)
    # Fixed held-out windows: the same every run (own generator, fixed seed).
    val_windows = val.batch(a.val_windows, torch.Generator().manual_seed(12345))
    state = {"step": 0, "tokens": 0, "train_seconds": 0.0, "runs": []}
    if ck:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        state = ck["state"]
        train.gen.set_state(ck["sampler_rng"])
        torch.set_rng_state(ck["torch_rng"])
        if ck.get("cuda_rng") and device.type == "cuda":
            torch.cuda.set_rng_state_all(ck["cuda_rng"])
        random.setstate(ck["python_rng"])
    n_params = sum(x.numel() for x in model.parameters())
    print(f"corpus: {train.records} train records, {train.bases:,} bases; {val.records} val records, {val.bases:,} bases "
          f"(loaded in {time.time() - t0:.1f} s)", flush=True)
    print(f"model d_model {cfg.d_model} n_layer {cfg.n_layer} d_state {cfg.d_state}: {n_params:,} parameters; "
          f"{'resuming at step ' + str(state['step']) if ck else 'fresh'}; device {device}, scan {scan}, "
          f"bf16 {amp}", flush=True)

    log_path = os.path.join(a.run, "log.tsv")
    if not os.path.exists(log_path):
        with open(log_path, "w") as f:
            f.write("kind\tstep\ttokens\ttrain_seconds\tloss\taccuracy\tlr\ttokens_per_s\n")

    def log_line(kind, loss, acc, lr, tps):
        with open(log_path, "a") as f:
            f.write(f"{kind}\t{state['step']}\t{state['tokens']}\t{state['train_seconds']:.1f}\t{loss:.5f}\t{acc:.5f}"
                    f"\t{lr:.6g}\t{tps:.0f}\n")

    run_info = {"start_step": state["step"], "device": torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu",
                "scan": scan, "bf16": amp, "batch": a.batch, "seq_len": a.seq_len, "lr": a.lr}
    start = time.time()
    last_ckpt = start
    win_t, win_tok = time.time(), 0
    decay_start_step = None
    while True:
        elapsed = time.time() - start
        if elapsed >= a.seconds or (a.max_steps and state["step"] >= a.max_steps):
            break
        lr = a.lr * min(1.0, (state["step"] + 1) / a.warmup)
        if a.lr_decay_seconds > 0 and elapsed > a.seconds - a.lr_decay_seconds:
            if decay_start_step is None:
                decay_start_step = state["step"]
            lr *= 1.0 - 0.9 * min(1.0, (elapsed - (a.seconds - a.lr_decay_seconds)) / a.lr_decay_seconds)
        for g in opt.param_groups:
            g["lr"] = lr
        w = train.batch(a.batch)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp):
            loss, acc = lm_loss(model, w)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        state["step"] += 1
        state["tokens"] += w.shape[0] * (w.shape[1] - 1)
        win_tok += w.shape[0] * (w.shape[1] - 1)
        if state["step"] % a.log_every == 0:
            now = time.time()
            state["train_seconds"] += now - win_t
            tps = win_tok / (now - win_t)
            log_line("train", float(loss), float(acc), lr, tps)
            print(f"step {state['step']} loss {float(loss):.4f} acc {float(acc):.4f} lr {lr:.2e} {tps:,.0f} tok/s",
                  flush=True)
            win_t, win_tok = now, 0
        if state["step"] % a.eval_every == 0:
            vl, va = evaluate(model, val_windows, a.batch, amp)
            log_line("val", vl, va, lr, 0)
            print(f"step {state['step']} held-out loss {vl:.4f} acc {va:.4f}", flush=True)
            win_t = time.time()  # evaluation time is not training time
        if time.time() - last_ckpt > a.checkpoint_every:
            save_checkpoint(ckpt_path, model, opt, state, train)
            last_ckpt = time.time()
            win_t = last_ckpt
    state["train_seconds"] += time.time() - win_t
    vl, va = evaluate(model, val_windows, a.batch, amp)
    log_line("val", vl, va, 0, 0)
    run_info.update({"end_step": state["step"], "seconds": time.time() - start, "final_val_loss": vl,
                     "final_val_accuracy": va, "tokens_total": state["tokens"], "lr_decay_start_step": decay_start_step})
    state["runs"].append(run_info)
    save_checkpoint(ckpt_path, model, opt, state, train)
    print(f"end: step {state['step']}, {state['tokens']:,} tokens seen, held-out loss {vl:.4f} "
          f"({vl / math.log(2):.4f} bits/base) acc {va:.4f}", flush=True)
    write_json(os.path.join(a.run, "run.json"), {"state": state, "config": cfg.to_json(), "parameters": n_params,
                                                 "corpus": {"train_records": train.records, "train_bases": train.bases,
                                                            "val_records": val.records, "val_bases": val.bases}})
    if a.export:
        model.float()
        save_hub_dir(model, a.export, {"pretraining": {
            "objective": "causal LM (next base), reverse-complement augmentation", "steps": state["step"],
            "tokens": state["tokens"], "held_out_loss_nats": round(vl, 5), "held_out_accuracy": round(va, 5)}})
        print(f"exported {a.export}", flush=True)
    return state


if __name__ == "__main__":
    main()
