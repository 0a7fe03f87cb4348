"""Checks the Triton scan against the sequential reference and times training steps of the same Mamba model through
this package (Triton scan) and through transformers' pure-PyTorch MambaForCausalLM paths.

Usage:
    python3 scripts/pretrain/bench.py --out report.json [--batch 512 --seq-len 256 --d-model 64 --n-layer 4]
    python3 scripts/pretrain/bench.py --cpu-check      # layout equivalence with transformers only (CPU, seconds)

Reports, as JSON: max abs error of the Triton scan's output and gradients vs selective_scan_ref (fp32); max abs
difference of the hidden states of this model and MambaForCausalLM holding the same weights (fp32); tokens/s of
a training step (forward, backward, AdamW) and of a forward pass for each engine.
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mamba_torch import MambaConfig, MambaLM, selective_scan_ref  # noqa: E402


def hf_model(c: MambaConfig, mine: MambaLM, use_mambapy=False):
    """MambaForCausalLM with the same weights (mamba_ssm names -> transformers names)."""
    from transformers import MambaConfig as HFConfig, MambaForCausalLM
    hc = HFConfig(vocab_size=c.padded_vocab, hidden_size=c.d_model, state_size=c.d_state, num_hidden_layers=c.n_layer,
                  expand=c.expand, conv_kernel=c.d_conv, time_step_rank=c.dt_rank, use_bias=False, use_conv_bias=True,
                  residual_in_fp32=True, layer_norm_epsilon=c.norm_epsilon, tie_word_embeddings=True,
                  use_mambapy=use_mambapy)
    m = MambaForCausalLM(hc)
    sd = {k.replace("backbone.embedding.", "backbone.embeddings."): v for k, v in mine.state_dict().items()}
    missing, unexpected = m.load_state_dict(sd, strict=False)
    missing = [k for k in missing if k != "lm_head.weight"]
    assert not missing and not unexpected, (missing, unexpected)
    return m


def scan_check(device, b=4, L=256, d=128, n=16):
    from scan_triton import selective_scan_triton
    g = torch.Generator().manual_seed(0)
    u = torch.randn(b, L, d, generator=g)
    dl = torch.rand(b, L, d, generator=g) * 0.3
    A = -torch.exp(torch.randn(d, n, generator=g) * 0.5) * torch.arange(1, n + 1)
    B = torch.randn(b, L, n, generator=g)
    C = torch.randn(b, L, n, generator=g)
    dy = torch.randn(b, L, d, generator=g)
    res = {}
    outs = {}
    for name, fn in (("ref", selective_scan_ref), ("triton", selective_scan_triton)):
        xs = [t.to(device).requires_grad_() for t in (u, dl, A, B, C)]
        y = fn(*xs)
        grads = torch.autograd.grad((y * dy.to(device)).sum(), xs)
        outs[name] = [y.detach().cpu()] + [x.cpu() for x in grads]
    for i, nm in enumerate(["y", "du", "ddelta", "dA", "dB", "dC"]):
        r, t = outs["ref"][i], outs["triton"][i]
        res[nm] = {"max_abs": float((r - t).abs().max()), "max_ref": float(r.abs().max())}
    return res


def scan_sweep(dev, b, L, d, n):
    """Forward + backward time of the scan alone for each (channels per program, warps)."""
    import scan_triton
    from scan_triton import selective_scan_triton
    xs = [torch.randn(b, L, d, device=dev), torch.rand(b, L, d, device=dev) * 0.3, -torch.rand(d, n, device=dev) * 4,
          torch.randn(b, L, n, device=dev), torch.randn(b, L, n, device=dev)]
    xs = [x.requires_grad_() for x in xs]
    out, best = {}, None
    for bd, nw in ((16, 1), (16, 2), (32, 2), (32, 4)):  # each compiles twice (fwd, bwd): keep the sweep short
        if True:
            scan_triton.set_config(bd, nw)
            try:
                for i in range(4):  # first call compiles
                    if i == 1:
                        torch.cuda.synchronize()
                        t = time.time()
                    y = selective_scan_triton(*xs)
                    y.sum().backward()
                torch.cuda.synchronize()
                ms = (time.time() - t) / 3 * 1e3
            except Exception as e:
                out[f"{bd}x{nw}"] = repr(e)[:200]
                continue
            out[f"{bd}x{nw}"] = round(ms, 3)
            if best is None or ms < out[f"{best[0]}x{best[1]}"]:
                best = (bd, nw)
    return out, best


def time_engine(model, ids, steps, train=True, amp=False):
    dev = ids.device
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4) if train else None

    def step():
        with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=amp):
            out = model(ids[:, :-1])
            logits = out.logits if hasattr(out, "logits") else out
            loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
        if train:
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return loss

    ctx = torch.enable_grad() if train else torch.no_grad()
    with ctx:
        step()  # warm-up: Triton compile, cuBLAS heuristics
        if dev.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        t = time.time()
        for _ in range(steps):
            step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        dt = time.time() - t
    toks = ids.shape[0] * (ids.shape[1] - 1) * steps
    r = {"tokens_per_s": toks / dt, "seconds_per_step": dt / steps}
    if dev.type == "cuda":
        r["peak_gib"] = torch.cuda.max_memory_allocated() / 2**30
    return r


def save(rep, path):
    with open(path + ".tmp", "w") as f:
        json.dump(rep, f, indent=1)
    os.replace(path + ".tmp", path)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default="bench.json")
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--seq-len", type=int, default=256)
    p.add_argument("--d-model", type=int, default=64)
    p.add_argument("--n-layer", type=int, default=4)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--hf-steps", type=int, default=3)
    p.add_argument("--cpu-check", action="store_true")
    a = p.parse_args()
    dev = torch.device("cuda" if torch.cuda.is_available() and not a.cpu_check else "cpu")
    torch.manual_seed(0)
    c = MambaConfig(d_model=a.d_model, n_layer=a.n_layer, dt_rank=-(-a.d_model // 16))
    rep = {"device": torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu", "torch": torch.__version__,
           "model": c.to_json(), "batch": a.batch, "seq_len": a.seq_len}
    import transformers
    rep["transformers"] = transformers.__version__
    mine = MambaLM(c, scan="triton" if dev.type == "cuda" else "ref")
    with torch.no_grad():  # perturb all weights so the comparison is not of an untrained, near-symmetric model
        for prm in mine.parameters():
            prm.add_(torch.randn_like(prm) * 0.02)
    ids = torch.randint(7, 11, (2, 64))
    hf = hf_model(c, mine)
    with torch.no_grad():
        mine.set_scan("ref")
        h_mine = mine.hidden_states(ids)
        h_hf = hf(ids, output_hidden_states=True).hidden_states[-1]
    rep["hidden_vs_transformers_max_abs"] = float((h_mine - h_hf).abs().max())
    print("hidden states vs transformers MambaForCausalLM:", rep["hidden_vs_transformers_max_abs"], flush=True)
    if a.cpu_check:
        print(json.dumps(rep, indent=1))
        return
    rep["scan_check"] = scan_check(dev)
    print("scan check:", json.dumps(rep["scan_check"]), flush=True)
    rep["scan_sweep"], best = scan_sweep(dev, a.batch, a.seq_len, c.d_inner, c.d_state)
    rep["scan_best"] = best
    save(rep, a.out)
    print("scan sweep:", json.dumps(rep["scan_sweep"]), "best", best, flush=True)
    import scan_triton
    scan_triton.set_config(*best)
    ids = torch.randint(7, 11, (a.batch, a.seq_len + 1), device=dev)
    mine.set_scan("triton")
    mine.to(dev)
    hf.to(dev)
    timings = {}
    for name, model, amp, steps in (("triton_scan_bf16", mine, True, a.steps), ("triton_scan_fp32", mine, False, a.steps),
                                    ("transformers_slow_fp32", hf, False, a.hf_steps),
                                    ("transformers_slow_bf16", hf, True, a.hf_steps)):
        for mode in ("train", "forward"):
            try:
                timings[f"{name}_{mode}"] = time_engine(model, ids, steps, train=mode == "train", amp=amp)
            except Exception as e:  # report and go on: one engine failing must not lose the others' numbers
                timings[f"{name}_{mode}"] = {"error": repr(e)[:300]}
            print(name, mode, json.dumps(timings[f"{name}_{mode}"]), flush=True)
            rep["timings"] = timings
            save(rep, a.out)  # partial results survive a time limit
    try:
        hfp = hf_model(c, mine.to("cpu"), use_mambapy=True).to(dev)
        mine.to(dev)
        timings["transformers_mambapy_fp32_train"] = time_engine(hfp, ids, a.hf_steps, train=True)
    except Exception as e:
        timings["transformers_mambapy_fp32_train"] = {"error": repr(e)[:300]}
    print("transformers_mambapy_fp32_train", json.dumps(timings["transformers_mambapy_fp32_train"]), flush=True)
    rep["timings"] = timings
    save(rep, a.out)


if __name__ == "__main__":
    main()
