package io.phasewatch.collector.ingest;

import io.phasewatch.core.sketch.CovarianceSnapshot;
import io.phasewatch.core.sketch.ExactSnapshot;
import io.phasewatch.core.sketch.FdSnapshot;
import io.phasewatch.core.sketch.Float32MomentSnapshot;
import io.phasewatch.core.sketch.RowSampleSnapshot;
import io.phasewatch.core.wire.SnapshotMetadata;
import io.phasewatch.core.wire.SnapshotRecord;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.IntToLongFunction;

/**
 * Groups the parts of each (run, layer, window) until all {@code worldSize} ranks arrived or the
 * merge timeout passed, with bounded state. Single-threaded: the consumer thread owns it.
 *
 * <p>Every decision depends on record time (the Kafka record timestamps) and record order only, so
 * re-reading the topic after a restart closes the same windows the same way. Windows of a layer
 * close in window order: when window w completes, every rank has already published its windows
 * before w (one producer per rank, one partition per (run, layer)), so older windows still pending
 * will never complete and close as partial first.
 */
public final class WindowMerger {

  /** The result of one offer: what happened to the part, and the windows it closed (in order). */
  public record Offer(Admission admission, List<MergedWindow> closed) {
    public Offer {
      closed = List.copyOf(closed);
    }
  }

  private final long timeoutMillis;
  private final int maxRuns;
  private final int maxLayersPerRun;
  private final int maxPendingWindowsPerLayer;
  private final long maxPendingBytes;
  private final int rememberedWindows;
  private final Map<String, RunBook> runs = new HashMap<>();
  private long pendingBytes;

  private WindowMerger(
      long timeoutMillis,
      int maxRuns,
      int maxLayersPerRun,
      int maxPendingWindowsPerLayer,
      long maxPendingBytes,
      int rememberedWindows) {
    if (timeoutMillis < 1
        || maxRuns < 1
        || maxLayersPerRun < 1
        || maxPendingWindowsPerLayer < 1
        || maxPendingBytes < 1
        || rememberedWindows < 1) {
      throw new IllegalArgumentException("window merger: every bound must be ≥ 1");
    }
    this.timeoutMillis = timeoutMillis;
    this.maxRuns = maxRuns;
    this.maxLayersPerRun = maxLayersPerRun;
    this.maxPendingWindowsPerLayer = maxPendingWindowsPerLayer;
    this.maxPendingBytes = maxPendingBytes;
    this.rememberedWindows = rememberedWindows;
  }

  /**
   * @param timeoutMillis record time a window waits for missing ranks after its first part
   * @param maxPendingBytes bound on the summed size of held parts; beyond it the oldest pending
   *     windows close as partial
   * @param rememberedWindows closed windows per layer whose ranks are remembered to tell a
   *     duplicate from a late part
   */
  public static WindowMerger bounded(
      long timeoutMillis,
      int maxRuns,
      int maxLayersPerRun,
      int maxPendingWindowsPerLayer,
      long maxPendingBytes,
      int rememberedWindows) {
    return new WindowMerger(
        timeoutMillis,
        maxRuns,
        maxLayersPerRun,
        maxPendingWindowsPerLayer,
        maxPendingBytes,
        rememberedWindows);
  }

