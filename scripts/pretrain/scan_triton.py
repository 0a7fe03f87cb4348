"""Selective scan (Mamba-1) for the GPU in Triton, forward and backward, as a torch.autograd.Function.

Usage (library):
    from scan_triton import selective_scan_triton
    y = selective_scan_triton(u, delta, A, B, C)   # u, delta (b, L, d); A (d, n); B, C (b, L, n); fp32

Computes h_t = exp(delta_t A) h_{t-1} + delta_t B_t u_t, y_t = C_t . h_t (D, z and the softplus stay in PyTorch).
One Triton program owns one sequence and BLOCK_D channels and walks the sequence in order, the (BLOCK_D, n) state in
registers; batch x channel blocks give the parallelism, so the kernels suit many short sequences (reads, 256-1024
bases). The forward pass stores every state h_t when a gradient is needed (b*L*d*n fp32: 1 GiB per layer for 128 Ki
tokens at d 128, n 16); the backward pass walks the sequence in reverse with dL/dh in registers and reads h_{t-1}
back instead of recomputing it. Gradients of B and C, shared by all channels, are written per channel block and summed
in PyTorch (no atomics, so results are deterministic).
Runs under TRITON_INTERPRET=1 on a CPU for tests (slowly).
"""
import torch
import triton
import triton.language as tl


@triton.jit
def _scan_fwd(u_ptr, dt_ptr, A_ptr, B_ptr, C_ptr, y_ptr, hs_ptr, L, D,
              N: tl.constexpr, BLOCK_D: tl.constexpr, SAVE: tl.constexpr):
    b = tl.program_id(0)
    pd = tl.program_id(1)
    offs_d = pd * BLOCK_D + tl.arange(0, BLOCK_D)
    offs_n = tl.arange(0, N)
    mask_d = offs_d < D
    A = tl.load(A_ptr + offs_d[:, None] * N + offs_n[None, :], mask=mask_d[:, None], other=0.0)
    h = tl.zeros((BLOCK_D, N), dtype=tl.float32)
    for t in tl.range(0, L):
        row = b * L + t
        u = tl.load(u_ptr + row * D + offs_d, mask=mask_d, other=0.0)
        dt = tl.load(dt_ptr + row * D + offs_d, mask=mask_d, other=0.0)
        Bt = tl.load(B_ptr + row * N + offs_n)
        Ct = tl.load(C_ptr + row * N + offs_n)
        h = tl.exp(dt[:, None] * A) * h + (dt * u)[:, None] * Bt[None, :]
        y = tl.sum(h * Ct[None, :], axis=1)
        tl.store(y_ptr + row * D + offs_d, y, mask=mask_d)
        if SAVE:
            tl.store(hs_ptr + (row * D + offs_d[:, None]) * N + offs_n[None, :], h, mask=mask_d[:, None])


