#!/usr/bin/env python3
"""Records the geometry of a grokking run (modular addition) as a phase-detector test fixture.

A one-layer pre-LN transformer (d = 128, 4 heads, MLP 4d) learns a + b mod p from the inputs
"a b =" (answer at the last position), trained on half of the p^2 pairs with AdamW (lr 1e-3, betas
(0.9, 0.98), weight decay 1.0, batch 512, 10-step linear warmup): the setting in which memorisation
comes first and generalisation much later. Every `--cadence` steps a fixed probe of 1024 pairs runs
through the model (no gradient, no random numbers drawn, so probing does not change the training);
for the last-position hidden state after the block (`block.out`) and after the final norm
(`final_norm`) it records RankMe and alpha exactly as docs/spectrum.md defines them (centred
covariance eigenvalues; RankMe with eps 1e-7; alpha by weighted least squares, weights 1/i, ranks
12..100), plus the train and held-out accuracy over all pairs every 50 steps (blank in between).

`--skew s` draws each batch's pairs with weight 1/(1 + a)^s on the first operand (Zipf-skewed data,
which the study ties to the warmup collapse); 0 draws them uniformly.

Because the probe does not touch the trainer's random state, taking every 5th (20th) row of a
cadence-10 recording gives exactly what a cadence-50 (200) probe would have recorded.

Run from the repository root (Debian's PyTorch 1.13, CPU, one thread):
  OMP_NUM_THREADS=1 /usr/bin/python3 scripts/record_grokking_series.py --steps 3000 --cadence 10 \
      --out collector/src/test/resources/phase/grokking-p59.csv
"""
import argparse
import math
import sys
import time

import numpy as np
import torch
from torch import nn

EPS = 1e-7
# Accuracy over all p^2 pairs costs three probe passes: measured every 50 steps (blank between).
ACCURACY_EVERY = 50


class Block(nn.Module):
    """A pre-LN transformer block evaluated at the last position only: with one layer nothing else
    is read, so attention needs only the last query (over all three keys) and the MLP only the last
    row; the result equals the full block's last row at a third of the cost."""

    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d)
        self.q = nn.Linear(d, d)
        self.kv = nn.Linear(d, 2 * d)
        self.o = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x):
        n, t, d = x.shape
        hd = d // self.heads
        h = self.ln1(x)
        q = self.q(h[:, -1]).view(n, self.heads, 1, hd)
        k, v = self.kv(h).view(n, t, 2, self.heads, hd).permute(2, 0, 3, 1, 4)
        w = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd), dim=-1)
        last = x[:, -1] + self.o((w @ v).reshape(n, d))
        return last + self.mlp(self.ln2(last))


class Model(nn.Module):
    def __init__(self, vocab, d, heads, seq):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(torch.randn(seq, d) * 0.02)
        self.block = Block(d, heads)
        self.ln_f = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)

    def forward(self, x):
        block_out = self.block(self.tok(x) + self.pos)
        final = self.ln_f(block_out)
        return self.head(final), {"block.out": block_out, "final_norm": final}


def measures(z):
    """RankMe and alpha of the centred covariance of the rows of z (float64, as the collector)."""
    z = z.double().numpy()
    lam = np.linalg.eigvalsh(np.cov(z, rowvar=False, ddof=1))[::-1]
    lam = np.clip(lam, 0.0, None)
    p = lam / np.sum(np.abs(lam)) + EPS
    rankme = float(np.exp(-np.sum(p * np.log(p))))
    i = np.arange(12, 101, dtype=np.float64)
    y = np.log(lam[11:100])
    sw = np.sqrt(1.0 / i)
    a = np.stack([-np.log(i), np.ones_like(i)], axis=1)
    coef, *_ = np.linalg.lstsq(a * sw[:, None], y * sw, rcond=None)
    return rankme, float(coef[0])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--p", type=int, default=59)
    ap.add_argument("--d", type=int, default=128)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--cadence", type=int, default=10)
    ap.add_argument("--skew", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    gen = np.random.default_rng(args.seed)

    p = args.p
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    a, b = a.ravel(), b.ravel()
    inputs = torch.tensor(np.stack([a, b, np.full_like(a, p)], axis=1), dtype=torch.long)
    labels = torch.tensor((a + b) % p, dtype=torch.long)
    order = gen.permutation(p * p)
    train, test = order[: p * p // 2], order[p * p // 2 :]
    weights = 1.0 / (1.0 + a[train]) ** args.skew
    weights /= weights.sum()
    probe = torch.tensor(gen.choice(p * p, size=1024, replace=False), dtype=torch.long)

    model = Model(p + 1, args.d, 4, 3)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.98), weight_decay=1.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 10))
    loss_fn = nn.CrossEntropyLoss()
    train_t, test_t = torch.tensor(train), torch.tensor(test)

    started = time.process_time()
    with open(args.out, "w") as out:
        out.write("step,layer,effective_rank,alpha,train_accuracy,test_accuracy\n")
        for step in range(args.steps + 1):
            if step % args.cadence == 0:
                accuracy = ","
                with torch.no_grad():
                    if step % ACCURACY_EVERY == 0:
                        logits, all_states = model(inputs)
                        right = (logits.argmax(-1) == labels).float()
                        train_acc = right[train_t].mean().item()
                        test_acc = right[test_t].mean().item()
                        accuracy = f"{train_acc:.4f},{test_acc:.4f}"
                        states = {k: v[probe] for k, v in all_states.items()}
                    else:
                        _, states = model(inputs[probe])
                for layer in ("block.out", "final_norm"):
                    rank, alpha = measures(states[layer])
                    out.write(f"{step},{layer},{rank:.4f},{alpha:.4f},{accuracy}\n")
                out.flush()
                if step % 500 == 0:
                    print(f"step {step} accuracy {accuracy} rank {rank:.2f} alpha {alpha:.3f} "
                          f"cpu {time.process_time() - started:.0f}s", file=sys.stderr)
            if step == args.steps:
                break
            idx = torch.tensor(gen.choice(train, size=512, p=weights))
            logits, _ = model(inputs[idx])
            loss = loss_fn(logits, labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()


if __name__ == "__main__":
    main()