  /**
   * Takes one decoded snapshot with its Kafka partition and record time. All parts of a layer come
   * through one partition (the record key is run/layer), whose record time closes its windows.
   */
  public Offer offer(SnapshotRecord record, int partition, long recordTimeMillis) {
    SnapshotMetadata m = record.metadata();
    RunBook run = runs.get(m.runId());
    if (run == null) {
      if (runs.size() >= maxRuns) {
        return new Offer(Admission.LIMIT_RUNS, List.of());
      }
      run = new RunBook();
      runs.put(m.runId(), run);
    }
    LayerBook layer = run.layers.get(m.layer());
    if (layer == null) {
      if (run.layers.size() >= maxLayersPerRun) {
        return new Offer(Admission.LIMIT_LAYERS, List.of());
      }
      layer = new LayerBook(m.runId(), m.layer());
      run.layers.put(m.layer(), layer);
    }
    layer.partition = partition;
    run.lastRecordMillis = Math.max(run.lastRecordMillis, recordTimeMillis);

    BitSet mergedRanks = layer.closed.get(m.windowId());
    if (mergedRanks != null || m.windowId() <= layer.lastClosedWindow) {
      Admission a =
          mergedRanks != null && mergedRanks.get(m.rank()) ? Admission.DUPLICATE : Admission.LATE;
      return new Offer(a, List.of());
    }
    Pending p = layer.pending.get(m.windowId());
    if (p == null) {
      p = new Pending(m.windowId(), m.worldSize(), recordTimeMillis);
      layer.pending.put(m.windowId(), p);
    } else if (p.worldSize != m.worldSize()) {
      return new Offer(Admission.WORLD_SIZE_MISMATCH, List.of());
    } else if (p.parts.containsKey(m.rank())) {
      return new Offer(Admission.DUPLICATE, List.of());
    }
    long size = sizeOf(record.snapshot());
    p.parts.put(m.rank(), record);
    p.bytes += size;
    p.lastMillis = Math.max(p.lastMillis, recordTimeMillis);
    pendingBytes += size;

    List<MergedWindow> closed = new ArrayList<>();
    if (p.parts.size() == p.worldSize) {
      closeUpTo(layer, p.windowId, recordTimeMillis, closed);
    } else if (layer.pending.size() > maxPendingWindowsPerLayer) {
      closeUpTo(layer, layer.pending.firstKey(), recordTimeMillis, closed);
    }
    while (pendingBytes > maxPendingBytes) {
      LayerBook oldest = oldestPendingLayer();
      if (oldest == null) {
        break;
      }
      closeUpTo(oldest, oldest.pending.firstKey(), recordTimeMillis, closed);
    }
    return new Offer(Admission.ACCEPTED, closed);
  }

  /**
   * Closes, as partial, every window whose first part is at least the timeout older than the
   * current time of its layer's partition.
   */
  public List<MergedWindow> expire(IntToLongFunction nowByPartition) {
    List<MergedWindow> closed = new ArrayList<>();
    for (RunBook run : runs.values()) {
      for (LayerBook layer : run.layers.values()) {
        long nowMillis = nowByPartition.applyAsLong(layer.partition);
        long lastDue = -1;
        for (Pending p : layer.pending.values()) {
          if (nowMillis - p.firstMillis >= timeoutMillis) {
            lastDue = p.windowId;
          }
        }
        if (lastDue >= 0) {
          closeUpTo(layer, lastDue, nowMillis, closed);
        }
      }
    }
    return closed;
  }

  /**
   * Forgets runs with no record for at least {@code idleMillis} of record time before now, with
   * their pending parts; returns their ids.
   */
  public List<String> evictIdle(long nowMillis, long idleMillis) {
    List<String> evicted = new ArrayList<>();
    for (Iterator<Map.Entry<String, RunBook>> it = runs.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<String, RunBook> e = it.next();
      if (nowMillis - e.getValue().lastRecordMillis >= idleMillis) {
        for (LayerBook layer : e.getValue().layers.values()) {
          for (Pending p : layer.pending.values()) {
            pendingBytes -= p.bytes;
          }
        }
        it.remove();
        evicted.add(e.getKey());
      }
    }
    return evicted;
  }

  /** One (run, layer) series, as {@link #release} names it. */
  public record Series(String run, String layer) {}

  /**
   * Forgets every layer whose records come through {@code partition}, with their pending parts and
   * the memory of closed windows; returns them. Called when the partition moves to another instance
   * of the group, which rebuilds them from the partition's start: nothing held here for it may be
   * published or consulted again (a part seen later would otherwise read as late).
   */
  public List<Series> release(int partition) {
    List<Series> released = new ArrayList<>();
    for (Iterator<RunBook> runIt = runs.values().iterator(); runIt.hasNext(); ) {
      RunBook run = runIt.next();
      for (Iterator<LayerBook> it = run.layers.values().iterator(); it.hasNext(); ) {
        LayerBook layer = it.next();
        if (layer.partition == partition) {
          for (Pending p : layer.pending.values()) {
            pendingBytes -= p.bytes;
          }
          it.remove();
          released.add(new Series(layer.run, layer.layer));
        }
      }
      if (run.layers.isEmpty()) {
        runIt.remove();
      }
    }
    return released;
  }

