#!/usr/bin/env python3
"""Writes the send-buffer golden files straight from docs/send-buffer.md, without the Java code.

Run from this directory: python3 make_golden.py. The files are committed; rerunning must not change
them. SendBufferGoldenTest reads them. The chunks are the wire-format golden records of
core/src/test/resources/golden/v1, so the snapshot inside is known too.
"""
import os
import struct

V1 = os.path.join("..", "..", "..", "..", "..", "..", "core", "src", "test", "resources", "golden",
                  "v1")


def crc32c(data: bytes) -> int:
    # CRC-32C (Castagnoli), reflected polynomial 0x82F63B78, as java.util.zip.CRC32C.
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def chunk(name):
    with open(os.path.join(V1, name), "rb") as f:
        return f.read()


def version2(key, chunks):
    k = key.encode("utf-8")
    out = b"PWSP" + struct.pack("<HHI", 2, 0, len(chunks)) + struct.pack("<H", len(k)) + k
    for c in chunks:
        out += struct.pack("<I", len(c)) + c
    return out + struct.pack("<I", crc32c(out))


def version1(key, chunks):
    # The first layout: java.io.DataOutputStream, big-endian; writeUTF is a u16 length + bytes.
    k = key.encode("utf-8")
    out = b"PWSP" + struct.pack(">i", 1) + struct.pack(">H", len(k)) + k
    out += struct.pack(">i", len(chunks))
    for c in chunks:
        out += struct.pack(">i", len(c)) + c
    return out + struct.pack(">I", crc32c(out))


def write(name, data):
    with open(name, "wb") as f:
        f.write(data)


fd = [chunk("fd_l8_d8_chunk%d.bin" % i) for i in range(4)]
write("v2_fd_l8_d8.snap", version2("chunked-run/model.layers.3", fd))
write("v2_exact_d3.snap", version2("golden-run-é/blocks.0.mlp", [chunk("exact_d3.bin")]))
write("v1_exact_d3.snap", version1("golden-run-é/blocks.0.mlp", [chunk("exact_d3.bin")]))
