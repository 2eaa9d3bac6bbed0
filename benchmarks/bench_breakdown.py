"""Where a training step's time goes, for the two targets bench_engine.py does not reach
(W3 at 3x PyTorch, W5 at 1.5x the time of one model).

    .venv/bin/python benchmarks/bench_breakdown.py        # W3 needs torch: .venv/bin/pip install torch==2.13.0

W3 (digits 64-100-100-10, batch 128), in float64 and in float32: one explorer step against its eight matrix
products alone (the same products on the same buffers, nothing else), and one PyTorch eager step of the same
network in the same float type. If the products alone take more than a third of torch's step, 3x torch is out
of reach whatever the rest costs.

W5 (the three-layer network 2-10-5-1, 300 points): one step of one model, and of four models packed
block-diagonally and stacked (K, n, m), with each matrix product of the step timed on its own.

Every figure is the best of 5 timings of many steps (microseconds per step), on one BLAS thread.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from explorer import datasets  # noqa: E402
from explorer.network import Network  # noqa: E402
from explorer.training import Trainer  # noqa: E402


def best_us(action, repeats: int, tries: int = 5) -> float:
    """Microseconds per call of `action`, the best of `tries` timings of `repeats` calls."""
    best = float("inf")
    for _ in range(tries):
        start = time.perf_counter()
        for _ in range(repeats):
            action()
        best = min(best, (time.perf_counter() - start) / repeats)
    return best * 1e6


def trainer_step(trainer: Trainer):
    def step():
        _, bwd, _ = trainer.forward_backward(trainer.next_batch())
        trainer.update(bwd)
    return step


def products(net: Network, trainer: Trainer) -> dict[str, callable]:
    """Each matrix product of one step, on the trainer's own buffers: Z = [W, b][A; 1], [dW, db] = dZ [A; 1]^T,
    dA = W^T dZ."""
    ws = trainer.workspace(trainer.next_batch())
    calls = {}
    for l in range(net.L):
        calls[f"Z{l + 1}"] = lambda l=l: net.product(net.weights[l], ws.reads[l], out=ws.Z[l])
        calls[f"dW{l + 1}"] = lambda l=l: net.product(ws.dZ[l], ws.reads_T[l], out=ws.grad_blocks[l])
        if l:
            calls[f"dA{l}"] = lambda l=l: net.product(net.weights_W_T[l], ws.dZ[l], out=ws.dA[l - 1])
    return calls


def w3(dtype: str = "float64", steps: int = 300) -> None:
    digits = datasets.digits()
    net = Network([64, 100, 100, 10], hidden="relu", output="softmax", init="he_normal", seed=0, dtype=dtype)
    trainer = Trainer(net, digits.X / 16, digits.y, lr=0.1, batch_size=128, seed=0)
    calls = products(net, trainer)
    step = best_us(trainer_step(trainer), steps)
    product_time = best_us(lambda: [call() for call in calls.values()], steps)
    layers = list(zip(net.sizes[:-1], net.sizes[1:], strict=True))
    macs = sum(2 * n_out * (n_in + 1) for n_in, n_out in layers)  # Z and [dW, db] of every layer
    macs += sum(n_out * n_in for n_in, n_out in layers[1:])  # dA of every layer but the first
    flops = 2 * 128 * macs
    line = (f"W3 {dtype}: explorer step {step:.0f} us, of which its {len(calls)} matrix products alone "
            f"{product_time:.0f} us ({flops / product_time / 1e3:.1f} GFLOP/s)")
    try:
        import torch
    except ImportError:
        print(line + "; torch not installed")
        return
    torch.set_num_threads(1)
    Ws = [torch.tensor(np.array(w[0]), requires_grad=True) for w in net.W]
    bs = [torch.tensor(np.array(b[0]), requires_grad=True) for b in net.b]
    X, Y = torch.tensor((digits.X / 16).astype(dtype)), torch.tensor(digits.y)
    batch = torch.arange(128)
    optimizer = torch.optim.SGD(Ws + bs, lr=0.1)

    def torch_step():
        optimizer.zero_grad(set_to_none=True)
        a = X[batch]
        for l in range(3):
            a = torch.nn.functional.linear(a, Ws[l], bs[l])
            a = torch.relu(a) if l < 2 else a
        torch.nn.functional.cross_entropy(a, Y[batch]).backward()
        optimizer.step()

    torch_time = best_us(torch_step, steps)
    side = "below" if torch_time / 3 < product_time else "above"
    print(f"{line}; torch step {torch_time:.0f} us ({torch_time / step:.2f}x explorer's). 3x torch would need a "
          f"step of {torch_time / 3:.0f} us: {side} the products alone")


def w5(steps: int = 3000) -> None:
    data = datasets.toy("circles", n=300, noise=0.1, seed=0)
    one = None
    for K, layout in ((1, "packed"), (4, "packed"), (4, "stacked")):
        net = Network([2, 10, 5, 1], hidden="relu", output="sigmoid", init="he_normal", seed=list(range(K)),
                      layout=layout)
        trainer = Trainer(net, data.X, data.y, lr=0.1)
        step = best_us(trainer_step(trainer), steps)
        one = one or step
        each = {name: best_us(call, steps) for name, call in products(net, trainer).items()}
        print(f"W5 K={K} {layout:7s}: step {step:5.1f} us ({step / one:.2f}x one model); products "
              f"{sum(each.values()):5.1f} us: " + ", ".join(f"{name} {us:.1f}" for name, us in each.items()))


if __name__ == "__main__":
    with threadpool_limits(1):
        w3("float64")
        w3("float32")
        w5()
