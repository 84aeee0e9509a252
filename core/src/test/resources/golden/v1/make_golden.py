#!/usr/bin/env python3
"""Writes the v1 golden files straight from docs/wire-format.md, without the Java encoder.

Run from this directory: python3 make_golden.py. The files are committed; rerunning must not
change them (v1 is frozen). GoldenV1Test decodes them and checks every value written here.
"""
import struct
import zlib

MAGIC = b"PWSK"
VERSION = 1
KIND_EXACT, KIND_FD = 1, 2
STAGES = {"pretrain": 0, "sft": 1, "dpo": 2, "rlvr": 3, "other": 4}


def crc32c(data: bytes) -> int:
    # CRC-32C (Castagnoli), reflected polynomial 0x82F63B78, as java.util.zip.CRC32C.
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def string(s: str) -> bytes:
    b = s.encode("utf-8")
    return struct.pack("<H", len(b)) + b


def body(kind, stage, d, ell, row_count, rank, world, step, window, tokens, capture, dropped,
         count, non_finite, run, layer, doubles):
    fixed = struct.pack("<BBHIIIIIqqqqqqq", kind, STAGES[stage], 0, d, ell, row_count, rank,
                        world, step, window, tokens, capture, dropped, count, non_finite)
    assert len(fixed) == 80
    return fixed + string(run) + string(layer) + struct.pack("<%dd" % len(doubles), *doubles)


def frames(b: bytes, max_record_bytes: int):
    capacity = max_record_bytes - 44
    count = -(-len(b) // capacity)
    body_crc = crc32c(b)
    snapshot_id = (body_crc << 32) | zlib.crc32(b)
    out = []
    for i in range(count):
        off = i * capacity
        part = b[off:off + capacity]
        head = MAGIC + struct.pack("<HHQIIIIII", VERSION, 0, snapshot_id, len(b), body_crc, i,
                                   count, off, len(part))
        assert len(head) == 40
        frame = head + part
        out.append(frame + struct.pack("<I", crc32c(frame)))
    return out


def write(name, data):
    with open(name, "wb") as f:
        f.write(data)


# Exact summary, d = 3: mean, then the upper triangle of the co-moment row by row.
mean = [0.5, -1.25, 3.0]
upper = [4.0, 1.0, 0.5,  # row 0: M00 M01 M02
         9.0, -2.0,      # row 1: M11 M12
         16.0]           # row 2: M22
exact = body(KIND_EXACT, "sft", 3, 0, 0, 1, 4, 1200, 12, 4915200, 1764460800000, 7, 5, 2,
             "golden-run-é", "blocks.0.mlp", mean + upper)
(f,) = frames(exact, 900_000)
write("exact_d3.bin", f)

# Frequent Directions, ℓ = 4, d = 3, two sketch rows.
fd = body(KIND_FD, "pretrain", 3, 4, 2, 0, 1, 100, 3, 409600, 1764460800123, 0, 10, 0,
          "r1", "h.11", [20.5, 1.5] + [0.1, 0.2, 0.3] + [1.0, 2.0, 3.0, 0.5, -0.5, 0.25])
(f,) = frames(fd, 900_000)
write("fd_l4_d3.bin", f)

# Frequent Directions, ℓ = 8, d = 8, full: a 701-byte body cut into 256-byte records.
d = 8
rows = [(i + 1) + j / 8 for i in range(8) for j in range(d)]
chunked = body(KIND_FD, "rlvr", d, 8, 8, 2, 8, 5000, 41, 2 ** 33, 1764460801000, 3, 1000, 4,
               "chunked-run", "model.layers.3", [12000.0, 0.75] + [j * 0.25 for j in range(d)] + rows)
for i, f in enumerate(frames(chunked, 256)):
    write("fd_l8_d8_chunk%d.bin" % i, f)
print(len(exact), len(fd), len(chunked), len(frames(chunked, 256)))

# Row sample (kind 3, a v1 addition), capacity 4, d = 3: two float32 rows of 7 offered.
KIND_SAMPLE = 3
sample = body(KIND_SAMPLE, "dpo", 3, 4, 2, 3, 8, 700, 7, 1 << 20, 1764460802000, 1, 2, 1,
              "r9", "final_norm", []) + struct.pack("<q6f", 7, 1.5, -2.0, 0.25, 3.0, 0.0, -0.125)
(f,) = frames(sample, 900_000)
write("sample_c4_d3.bin", f)
print(len(sample))

# Float32 co-moment (kind 4, a v1 addition), d = 3: count and mean in f64, then the upper triangle
# of the co-moment row by row in f32 (M00 M01 M02 M11 M12 M22).
KIND_EXACT32 = 4
exact32 = body(KIND_EXACT32, "pretrain", 3, 0, 0, 5, 8, 900, 9, 1 << 21, 1764460803000, 0, 6, 3,
               "r32", "model.norm", [-0.5, 2.25, 100.0]) + struct.pack(
                   "<6f", 6.5, -1.25, 0.375, 2.0, 0.0, 12.75)
(f,) = frames(exact32, 900_000)
write("exact32_d3.bin", f)
print(len(exact32))
