package io.phasewatch.agent.djl.checkpoint;

import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a checkpoint's file name says: {@code step=N} (or {@code step_N}, {@code step-N}, {@code
 * stepN}) anywhere in the name, and an extension {@code .pt}, {@code .pth} or {@code .ts}. Hidden
 * names and {@code .tmp}/{@code .part}/{@code .partial} names are files still being written.
 *
 * @param step the training step the checkpoint was saved at
 */
public record CheckpointName(long step) {

  private static final Pattern STEP =
      Pattern.compile("(?<![A-Za-z0-9])step[=_-]?(\\d{1,18})(?!\\d)", Pattern.CASE_INSENSITIVE);

  public CheckpointName {
    if (step < 0) {
      throw new IllegalArgumentException("checkpoint: step " + step + " < 0");
    }
  }

  /** The step of a complete checkpoint named {@code fileName}; empty for any other file. */
  public static Optional<CheckpointName> parse(String fileName) {
    String lower = fileName.toLowerCase(Locale.ROOT);
    if (lower.startsWith(".")
        || !(lower.endsWith(".pt") || lower.endsWith(".pth") || lower.endsWith(".ts"))) {
      return Optional.empty();
    }
    Matcher m = STEP.matcher(fileName);
    if (!m.find()) {
      return Optional.empty();
    }
    return Optional.of(new CheckpointName(Long.parseLong(m.group(1))));
  }

  /** True for names that look like a checkpoint but carry no step: worth a warning. */
  static boolean looksLikeCheckpoint(String fileName) {
    String lower = fileName.toLowerCase(Locale.ROOT);
    return !lower.startsWith(".")
        && (lower.endsWith(".pt") || lower.endsWith(".pth") || lower.endsWith(".ts"));
  }
}
