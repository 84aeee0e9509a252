#!/usr/bin/env python3
"""Writes the golden files of the v1 scalars section (flag bit 0) from docs/wire-format.md.

Run from this directory: python3 make_golden_scalars.py. Reuses the frame and string helpers of
make_golden.py (importing it reruns it, which rewrites its files unchanged). The files are
committed; rerunning must not change them. GoldenV1ScalarsTest decodes them and checks every value
written here, and that the Java encoder reproduces them bit for bit.
"""
import struct

from make_golden import KIND_EXACT, KIND_FD, STAGES, frames, string, write

FLAG_SCALARS = 0x0001


def body_with_flags(kind, stage, flags, d, ell, row_count, rank, world, step, window, tokens,
                    capture, dropped, count, non_finite, run, layer, doubles):
    fixed = struct.pack("<BBHIIIIIqqqqqqq", kind, STAGES[stage], flags, d, ell, row_count, rank,
                        world, step, window, tokens, capture, dropped, count, non_finite)
    assert len(fixed) == 80
    return fixed + string(run) + string(layer) + struct.pack("<%dd" % len(doubles), *doubles)


def scalars(entries):
    """u16 count, then per scalar: u16 name length, ASCII name, u32 weight, f64 value."""
    out = struct.pack("<H", len(entries))
    for name, weight, value in entries:
        b = name.encode("ascii")
        out += struct.pack("<H", len(b)) + b + struct.pack("<Id", weight, value)
    return out


# The FD snapshot of fd_l4_d3.bin with three scalars: the loss averaged over 50 steps, the learning
# rate and one user-named scalar. Names in ascending byte order.
fd = body_with_flags(KIND_FD, "pretrain", FLAG_SCALARS, 3, 4, 2, 0, 1, 100, 3, 409600,
                     1764460800123, 0, 10, 0, "r1", "h.11",
                     [20.5, 1.5] + [0.1, 0.2, 0.3] + [1.0, 2.0, 3.0, 0.5, -0.5, 0.25])
fd += scalars([("heldout.accuracy", 1, 0.625), ("learning_rate", 1, 0.001), ("loss", 50, 2.75)])
(f,) = frames(fd, 900_000)
write("fd_l4_d3_scalars.bin", f)

# The exact summary of exact_d3.bin with the loss alone, weight 2^32 - 1 (the largest).
mean = [0.5, -1.25, 3.0]
upper = [4.0, 1.0, 0.5, 9.0, -2.0, 16.0]
exact = body_with_flags(KIND_EXACT, "sft", FLAG_SCALARS, 3, 0, 0, 1, 4, 1200, 12, 4915200,
                        1764460800000, 7, 5, 2, "golden-run-é", "blocks.0.mlp", mean + upper)
exact += scalars([("loss", 0xFFFFFFFF, -0.5)])
(f,) = frames(exact, 900_000)
write("exact_d3_scalars.bin", f)
