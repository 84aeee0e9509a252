"""Trains a tiny causal language model on synthetic tokens with the phasewatch spool helper hooked
in. numpy and torch only; runs in seconds on one CPU thread.

    python3 train_tiny.py --spool /tmp/spool --run tiny --steps 40 --every 5
"""

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from phasewatch_spool import SpoolWriter  # noqa: E402


class Block(torch.nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.ln1 = torch.nn.LayerNorm(d)
        self.attn = torch.nn.MultiheadAttention(d, heads, batch_first=True)
        self.ln2 = torch.nn.LayerNorm(d)
        self.mlp = torch.nn.Sequential(torch.nn.Linear(d, 4 * d), torch.nn.GELU(), torch.nn.Linear(4 * d, d))

    def forward(self, x):
        t = x.shape[1]
        causal = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
        h = self.ln1(x)
        x = x + self.attn(h, h, h, attn_mask=causal, need_weights=False)[0]
        return x + self.mlp(self.ln2(x))


class TinyLM(torch.nn.Module):
    def __init__(self, vocab, d, layers, heads, seq):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, d)
        self.pos = torch.nn.Parameter(torch.zeros(seq, d))
        self.layers = torch.nn.ModuleList([Block(d, heads) for _ in range(layers)])
        self.norm = torch.nn.LayerNorm(d)
        self.head = torch.nn.Linear(d, vocab)

    def forward(self, tokens):
        x = self.embed(tokens) + self.pos[: tokens.shape[1]]
        for layer in self.layers:
            x = layer(x)
        return self.head(self.norm(x))


def batch(gen, vocab, batch_size, seq):
    # A learnable toy language: each token is the previous one plus a small random step.
    start = torch.randint(0, vocab, (batch_size, 1), generator=gen)
    steps = torch.randint(1, 3, (batch_size, seq), generator=gen)
    return (start + steps.cumsum(dim=1)) % vocab


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--spool", required=True)
    p.add_argument("--run", default="tiny")
    p.add_argument("--stage", default="pretrain")
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--every", type=int, default=5, help="sample and flush every N steps")
    p.add_argument("--rows", type=int, default=32)
    p.add_argument("--d", type=int, default=32)
    args = p.parse_args()

    torch.manual_seed(0)
    torch.set_num_threads(1)
    vocab, seq, bs = 64, 16, 32
    model = TinyLM(vocab, args.d, layers=2, heads=4, seq=seq)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(1)

    spool = SpoolWriter(args.spool, run=args.run, stage=args.stage)
    sampling = {"on": False}
    spool.hook(
        {"layers.0": model.layers[0], "layers.1": model.layers[1], "norm": model.norm},
        rows=args.rows,
        enabled=lambda: sampling["on"],
    )
    tokens_seen = 0
    for step in range(1, args.steps + 1):
        x = batch(gen, vocab, bs, seq + 1)
        tokens_seen += bs * seq
        sampling["on"] = step % args.every == 0
        spool.set_step(step, tokens=tokens_seen)
        logits = model(x[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), x[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if sampling["on"]:
            spool.flush()
            print(f"step {step} loss {loss.item():.4f} files {spool.written}", flush=True)
    print(f"done: {spool.written} files written, {spool.skipped} skipped", flush=True)


if __name__ == "__main__":
    main()
