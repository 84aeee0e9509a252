package io.phasewatch.agent.spool;

import io.phasewatch.core.wire.Stage;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The metadata a spool file's name carries ({@code docs/spool.md}): {@code
 * run=…,stage=…,rank=…,world=…,layer=…,step=….npy}, values percent-encoded as in RFC 3986 §2.1.
 *
 * @param run the training run; non-empty, no {@code /} (it is the first half of the Kafka key)
 * @param stage training stage, {@code pretrain} when absent
 * @param rank data-parallel rank, {@code 0} when absent
 * @param world number of ranks, {@code 1} when absent
 * @param layer the layer for a {@code .npy} file; empty for {@code .npz} and {@code .safetensors},
 *     whose arrays are named
 * @param step the training step
 * @param tokens training tokens seen by this rank, {@code 0} when absent
 * @param format the file's format, from its extension
 */
public record SpoolName(
    String run,
    Stage stage,
    int rank,
    int world,
    Optional<String> layer,
    long step,
    long tokens,
    Format format) {

  /** Longest file name read; common file systems allow 255 bytes. */
  public static final int MAX_NAME_CHARS = 1024;

  /** The three array formats and the training-scalars side file, by extension. */
  public enum Format {
    NPY(".npy"),
    NPZ(".npz"),
    SAFETENSORS(".safetensors"),
    /** Not an array: the training scalars of the step's window (docs/spool.md). */
    SCALARS(".scalars");

    private final String extension;

    Format(String extension) {
      this.extension = extension;
    }

    public String extension() {
      return extension;
    }
  }

  public SpoolName {
    Objects.requireNonNull(run, "run");
    Objects.requireNonNull(stage, "stage");
    Objects.requireNonNull(layer, "layer");
    Objects.requireNonNull(format, "format");
    if (run.isEmpty() || run.contains("/")) {
      throw new IllegalArgumentException("spool name: run must be non-empty and hold no '/'");
    }
    if (world < 1 || rank < 0 || rank >= world) {
      throw new IllegalArgumentException("spool name: rank " + rank + " outside world " + world);
    }
    if (step < 0 || tokens < 0) {
      throw new IllegalArgumentException("spool name: step and tokens must be ≥ 0");
    }
    if (layer.isPresent() && layer.get().isEmpty()) {
      throw new IllegalArgumentException("spool name: layer must not be empty");
    }
    if ((format == Format.NPY) != layer.isPresent()) {
      throw new IllegalArgumentException(
          format == Format.NPY
              ? "spool name: layer is required for .npy"
              : "spool name: layer= is only for .npy; a "
                  + format.extension()
                  + (format == Format.SCALARS
                      ? " file belongs to every layer of its step"
                      : " file's arrays carry the layer names"));
    }
  }

  /**
   * Parses a file name (no folder).
   *
   * @throws IllegalArgumentException naming the key or character at fault
   */
  public static SpoolName parse(String fileName) {
    Objects.requireNonNull(fileName, "fileName");
    if (fileName.length() > MAX_NAME_CHARS) {
      throw new IllegalArgumentException(
          "spool name: " + fileName.length() + " chars exceeds limit " + MAX_NAME_CHARS);
    }
    Format format = null;
    for (Format f : Format.values()) {
      if (fileName.endsWith(f.extension())) {
        format = f;
      }
    }
    if (format == null) {
      throw new IllegalArgumentException(
          "spool name: unknown extension (expected .npy, .npz, .safetensors or .scalars)");
    }
    String body = fileName.substring(0, fileName.length() - format.extension().length());
    Map<String, String> kv = new HashMap<>();
    for (String pair : body.split(",", -1)) {
      int eq = pair.indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException("spool name: '" + pair + "' is not key=value");
      }
      String key = pair.substring(0, eq);
      if (!java.util.List.of("run", "stage", "rank", "world", "layer", "step", "tokens")
          .contains(key)) {
        throw new IllegalArgumentException(
            "spool name: unknown key '"
                + key
                + "' (known: run, stage, rank, world, layer, step, tokens)");
      }
      if (kv.put(key, decode(key, pair.substring(eq + 1))) != null) {
        throw new IllegalArgumentException("spool name: key '" + key + "' given twice");
      }
    }
    String run = kv.get("run");
    if (run == null) {
      throw new IllegalArgumentException("spool name: run is required");
    }
    if (!kv.containsKey("step")) {
      throw new IllegalArgumentException("spool name: step is required");
    }
    Stage stage;
    try {
      stage = Stage.fromLabel(kv.getOrDefault("stage", "pretrain").toLowerCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("spool name: stage: " + e.getMessage(), e);
    }
    return new SpoolName(
        run,
        stage,
        (int) number(kv, "rank", 0, Integer.MAX_VALUE),
        (int) number(kv, "world", 1, Integer.MAX_VALUE),
        Optional.ofNullable(kv.get("layer")),
        number(kv, "step", 0, Long.MAX_VALUE),
        number(kv, "tokens", 0, Long.MAX_VALUE),
        format);
  }

  /** The canonical name of this metadata (what the Python helper writes). */
  public String fileName() {
    StringBuilder b = new StringBuilder();
    b.append("run=").append(encode(run));
    b.append(",stage=").append(stage.label());
    b.append(",rank=").append(rank).append(",world=").append(world);
    layer.ifPresent(l -> b.append(",layer=").append(encode(l)));
    b.append(",step=").append(step);
    if (tokens != 0) {
      b.append(",tokens=").append(tokens);
    }
    return b.append(format.extension()).toString();
  }

  private static long number(Map<String, String> kv, String key, long dflt, long max) {
    String v = kv.get(key);
    if (v == null) {
      return dflt;
    }
    try {
      long n = Long.parseLong(v);
      if (n < 0 || n > max || !v.equals(Long.toString(n))) {
        throw new NumberFormatException();
      }
      return n;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "spool name: " + key + " must be an integer in [0, " + max + "], got '" + v + "'", e);
    }
  }

  private static boolean unreserved(int c) {
    return (c >= 'A' && c <= 'Z')
        || (c >= 'a' && c <= 'z')
        || (c >= '0' && c <= '9')
        || c == '-'
        || c == '.'
        || c == '_'
        || c == '~';
  }

  /** RFC 3986 percent-decoding of UTF-8; {@code +} is a plus, not a space. */
  static String decode(String key, String value) {
    if (value.isEmpty()) {
      throw new IllegalArgumentException("spool name: " + key + " is empty");
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(value.length());
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == '%') {
        if (i + 2 >= value.length()
            || Character.digit(value.charAt(i + 1), 16) < 0
            || Character.digit(value.charAt(i + 2), 16) < 0) {
          throw new IllegalArgumentException(
              "spool name: " + key + ": '%' at " + i + " is not followed by two hex digits");
        }
        out.write(
            Character.digit(value.charAt(i + 1), 16) * 16
                + Character.digit(value.charAt(i + 2), 16));
        i += 2;
      } else if (c == '/' || c == '=' || c < 0x20 || c == 0x7f) {
        throw new IllegalArgumentException(
            "spool name: " + key + " holds a raw '" + c + "'; percent-encode it");
      } else {
        int cp = value.codePointAt(i);
        byte[] b = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8);
        out.write(b, 0, b.length);
        i += Character.charCount(cp) - 1;
      }
    }
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(out.toByteArray()))
          .toString();
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException(
          "spool name: " + key + " does not decode as UTF-8 after percent-decoding", e);
    }
  }

  /** RFC 3986 percent-encoding of UTF-8, leaving only unreserved characters as they are. */
  static String encode(String value) {
    StringBuilder b = new StringBuilder();
    for (byte x : value.getBytes(StandardCharsets.UTF_8)) {
      int c = x & 0xff;
      if (unreserved(c)) {
        b.append((char) c);
      } else {
        b.append('%').append(String.format(Locale.ROOT, "%02X", c));
      }
    }
    return b.toString();
  }
}
