"""Mamba-1 language model in PyTorch, laid out like mamba_ssm's MambaLMHeadModel.

Usage (library):
    from mamba_torch import MambaConfig, MambaLM
    model = MambaLM(MambaConfig(d_model=64, n_layer=4), scan="triton")   # or "ref"
    logits = model(ids)                # ids: (batch, length) int64
    hidden = model.hidden_states(ids)  # after norm_f, what `mamba-dna embed` prints

Parameter names are exactly mamba_ssm's (backbone.embedding.weight, backbone.layers.N.mixer.in_proj.weight, ...,
lm_head.weight tied to the embedding), so a state_dict saved as model.safetensors with the config from
`MambaConfig.to_json()` loads in mamba_ssm and in mamba-dna as it is.
"""
import json
import math
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

# Character tokenizer shared with Caduceus/HyenaDNA and mamba-dna.
VOCAB = {"[CLS]": 0, "[SEP]": 1, "[BOS]": 2, "[MASK]": 3, "[PAD]": 4, "[RESERVED]": 5, "[UNK]": 6,
         "A": 7, "C": 8, "G": 9, "T": 10, "N": 11}
BASE_IDS = (7, 8, 9, 10)


def token_lut():
    """ASCII byte -> token id as a numpy table: A C G T (either case) 7-10, every other byte N (11)."""
    import numpy as np
    lut = np.full(256, 11, dtype=np.uint8)
    for ch, i in zip(b"ACGT", BASE_IDS):
        lut[ch] = i
        lut[ch + 32] = i
    return lut


def complement_ids():
    """Token id -> the id of its complement base (A<->T, C<->G; others unchanged), for reverse complements."""
    c = torch.arange(16)
    c[7], c[8], c[9], c[10] = 10, 9, 8, 7
    return c


@dataclass
class MambaConfig:
    d_model: int = 64
    n_layer: int = 4
    vocab_size: int = 12
    d_state: int = 16
    d_conv: int = 4
    expand: int = 2
    dt_rank: int = 4
    pad_vocab_size_multiple: int = 8
    norm_epsilon: float = 1e-5
    extra: dict = field(default_factory=dict)

    @property
    def d_inner(self):
        return self.expand * self.d_model

    @property
    def padded_vocab(self):
        m = self.pad_vocab_size_multiple
        return (self.vocab_size + m - 1) // m * m

    def to_json(self):
        """config.json as mamba_ssm's MambaConfig writes it (vocab_size unpadded)."""
        return {"d_model": self.d_model, "d_intermediate": 0, "n_layer": self.n_layer, "vocab_size": self.vocab_size,
                "ssm_cfg": {"layer": "Mamba1", "d_state": self.d_state, "d_conv": self.d_conv, "expand": self.expand,
                            "dt_rank": self.dt_rank, "bias": False, "conv_bias": True},
                "attn_layer_idx": [], "attn_cfg": {}, "rms_norm": True, "residual_in_fp32": True,
                "fused_add_norm": True, "pad_vocab_size_multiple": self.pad_vocab_size_multiple,
                "tie_embeddings": True, "norm_epsilon": self.norm_epsilon, **self.extra}

    @staticmethod
    def from_json(j):
        s = j.get("ssm_cfg", {})
        d = j["d_model"]
        dt_rank = s.get("dt_rank", "auto")
        return MambaConfig(d_model=d, n_layer=j["n_layer"], vocab_size=j["vocab_size"], d_state=s.get("d_state", 16),
                           d_conv=s.get("d_conv", 4), expand=s.get("expand", 2),
                           dt_rank=math.ceil(d / 16) if dt_rank == "auto" else dt_rank,
                           pad_vocab_size_multiple=j.get("pad_vocab_size_multiple", 8),
                           norm_epsilon=j.get("norm_epsilon", 1e-5))


