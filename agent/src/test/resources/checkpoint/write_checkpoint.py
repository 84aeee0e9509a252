"""Writes a tiny TorchScript model as a checkpoint, atomically, and the hidden states it gives.

usage: write_checkpoint.py DIR STEP SEED PROBE_TXT EXPECTED_JSON

The module maps tokens (N, T) to (logits, hidden) from forward, to a dict of both layers' states
from the exported method hidden_states, and to (logits, [h0, h1]) from the exported method nested. The checkpoint is written under a hidden temporary
name in DIR and renamed to step=STEP.pt. EXPECTED_JSON gets, per output name, the mean of the
last-token rows of the probe sequences in PROBE_TXT (one line of token ids per sequence), computed
here with torch alone: the reference the watcher's snapshots are checked against.
"""
import json
import os
import sys
from typing import Dict, List, Tuple

import torch


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(50, 16)
        self.l0 = torch.nn.Linear(16, 16)
        self.l1 = torch.nn.Linear(16, 12)
        self.head = torch.nn.Linear(12, 50)

    def states(self, tokens: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        h0 = torch.tanh(self.l0(self.emb(tokens)))
        h1 = torch.tanh(self.l1(h0))
        return h0, h1

    def forward(self, tokens: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        h0, h1 = self.states(tokens)
        return self.head(h1), h1

    @torch.jit.export
    def hidden_states(self, tokens: torch.Tensor) -> Dict[str, torch.Tensor]:
        h0, h1 = self.states(tokens)
        return {"layers.0": h0, "layers.1": h1}

    @torch.jit.export
    def nested(self, tokens: torch.Tensor) -> Tuple[torch.Tensor, List[torch.Tensor]]:
        h0, h1 = self.states(tokens)
        return self.head(h1), [h0, h1]


def main():
    out_dir, step, seed, probe_txt, expected_json = sys.argv[1:]
    torch.manual_seed(int(seed))
    model = torch.jit.script(Tiny().eval())
    tmp = os.path.join(out_dir, ".step=%s.pt.tmp" % step)
    model.save(tmp)
    os.rename(tmp, os.path.join(out_dir, "step=%s.pt" % step))

    lines = [l for l in open(probe_txt) if l.strip() and not l.lstrip().startswith("#")]
    seqs = [[int(t) for t in line.split()] for line in lines]
    expected = {}
    with torch.no_grad():
        rows = {"0": [], "1": [], "layers.0": [], "layers.1": []}
        for s in seqs:
            x = torch.tensor([s], dtype=torch.int64)
            logits, h1 = model(x)
            states = model.hidden_states(x)
            rows["0"].append(logits[0, -1])
            rows["1"].append(h1[0, -1])
            rows["layers.0"].append(states["layers.0"][0, -1])
            rows["layers.1"].append(states["layers.1"][0, -1])
        for name, r in rows.items():
            expected[name] = torch.stack(r).double().mean(0).tolist()
    with open(expected_json, "w") as f:
        json.dump(expected, f)


if __name__ == "__main__":
    main()