  /** The layers held for {@code partition}. */
  public List<Series> layersOn(int partition) {
    List<Series> out = new ArrayList<>();
    for (RunBook run : runs.values()) {
      for (LayerBook layer : run.layers.values()) {
        if (layer.partition == partition) {
          out.add(new Series(layer.run, layer.layer));
        }
      }
    }
    return out;
  }

  /** The partition a held layer's records come through; -1 when the layer is not held. */
  public int partitionOf(String run, String layer) {
    RunBook r = runs.get(run);
    LayerBook l = r == null ? null : r.layers.get(layer);
    return l == null ? -1 : l.partition;
  }

  public int liveRuns() {
    return runs.size();
  }

  public long pendingBytes() {
    return pendingBytes;
  }

  private void closeUpTo(LayerBook layer, long windowId, long nowMillis, List<MergedWindow> out) {
    while (!layer.pending.isEmpty() && layer.pending.firstKey() <= windowId) {
      Pending p = layer.pending.pollFirstEntry().getValue();
      pendingBytes -= p.bytes;
      BitSet ranks = new BitSet();
      p.parts.keySet().forEach(ranks::set);
      layer.closed.put(p.windowId, ranks);
      if (layer.closed.size() > rememberedWindows) {
        layer.closed.remove(layer.closed.keySet().iterator().next());
      }
      layer.lastClosedWindow = Math.max(layer.lastClosedWindow, p.windowId);
      boolean complete = p.parts.size() == p.worldSize;
      long end = complete ? p.lastMillis : Math.max(nowMillis, p.lastMillis);
      out.add(
          new MergedWindow(
              layer.run,
              layer.layer,
              p.windowId,
              p.worldSize,
              List.copyOf(p.parts.values()),
              complete,
              Math.max(0, end - p.firstMillis)));
    }
  }

  private LayerBook oldestPendingLayer() {
    LayerBook oldest = null;
    long oldestMillis = Long.MAX_VALUE;
    for (RunBook run : runs.values()) {
      for (LayerBook layer : run.layers.values()) {
        if (!layer.pending.isEmpty()) {
          long first = layer.pending.firstEntry().getValue().firstMillis;
          if (first < oldestMillis) {
            oldestMillis = first;
            oldest = layer;
          }
        }
      }
    }
    return oldest;
  }

  /** Heap held by a part's arrays, the unit of {@code maxPendingBytes}. */
  static long sizeOf(CovarianceSnapshot s) {
    long d = s.dimension();
    if (s instanceof ExactSnapshot) {
      return 8 * (d + d * d);
    }
    if (s instanceof RowSampleSnapshot r) {
      return 4 * r.count() * d;
    }
    if (s instanceof Float32MomentSnapshot) {
      return 8 * d + 4 * (d * (d + 1) / 2);
    }
    FdSnapshot fd = (FdSnapshot) s;
    return 8 * (d + (long) fd.rowCount() * d);
  }

  private static final class RunBook {
    final Map<String, LayerBook> layers = new HashMap<>();
    long lastRecordMillis = Long.MIN_VALUE;
  }

  private static final class LayerBook {
    final String run;
    final String layer;
    final TreeMap<Long, Pending> pending = new TreeMap<>();
    final LinkedHashMap<Long, BitSet> closed = new LinkedHashMap<>();
    long lastClosedWindow = -1;
    int partition;

    LayerBook(String run, String layer) {
      this.run = run;
      this.layer = layer;
    }
  }

  private static final class Pending {
    final long windowId;
    final int worldSize;
    final long firstMillis;
    final TreeMap<Integer, SnapshotRecord> parts = new TreeMap<>();
    long lastMillis;
    long bytes;

    Pending(long windowId, int worldSize, long firstMillis) {
      this.windowId = windowId;
      this.worldSize = worldSize;
      this.firstMillis = firstMillis;
      this.lastMillis = firstMillis;
    }
  }
}
