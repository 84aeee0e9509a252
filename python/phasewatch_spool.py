"""Write sampled hidden states of a PyTorch model into a phasewatch spool folder.

Usage (see docs/pytorch.md):

    spool = SpoolWriter("/spool", run="exp7", stage="pretrain")   # rank/world from torch.distributed
    hooks = spool.hook({"final_norm": model.norm, "layers.5": model.layers[5]})
    ... train; call spool.set_step(step) each step ...
    spool.scalar("loss", loss.item())            # each step: averaged until the next flush
    spool.scalar("heldout.accuracy", acc)        # any name: the latest value goes
    spool.flush()   # writes the rows gathered since the last flush, one .npy per layer

    with spool.probe(step):          # a fixed probe set, the study's protocol
        for batch in probe_batches:
            model(batch)             # rows land in layers "probe.final_norm", "probe.layers.5"

Rows are the hidden state of the last position of every sequence (the last non-pad one when an
attention mask is given, see `last_token_rows`), or of random token positions
(`positions="random"`), copied to the CPU as float32. A window keeps at most `max_rows` rows per
layer (default 16384) and says so once when it drops any; a window too small for the study's
α window (ranks 12…100) raises a `PhasewatchWarning` once per layer. Files are written under a
name starting with "." and renamed, so the sidecar only ever sees complete files. numpy and
torch only.
"""

import contextlib
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


# The study fits α over covariance eigenvalue ranks 12…100 (docs/spectrum.md). A window of N rows of
# width d has at most min(N - 1, d) nonzero eigenvalues, so the window exists only when both reach 100.
STUDY_FIT_LAST = 100

# Rows kept per layer and window unless max_rows says otherwise: the study's fixed N is ~15,000
# sequences, and 16384 rows of d = 4096 float32 are 256 MiB of host memory at the flush.
DEFAULT_MAX_ROWS = 16384


class PhasewatchWarning(UserWarning):
    """A window that will not measure what the study measures (too few rows, rows dropped)."""


