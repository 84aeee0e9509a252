"""A user's own training script, instrumented as docs/walkthrough.md says: a small transformer learns
(a + b) mod p; every `--probe-every` steps a fixed probe set of 1024 sequences goes through the model
with the phasewatch probe (docs/pytorch.md, "Probe or live"). numpy and torch only; CPU.

    python3 modular_addition.py --spool /tmp/spool --run my-run --steps 300
"""

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from phasewatch_spool import SpoolWriter  # noqa: E402


class Net(torch.nn.Module):
    """Token and position embeddings, `depth` pre-norm transformer blocks, a final norm, a head."""

    def __init__(self, vocab, d=128, depth=2, heads=4, seq=3):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, d)
        self.pos = torch.nn.Parameter(torch.randn(seq, d) * 0.02)
        layer = lambda: torch.nn.TransformerEncoderLayer(d, heads, 4 * d, dropout=0.0, batch_first=True, norm_first=True)
        self.blocks = torch.nn.ModuleList([layer() for _ in range(depth)])
        self.norm = torch.nn.LayerNorm(d)
        self.head = torch.nn.Linear(d, vocab)

    def forward(self, tokens):
        x = self.embed(tokens) + self.pos[: tokens.shape[1]]
        for block in self.blocks:
            x = block(x)
        return self.norm(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spool", required=True)
    ap.add_argument("--run", default="my-run")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--probe-every", type=int, default=20)
    ap.add_argument("--p", type=int, default=97)
    args = ap.parse_args()

    torch.manual_seed(0)
    torch.set_num_threads(1)
    p, steps = args.p, args.steps
    vocab = p + 1  # the numbers and an "=" token
    model = Net(vocab)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1.0)
    pairs = torch.cartesian_prod(torch.arange(p), torch.arange(p))
    data = torch.cat([pairs, torch.full((len(pairs), 1), p)], dim=1)  # "a b ="
    labels = (pairs[:, 0] + pairs[:, 1]) % p
    gen = torch.Generator().manual_seed(1)

    def train_step(step):
        idx = torch.randint(0, len(data), (256,), generator=gen)
        logits = model.head(model(data[idx])[:, -1])
        loss = torch.nn.functional.cross_entropy(logits, labels[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % args.probe_every == 0:
            print(f"step {step} loss {loss.item():.4f}", flush=True)

    # --- phasewatch: the probe example of docs/pytorch.md ---
    spool = SpoolWriter(args.spool, run=args.run)
    spool.hook({"final_norm": model.norm, "blocks.1": model.blocks[1]}, enabled=lambda: False)
    probe = torch.randint(0, vocab, (1024, 3), generator=torch.Generator().manual_seed(0))  # fixed, N = 1024

    for step in range(1, steps + 1):
        train_step(step)
        if step % args.probe_every == 0:
            model.eval()
            with spool.probe(step):
                for batch in probe.split(256):
                    model(batch)
            model.train()
    print(f"done: {spool.written} files written, {spool.skipped} skipped", flush=True)


if __name__ == "__main__":
    main()
