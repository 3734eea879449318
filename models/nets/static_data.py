"""Static (memoryless) nonlinearity data and a plain sample-wise training loop.

``piecewise_linear`` is the seed's LACTOSE test function: five linear pieces
with breakpoints at -0.5, -0.25, 0.25 and 0.5, continuous, slope 1 in the middle
and 0.5 then 0.25 outwards (a soft clipper made of straight lines).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

PIECEWISE_BREAKPOINTS = (-0.5, -0.25, 0.25, 0.5)


def piecewise_linear(x: np.ndarray) -> np.ndarray:
    """y = 0.25x - 0.25 (x <= -0.5); 0.5x - 0.125 (<= -0.25); x (<= 0.25);
    0.5x + 0.125 (<= 0.5); 0.25x + 0.25 (x > 0.5)."""
    x = np.asarray(x)
    conditions = [x <= -0.5, x <= -0.25, x <= 0.25, x <= 0.5]
    choices = [0.25 * x - 0.25, 0.5 * x - 0.125, x, 0.5 * x + 0.125]
    return np.select(conditions, choices, 0.25 * x + 0.25)


def make_dataset(n: int, seed: int = 0, low: float = -1.0, high: float = 1.0,
                 test_fraction: float = 0.2) -> tuple[np.ndarray, ...]:
    """x uniform in [low, high], y = piecewise_linear(x), float32; returns
    (x_train, y_train, x_test, y_test), split in order (the first 80% train)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(low, high, n).astype(np.float32)
    y = piecewise_linear(x.astype(np.float64)).astype(np.float32)
    cut = round(n * (1.0 - test_fraction))
    return x[:cut], y[:cut], x[cut:], y[cut:]


def fit(net: nn.Module, x: np.ndarray, y: np.ndarray, *, epochs: int = 10, batch: int = 1024,
        lr: float = 1e-2, seed: int = 0, final_lr: float = 1e-4,
        log=None) -> list[float]:
    """Adam on MSE over shuffled mini-batches, the learning rate decaying geometrically from
    ``lr`` to ``final_lr``. ``x``: (N,) or (N, inputs); ``y``: (N,). Returns per-epoch
    training losses. ``log(epoch, loss)`` is called after each epoch when given."""
    generator = torch.Generator().manual_seed(seed)
    xt = torch.as_tensor(np.asarray(x, np.float32))
    if xt.ndim == 1:
        xt = xt[:, None]
    yt = torch.as_tensor(np.asarray(y, np.float32))[:, None]
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    steps = epochs * ((len(xt) + batch - 1) // batch)
    gamma = (final_lr / lr) ** (1.0 / max(1, steps))
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma)
    loss_fn = nn.MSELoss()
    history = []
    net.train()
    for epoch in range(epochs):
        order = torch.randperm(len(xt), generator=generator)
        total = 0.0
        for start in range(0, len(xt), batch):
            idx = order[start:start + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        history.append(total / len(xt))
        if log is not None:
            log(epoch, history[-1])
    net.eval()
    return history