def selective_scan_ref(u, delta, A, B, C):
    """Sequential scan, the definition (mamba_ssm selective_scan_ref without D, z, bias):
    h_t = exp(delta_t A) h_{t-1} + delta_t B_t u_t,  y_t = C_t . h_t.
    u, delta: (b, L, d); A: (d, n); B, C: (b, L, n). Returns y (b, L, d), fp32."""
    u, delta, B, C = u.float(), delta.float(), B.float(), C.float()
    b, L, d = u.shape
    h = u.new_zeros(b, d, A.shape[1])
    ys = []
    for t in range(L):
        h = torch.exp(delta[:, t, :, None] * A) * h + (delta[:, t] * u[:, t])[:, :, None] * B[:, t, None, :]
        ys.append((h * C[:, t, None, :]).sum(-1))
    return torch.stack(ys, 1)


def get_scan(name):
    if name == "ref":
        return selective_scan_ref
    if name == "triton":
        from scan_triton import selective_scan_triton
        return selective_scan_triton
    raise ValueError(f"unknown scan '{name}' (ref or triton)")


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        x = x.float()
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class Mixer(nn.Module):
    """mamba_ssm `Mamba` (Mamba-1), the nn.Conv1d + selective-scan branch."""

    def __init__(self, c: MambaConfig, layer_idx: int, scan):
        super().__init__()
        di, n, r = c.d_inner, c.d_state, c.dt_rank
        self.c, self.scan = c, scan
        self.in_proj = nn.Linear(c.d_model, 2 * di, bias=False)
        self.conv1d = nn.Conv1d(di, di, c.d_conv, groups=di, padding=c.d_conv - 1, bias=True)
        self.x_proj = nn.Linear(di, r + 2 * n, bias=False)
        self.dt_proj = nn.Linear(r, di, bias=True)
        self.out_proj = nn.Linear(di, c.d_model, bias=False)
        # mamba_ssm's initialisation: dt in [1e-3, 1e-1] log-uniform through the bias' inverse softplus,
        # S4D-real A = -(1..n), D = 1.
        std = r ** -0.5
        nn.init.uniform_(self.dt_proj.weight, -std, std)
        dt = torch.exp(torch.rand(di) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3)).clamp(min=1e-4)
        with torch.no_grad():
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))
        self.A_log = nn.Parameter(torch.log(torch.arange(1, n + 1, dtype=torch.float32)).repeat(di, 1).contiguous())
        self.D = nn.Parameter(torch.ones(di))

    def forward(self, h):
        L = h.shape[1]
        xz = self.in_proj(h)
        x, z = xz.chunk(2, dim=-1)
        x = self.conv1d(x.transpose(1, 2))[..., :L].transpose(1, 2)
        x = F.silu(x)
        dbc = self.x_proj(x)
        dt, B, C = torch.split(dbc, [self.c.dt_rank, self.c.d_state, self.c.d_state], dim=-1)
        # The scan runs in fp32 whatever autocast chose for the projections.
        delta = F.softplus((dt @ self.dt_proj.weight.t()).float() + self.dt_proj.bias.float())
        A = -torch.exp(self.A_log.float())
        xf = x.float()
        y = self.scan(xf.contiguous(), delta.contiguous(), A.contiguous(), B.float().contiguous(), C.float().contiguous())
        y = (y + xf * self.D.float()) * F.silu(z.float())
        return self.out_proj(y)


class Block(nn.Module):
    def __init__(self, c, i, scan):
        super().__init__()
        self.norm = RMSNorm(c.d_model, c.norm_epsilon)
        self.mixer = Mixer(c, i, scan)


class Backbone(nn.Module):
    def __init__(self, c, scan):
        super().__init__()
        self.embedding = nn.Embedding(c.padded_vocab, c.d_model)
        self.layers = nn.ModuleList(Block(c, i, scan) for i in range(c.n_layer))
        self.norm_f = RMSNorm(c.d_model, c.norm_epsilon)

    def forward(self, ids):
        hidden = self.embedding(ids)
        residual = None
        for blk in self.layers:
            # fused_add_norm with residual_in_fp32: residual = hidden + residual in fp32, the mixer reads norm(residual).
            residual = hidden.float() if residual is None else residual + hidden.float()
            hidden = blk.mixer(blk.norm(residual))
        residual = residual + hidden.float()
        return self.norm_f(residual)


