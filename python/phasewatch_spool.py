"""Write sampled hidden states of a PyTorch model into a phasewatch spool folder.

Usage (see docs/pytorch.md):

    spool = SpoolWriter("/spool", run="exp7", stage="pretrain")   # rank/world from torch.distributed
    hooks = spool.hook({"final_norm": model.norm, "layers.5": model.layers[5]}, rows=64)
    ... train; call spool.set_step(step) each step ...
    spool.scalar("loss", loss.item())            # each step: averaged until the next flush
    spool.scalar("heldout.accuracy", acc)        # any name: the latest value goes
    spool.flush()   # writes the rows gathered since the last flush, one .npy per layer

Rows are the hidden state of the last position of each sequence (the last non-pad one when an
attention mask is given, see `last_token_rows`), or of random token positions
(`positions="random"`), copied to the CPU as float32. Files are written under a name starting
with "." and renamed, so the sidecar only ever sees complete files. numpy and torch only.
"""

import math
import os
import re
import urllib.parse
import warnings

import numpy as np
import torch


def spool_name(run, stage, rank, world, layer, step, tokens=0, ext=".npy"):
    """The file name docs/spool.md specifies; values percent-encoded (RFC 3986). layer=None
    leaves the layer out (a .scalars file belongs to every layer of its step)."""
    q = lambda v: urllib.parse.quote(str(v), safe="-._~")
    name = f"run={q(run)},stage={q(stage)},rank={int(rank)},world={int(world)}"
    if layer is not None:
        name += f",layer={q(layer)}"
    name += f",step={int(step)}"
    if tokens:
        name += f",tokens={int(tokens)}"
    return name + ext


def last_token_rows(hidden, attention_mask=None):
    """(batch, time, d) -> (batch, d): each sequence's last position, or its last non-pad
    position when attention_mask (batch, time; 1 = token) is given. Works for right padding;
    with left padding the last position is already the last token."""
    if attention_mask is None:
        return hidden[:, -1, :]
    mask = attention_mask.to(hidden.device).long()
    # index of the last 1 in each row (right padding: sum - 1; robust to left padding too)
    positions = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
    last = torch.where(mask > 0, positions, torch.full_like(positions, -1)).max(dim=1).values
    last = last.clamp(min=0)
    return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]


