/**
 * Wire format v1 of sketch snapshots: one class owns the byte layout (see docs/wire-format.md).
 * Little-endian always, CRC32C-protected, chunked when larger than the maximum record size.
 */
package io.phasewatch.core.wire;
