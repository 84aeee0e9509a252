"""Write sampled hidden states of a PyTorch model into a phasewatch spool folder.

Usage (see docs/pytorch.md):

    spool = SpoolWriter("/spool", run="exp7", stage="pretrain", rank=0, world=1)
    hooks = spool.hook(model, {"final_norm": model.norm, "layers.5": model.layers[5]}, rows=64)
    ... train; call spool.step = step each step (or spool.set_step(step)) ...
    spool.flush()   # writes the rows gathered since the last flush, one .npy per layer

Rows are the hidden state of the last position of each sequence (or `positions="random"` for random
token positions), copied to the CPU as float32. Files are written under a name starting with "." and
renamed, so the sidecar only ever sees complete files. numpy and torch only.
"""

import os
import urllib.parse

import numpy as np
import torch


def spool_name(run, stage, rank, world, layer, step):
    q = lambda v: urllib.parse.quote(str(v), safe="-._~")
    return f"run={q(run)},stage={q(stage)},rank={rank},world={world},layer={q(layer)},step={int(step)}.npy"


class SpoolWriter:
    def __init__(self, folder, run, stage="pretrain", rank=0, world=1, max_bytes=1 << 30, seed=0):
        self.folder, self.run, self.stage, self.rank, self.world = folder, run, stage, rank, world
        self.max_bytes = max_bytes
        self.step = 0
        self.skipped = 0  # writes skipped because the spool was over max_bytes
        self._rows = {}
        self._rng = torch.Generator().manual_seed(seed)
        os.makedirs(folder, exist_ok=True)

    def set_step(self, step):
        self.step = int(step)

    def hook(self, model, modules, rows=64, positions="last", enabled=lambda: True):
        """Registers forward hooks on named modules; returns the handles (call .remove() to detach)."""
        handles = []
        for name, module in modules.items():
            handles.append(module.register_forward_hook(self._make_hook(name, rows, positions, enabled)))
        return handles

    def _make_hook(self, name, rows, positions, enabled):
        def hook(_module, _inputs, output):
            if not enabled():
                return
            h = output[0] if isinstance(output, (tuple, list)) else output
            with torch.no_grad():
                h = h.detach()
                if h.dim() == 3:  # (batch, time, d)
                    if positions == "last":
                        h = h[:, -1, :]
                    else:
                        h = h.reshape(-1, h.shape[-1])
                        pick = torch.randperm(h.shape[0], generator=self._rng)[:rows]
                        h = h[pick.to(h.device)]
                h = h[:rows].float().cpu().numpy()
            self._rows.setdefault(name, []).append(h)

        return hook

    def add(self, layer, rows):
        """Adds rows (N x d array or tensor) for a layer by hand, e.g. from output_hidden_states."""
        if isinstance(rows, torch.Tensor):
            rows = rows.detach().float().cpu().numpy()
        self._rows.setdefault(layer, []).append(np.asarray(rows, dtype=np.float32))

    def flush(self):
        """Writes one file per layer with the rows gathered since the last flush."""
        pending = sum(e.stat().st_size for e in os.scandir(self.folder) if e.is_file())
        for layer, chunks in self._rows.items():
            matrix = np.ascontiguousarray(np.concatenate(chunks, axis=0), dtype="<f4")
            if pending + matrix.nbytes > self.max_bytes:
                self.skipped += 1
                continue
            name = spool_name(self.run, self.stage, self.rank, self.world, layer, self.step)
            tmp = os.path.join(self.folder, "." + name + ".tmp")
            with open(tmp, "wb") as f:
                np.save(f, matrix)
            os.replace(tmp, os.path.join(self.folder, name))
            pending += matrix.nbytes
        self._rows = {}