@triton.jit
def _scan_bwd(u_ptr, dt_ptr, A_ptr, B_ptr, C_ptr, hs_ptr, dy_ptr,
              du_ptr, ddt_ptr, dA_ptr, dB_ptr, dC_ptr, L, D, NDB,
              N: tl.constexpr, BLOCK_D: tl.constexpr):
    b = tl.program_id(0)
    pd = tl.program_id(1)
    offs_d = pd * BLOCK_D + tl.arange(0, BLOCK_D)
    offs_n = tl.arange(0, N)
    mask_d = offs_d < D
    m2 = mask_d[:, None]
    A = tl.load(A_ptr + offs_d[:, None] * N + offs_n[None, :], mask=m2, other=0.0)
    dh = tl.zeros((BLOCK_D, N), dtype=tl.float32)
    dA = tl.zeros((BLOCK_D, N), dtype=tl.float32)
    for i in tl.range(0, L):
        t = L - 1 - i
        row = b * L + t
        u = tl.load(u_ptr + row * D + offs_d, mask=mask_d, other=0.0)
        dt = tl.load(dt_ptr + row * D + offs_d, mask=mask_d, other=0.0)
        dy = tl.load(dy_ptr + row * D + offs_d, mask=mask_d, other=0.0)
        Bt = tl.load(B_ptr + row * N + offs_n)
        Ct = tl.load(C_ptr + row * N + offs_n)
        h = tl.load(hs_ptr + (row * D + offs_d[:, None]) * N + offs_n[None, :], mask=m2, other=0.0)
        hprev = tl.load(hs_ptr + ((row - 1) * D + offs_d[:, None]) * N + offs_n[None, :], mask=m2 & (t > 0), other=0.0)
        # y_t = C_t . h_t
        dh += dy[:, None] * Ct[None, :]
        dC = tl.sum(dy[:, None] * h, axis=0)
        # h_t = exp(dt A) h_{t-1} + (dt u) B_t
        decay = tl.exp(dt[:, None] * A)
        g = dh * hprev * decay                      # dL/d(dt*A) elementwise
        dA += g * dt[:, None]
        dtu = tl.sum(dh * Bt[None, :], axis=1)       # dL/d(dt*u)
        ddt = tl.sum(g * A, axis=1) + dtu * u
        du = dtu * dt
        dB = tl.sum(dh * (dt * u)[:, None], axis=0)
        dh = dh * decay
        tl.store(du_ptr + row * D + offs_d, du, mask=mask_d)
        tl.store(ddt_ptr + row * D + offs_d, ddt, mask=mask_d)
        part = (b * NDB + pd) * L + t
        tl.store(dB_ptr + part * N + offs_n, dB)
        tl.store(dC_ptr + part * N + offs_n, dC)
    tl.store(dA_ptr + ((b * D) + offs_d[:, None]) * N + offs_n[None, :], dA, mask=m2)


# Channels per program and warps per program; bench.py sweeps them, train.py takes --scan-block-d/--scan-warps.
CONFIG = {"block_d": 16, "num_warps": 2}


def set_config(block_d=None, num_warps=None):
    if block_d:
        CONFIG["block_d"] = block_d
    if num_warps:
        CONFIG["num_warps"] = num_warps


class _SelectiveScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, u, delta, A, B, C):
        b, L, d = u.shape
        n = A.shape[1]
        assert n & (n - 1) == 0, "d_state must be a power of two"
        y = torch.empty_like(u)
        save = ctx.needs_input_grad[0] or any(ctx.needs_input_grad[1:])
        hs = torch.empty(b, L, d, n, device=u.device, dtype=torch.float32) if save else y
        bd, nw = CONFIG["block_d"], CONFIG["num_warps"]
        grid = (b, triton.cdiv(d, bd))
        _scan_fwd[grid](u, delta, A, B, C, y, hs, L, d, N=n, BLOCK_D=bd, SAVE=save, num_warps=nw)
        ctx.block = (bd, nw)
        if save:
            ctx.save_for_backward(u, delta, A, B, C, hs)
        return y

    @staticmethod
    def backward(ctx, dy):
        u, delta, A, B, C, hs = ctx.saved_tensors
        b, L, d = u.shape
        n = A.shape[1]
        bd, nw = ctx.block
        ndb = triton.cdiv(d, bd)
        dy = dy.float().contiguous()
        du = torch.empty_like(u)
        ddt = torch.empty_like(delta)
        dA = torch.empty(b, d, n, device=u.device, dtype=torch.float32)
        dBp = torch.empty(b, ndb, L, n, device=u.device, dtype=torch.float32)
        dCp = torch.empty(b, ndb, L, n, device=u.device, dtype=torch.float32)
        _scan_bwd[(b, ndb)](u, delta, A, B, C, hs, dy, du, ddt, dA, dBp, dCp, L, d, ndb, N=n, BLOCK_D=bd,
                            num_warps=nw)
        return du, ddt, dA.sum(0), dBp.sum(1), dCp.sum(1)


def selective_scan_triton(u, delta, A, B, C):
    return _SelectiveScan.apply(u.float().contiguous(), delta.float().contiguous(), A.float().contiguous(),
                                B.float().contiguous(), C.float().contiguous())