class MambaLM(nn.Module):
    def __init__(self, c: MambaConfig, scan="triton"):
        super().__init__()
        self.config = c
        self.backbone = Backbone(c, get_scan(scan) if isinstance(scan, str) else scan)
        self.lm_head = nn.Linear(c.d_model, c.padded_vocab, bias=False)
        self.lm_head.weight = self.backbone.embedding.weight
        nn.init.normal_(self.backbone.embedding.weight, std=0.02)
        # GPT-2 style rescale of the residual branch outputs, as mamba_ssm's _init_weights does.
        for blk in self.backbone.layers:
            nn.init.kaiming_uniform_(blk.mixer.out_proj.weight, a=math.sqrt(5))
            with torch.no_grad():
                blk.mixer.out_proj.weight /= math.sqrt(c.n_layer)

    def set_scan(self, scan):
        fn = get_scan(scan) if isinstance(scan, str) else scan
        for blk in self.backbone.layers:
            blk.mixer.scan = fn

    def hidden_states(self, ids):
        return self.backbone(ids)

    def forward(self, ids):
        h = self.backbone(ids)
        return self.lm_head(h)

    def export_state(self):
        """fp32 tensors under mamba_ssm's names, lm_head.weight included (as its save_pretrained does)."""
        sd = {k: v.detach().float().cpu().contiguous() for k, v in self.state_dict().items()}
        sd["lm_head.weight"] = sd["backbone.embedding.weight"].clone()
        return sd


def save_hub_dir(model: MambaLM, out_dir, extra_config=None):
    """config.json + model.safetensors (+ the character tokenizer files mamba-dna's model dirs carry)."""
    import os
    from safetensors.torch import save_file
    os.makedirs(out_dir, exist_ok=True)
    cfg = model.config.to_json()
    if extra_config:
        cfg.update(extra_config)
    tmp = os.path.join(out_dir, ".model.safetensors.tmp")
    save_file(model.export_state(), tmp, metadata={"format": "pt"})
    os.chmod(tmp, 0o644)
    os.replace(tmp, os.path.join(out_dir, "model.safetensors"))
    write_json(os.path.join(out_dir, "config.json"), cfg)
    write_json(os.path.join(out_dir, "vocab.json"), VOCAB)
    write_json(os.path.join(out_dir, "tokenizer_config.json"), {
        "add_special_tokens": False, "bos_token": "[BOS]", "characters": ["A", "C", "G", "T", "N"],
        "cls_token": "[CLS]", "mask_token": "[MASK]", "model_max_length": 1000000, "pad_token": "[PAD]",
        "padding_side": "left", "sep_token": "[SEP]", "tokenizer_class": "CharacterTokenizer", "unk_token": "[UNK]"})


def write_json(path, obj):
    import os
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def load_hub_dir(directory, scan="ref"):
    """A model directory written by save_hub_dir (or mamba_ssm), fp32."""
    import os
    from safetensors.torch import load_file
    with open(os.path.join(directory, "config.json")) as f:
        c = MambaConfig.from_json(json.load(f))
    m = MambaLM(c, scan=scan)
    # A classifier directory (finetune.py) carries its head beside the backbone: the backbone is what loads here.
    sd = {k: v for k, v in load_file(os.path.join(directory, "model.safetensors")).items()
          if not k.startswith("classifier.")}
    missing = set(m.state_dict()) - set(sd)
    if missing:
        raise SystemExit(f"{directory}: model.safetensors lacks {sorted(missing)[0]}")
    m.load_state_dict(sd, strict=True)
    return m


def encode(seq: str):
    """DNA string -> token ids (lowercase as uppercase, other IUPAC codes as N)."""
    table = {"A": 7, "C": 8, "G": 9, "T": 10}
    return [table.get(ch, 11) for ch in seq.upper()]