def distributed_rank_world():
    """(rank, world) of torch.distributed when it is initialised, else (0, 1)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


SCALAR_NAME = re.compile(r"[a-z][a-z0-9_.]{0,63}")
MAX_SCALARS = 32


class SpoolWriter:
    def __init__(self, folder, run, stage="pretrain", rank=None, world=None, max_bytes=1 << 30, seed=0):
        if rank is None or world is None:
            r, w = distributed_rank_world()
            rank = r if rank is None else rank
            world = w if world is None else world
        if not (0 <= rank < world):
            raise ValueError(f"rank {rank} outside world {world}")
        self.folder, self.run, self.stage, self.rank, self.world = folder, run, stage, rank, world
        self.max_bytes = max_bytes
        self.step = 0
        self.tokens = 0  # training tokens seen by this rank; optional, travels as tokens=
        self.skipped = 0  # writes skipped because the spool held more than max_bytes
        self.written = 0
        self._rows = {}
        self._scalars = {}  # name -> [value, weight] of the window being gathered
        self._scalar_names = set()  # every name of the run, at most MAX_SCALARS
        self.scalars_dropped = 0  # bad names, non-finite values, names beyond MAX_SCALARS
        self._mask = None
        self._rng = torch.Generator().manual_seed(seed)
        os.makedirs(folder, exist_ok=True)

    def set_step(self, step, tokens=None):
        self.step = int(step)
        if tokens is not None:
            self.tokens = int(tokens)

    def set_attention_mask(self, attention_mask):
        """The (batch, time) mask of the batch about to run; hooks then take each sequence's last
        non-pad position. Pass None to go back to the last position."""
        self._mask = attention_mask

    def hook(self, modules, rows=64, positions="last", enabled=lambda: True):
        """Registers forward hooks on named modules ({"name": module}); returns the handles
        (call .remove() on each to detach). `enabled()` is asked on every forward pass, so
        sampling costs nothing on the steps it returns False."""
        if isinstance(modules, torch.nn.Module):  # older signature: hook(model, modules, ...)
            raise TypeError("hook(modules, ...) takes a {name: module} dict")
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
                        h = last_token_rows(h, self._mask)
                    else:
                        h = h.reshape(-1, h.shape[-1])
                        pick = torch.randperm(h.shape[0], generator=self._rng)[:rows]
                        h = h[pick.to(h.device)]
                self.add(name, h[:rows])

        return hook

    def add(self, layer, rows):
        """Adds rows (N x d array or tensor) for a layer by hand, e.g. from output_hidden_states."""
        if isinstance(rows, torch.Tensor):
            rows = rows.detach().float().cpu().numpy()
        rows = np.asarray(rows, dtype=np.float32)
        if rows.ndim != 2:
            raise ValueError(f"rows for {layer} must be N x d, got shape {rows.shape}")
        self._rows.setdefault(layer, []).append(rows)

    def scalar(self, name, value):
        """Records a training scalar for the next flush's window. "loss" is averaged over the calls
        since the last flush (call it every step); any other name ([a-z][a-z0-9_.]*, e.g.
        "learning_rate", "heldout.accuracy") keeps its latest value. A bad name, a value that is
        not finite, or a name beyond the run's 32 is dropped with a warning and counted in
        `scalars_dropped`: a training loop is never stopped by it."""
        value = float(value)
        problem = None
        if not isinstance(name, str) or not SCALAR_NAME.fullmatch(name):
            problem = f"scalar name {name!r} is not [a-z][a-z0-9_.]*, at most 64 characters"
        elif not math.isfinite(value):
            problem = f"scalar {name!r} is {value}"
        elif name not in self._scalar_names and len(self._scalar_names) >= MAX_SCALARS:
            problem = f"scalar {name!r} is one name more than {MAX_SCALARS}"
        if problem:
            self.scalars_dropped += 1
            warnings.warn("phasewatch: dropped " + problem)
            return
        self._scalar_names.add(name)
        if name == "loss" and name in self._scalars:
            mean, n = self._scalars[name]
            self._scalars[name] = [mean + (value - mean) / (n + 1), n + 1]
        else:
            self._scalars[name] = [value, 1]

    def _write_atomically(self, name, write):
        tmp = os.path.join(self.folder, "." + name + ".tmp")
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, os.path.join(self.folder, name))

    def _flush_scalars(self):
        # Written before the step's arrays: the sidecar reads it first and sends its values with
        # them (docs/spool.md, "Training scalars").
        if not self._scalars:
            return
        name = spool_name(self.run, self.stage, self.rank, self.world, None, self.step, ext=".scalars")
        lines = "".join(f"{k} {v!r} {n}\n" for k, (v, n) in sorted(self._scalars.items()))
        self._write_atomically(name, lambda f: f.write(lines.encode("ascii")))
        self._scalars = {}

    def _pending_bytes(self):
        return sum(e.stat().st_size for e in os.scandir(self.folder) if e.is_file() and not e.name.startswith("."))

    def flush(self):
        """Writes one file per layer with the rows gathered since the last flush."""
        pending = self._pending_bytes()
        self._flush_scalars()
        for layer, chunks in self._rows.items():
            matrix = np.ascontiguousarray(np.concatenate(chunks, axis=0), dtype="<f4")
            if pending + matrix.nbytes > self.max_bytes:
                self.skipped += 1
                continue
            name = spool_name(self.run, self.stage, self.rank, self.world, layer, self.step, self.tokens)
            tmp = os.path.join(self.folder, "." + name + ".tmp")
            with open(tmp, "wb") as f:
                np.save(f, matrix)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, os.path.join(self.folder, name))
            pending += matrix.nbytes
            self.written += 1
        self._rows = {}
