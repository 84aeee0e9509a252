package io.phasewatch.demo.training;

import io.phasewatch.agent.djl.Corpus;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Character-level tokens of a local UTF-8 text file. The {@code maxVocab − 1} most frequent code
 * points get their own id (most frequent first, so id order is frequency order); every other code
 * point maps to id 0, the unknown token. Sequences are windows at uniformly random offsets.
 */
public final class TextCorpus implements Corpus {

  /** Files larger than this are rejected rather than read whole into memory. */
  static final long MAX_FILE_BYTES = 256L * 1024 * 1024;

  private final int[] tokens;
  private final int vocabSize;

  private TextCorpus(int[] tokens, int vocabSize) {
    this.tokens = tokens;
    this.vocabSize = vocabSize;
  }

  /**
   * Reads {@code file} (UTF-8, at most 256 MiB) into character tokens, at most {@code maxVocab}.
   */
  public static TextCorpus characters(Path file, int maxVocab) throws IOException {
    if (maxVocab < 2 || maxVocab > ModelConfig.MAX_VOCAB) {
      throw new IllegalArgumentException(
          "text corpus: maxVocab " + maxVocab + " outside [2, " + ModelConfig.MAX_VOCAB + "]");
    }
    long size = Files.size(file);
    if (size > MAX_FILE_BYTES) {
      throw new IllegalArgumentException(
          "text corpus: " + file + " has " + size + " bytes, limit " + MAX_FILE_BYTES);
    }
    String text;
    try {
      text =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(java.nio.ByteBuffer.wrap(Files.readAllBytes(file)))
              .toString();
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException("text corpus: " + file + " is not valid UTF-8", e);
    }
    int[] codePoints = text.codePoints().toArray();
    Map<Integer, Integer> counts = new HashMap<>();
    for (int cp : codePoints) {
      counts.merge(cp, 1, Integer::sum);
    }
    List<Map.Entry<Integer, Integer>> byCount = new ArrayList<>(counts.entrySet());
    byCount.sort(
        (a, b) ->
            a.getValue().equals(b.getValue())
                ? Integer.compare(a.getKey(), b.getKey())
                : Integer.compare(b.getValue(), a.getValue()));
    Map<Integer, Integer> ids = new HashMap<>();
    for (int i = 0; i < byCount.size() && ids.size() < maxVocab - 1; i++) {
      ids.put(byCount.get(i).getKey(), ids.size() + 1);
    }
    int[] tokens = new int[codePoints.length];
    for (int i = 0; i < codePoints.length; i++) {
      tokens[i] = ids.getOrDefault(codePoints[i], 0);
    }
    return new TextCorpus(tokens, ids.size() + 1);
  }

  @Override
  public int vocabSize() {
    return vocabSize;
  }

  /** Number of tokens in the file. */
  public int length() {
    return tokens.length;
  }

  @Override
  public int[] sample(Random rng, int length) {
    if (length < 1 || length > tokens.length) {
      throw new IllegalArgumentException(
          "text corpus: sequence length " + length + " outside [1, " + tokens.length + "] tokens");
    }
    int start = rng.nextInt(tokens.length - length + 1);
    int[] out = new int[length];
    System.arraycopy(tokens, start, out, 0, length);
    return out;
  }
}