def distributed_rank_world():
    """(rank, world) of torch.distributed when it is initialised, else (0, 1)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


SCALAR_NAME = re.compile(r"[a-z][a-z0-9_.]{0,63}")
MAX_SCALARS = 32


class SpoolWriter:
    def __init__(self, folder, run, stage="pretrain", rank=None, world=None, max_bytes=1 << 30, seed=0,
                 max_rows=DEFAULT_MAX_ROWS):
        if rank is None or world is None:
            r, w = distributed_rank_world()
            rank = r if rank is None else rank
            world = w if world is None else world
        if not (0 <= rank < world):
            raise ValueError(f"rank {rank} outside world {world}")
        self.folder, self.run, self.stage, self.rank, self.world = folder, run, stage, rank, world
        self.max_bytes = max_bytes
        if int(max_rows) < 1:
            raise ValueError(f"max_rows must be at least 1, got {max_rows}")
        self.max_rows = int(max_rows)
        self.step = 0
        self.tokens = 0  # training tokens seen by this rank; optional, travels as tokens=
        self.skipped = 0  # writes skipped because the spool held more than max_bytes
        self.written = 0
        self._rows = {}
        self._row_counts = {}  # layer -> rows offered this window, kept or not
        self._warned = set()  # (reason, layer): each warning once per layer
        self._probe_prefix = None  # set while a probe pass runs
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

    def hook(self, modules, rows=None, positions="last", enabled=lambda: True):
        """Registers forward hooks on named modules ({"name": module}); returns the handles
        (call .remove() on each to detach). For a (batch, time, d) output a hook takes the last
        position of every sequence (`positions="last"`) or `rows` random token positions per
        forward pass (`positions="random"`, rows default 64); `rows` with "last" caps the
        sequences taken per forward pass. `enabled()` is asked on every forward pass outside a
        probe, so sampling costs nothing on the steps it returns False."""
        if isinstance(modules, torch.nn.Module):  # older signature: hook(model, modules, ...)
            raise TypeError("hook(modules, ...) takes a {name: module} dict")
        if positions not in ("last", "random"):
            raise ValueError(f'positions must be "last" or "random", got {positions!r}')
        if rows is not None and int(rows) < 1:
            raise ValueError(f"rows must be at least 1, got {rows}")
        handles = []
        for name, module in modules.items():
            handles.append(module.register_forward_hook(self._make_hook(name, rows, positions, enabled)))
        return handles

    def _make_hook(self, name, rows, positions, enabled):
        def hook(_module, _inputs, output):
            probing = self._probe_prefix is not None
            if not probing and not enabled():
                return
            h = output[0] if isinstance(output, (tuple, list)) else output
            with torch.no_grad():
                h = h.detach()
                if h.dim() == 3:  # (batch, time, d)
                    if probing or positions == "last":
                        h = last_token_rows(h, self._mask)
                    else:
                        h = h.reshape(-1, h.shape[-1])
                        pick = torch.randperm(h.shape[0], generator=self._rng)[: rows or 64]
                        h = h[pick.to(h.device)]
                if rows is not None and not probing and h.shape[0] > rows:
                    self._warn_once(
                        "rows", name,
                        f"phasewatch: hook {name!r} keeps {rows} of the {h.shape[0]} rows of each forward pass "
                        f"(rows={rows}); pass rows=None to keep every sequence",
                    )
                    h = h[:rows]
                self.add(self._probe_prefix + name if probing else name, h)

        return hook

    @contextlib.contextmanager
    def probe(self, step, prefix="probe."):
        """A probe pass at `step`: run the fixed probe set through the model inside the block.
        Every hooked module's rows (the last position of each sequence, or the last non-pad one
        after set_attention_mask) are written as one window per layer named prefix + name, with
        window id = step; `enabled()` is not asked, and gradients are off. Rows gathered for live
        windows before the block are kept for the next flush(). Nothing is written when the
        block raises."""
        if self._probe_prefix is not None:
            raise RuntimeError("probe passes do not nest")
        # The live window (rows and training scalars) waits for its own flush().
        live, live_counts, live_scalars, live_step = self._rows, self._row_counts, self._scalars, self.step
        self._rows, self._row_counts, self._scalars = {}, {}, {}
        self._probe_prefix = prefix
        self.step = int(step)
        try:
            with torch.no_grad():
                yield self
            self.flush()
        finally:
            self._probe_prefix = None
            self._rows, self._row_counts, self._scalars, self.step = live, live_counts, live_scalars, live_step

    def add(self, layer, rows):
        """Adds rows (N x d array or tensor) for a layer by hand, e.g. from output_hidden_states.
        A window keeps the first max_rows rows of a layer; the rest are dropped and said so once."""
        if isinstance(rows, torch.Tensor):
            rows = rows.detach().float().cpu().numpy()
        rows = np.asarray(rows, dtype=np.float32)
        if rows.ndim != 2:
            raise ValueError(f"rows for {layer} must be N x d, got shape {rows.shape}")
        offered = self._row_counts.get(layer, 0)
        self._row_counts[layer] = offered + rows.shape[0]
        room = self.max_rows - min(offered, self.max_rows)
        if rows.shape[0] > room:
            rows = rows[:room]
        if rows.shape[0]:
            self._rows.setdefault(layer, []).append(rows)

    def _warn_once(self, reason, layer, message):
        if (reason, layer) not in self._warned:
            self._warned.add((reason, layer))
            warnings.warn(message, PhasewatchWarning, stacklevel=4)  # the caller of flush()

    def _check_window(self, layer, n, d):
        offered = self._row_counts.get(layer, n)
        if offered > n:
            self._warn_once(
                "max_rows", layer,
                f"phasewatch: layer {layer!r} step {self.step}: kept {n} of {offered} rows "
                f"(max_rows={self.max_rows}); later windows are capped the same way without a warning",
            )
        if min(n - 1, d) < STUDY_FIT_LAST:
            self._warn_once(
                "few_rows", layer,
                f"phasewatch: layer {layer!r} step {self.step}: {n} rows of width {d} give at most "
                f"{max(0, min(n - 1, d))} nonzero covariance eigenvalues; the study's alpha window 12..100 "
                f"needs {STUDY_FIT_LAST} (at least {STUDY_FIT_LAST + 1} rows and d >= {STUDY_FIT_LAST}), "
                f"so the collector fits its fallback window and RankMe is bounded by {max(0, min(n - 1, d))}",
            )

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
            self._check_window(layer, matrix.shape[0], matrix.shape[1])
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
        self._row_counts = {}
