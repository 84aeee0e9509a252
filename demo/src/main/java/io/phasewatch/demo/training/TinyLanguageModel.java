package io.phasewatch.demo.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.util.PairList;
import io.phasewatch.agent.djl.LayerTaps;
import java.util.ArrayList;
import java.util.List;

/**
 * A small pre-LN causal decoder: token embedding plus learned positions, {@code layers} {@link
 * DecoderLayer}s under an additive causal mask, a final LayerNorm and a linear head to {@code V}
 * logits. Input {@code (tokens)} of shape {@code (B, T)}, integer; output {@code (logits)} of shape
 * {@code (B, T, V)}.
 *
 * <p>Tappable blocks, by name: {@code layers.0.out}, {@code layers.1.out}, … (the residual stream
 * after each block) and {@code final_norm} (after the final LayerNorm, what the head reads, the
 * state the study probes). {@link LayerTaps} wraps the selected ones when the model is built.
 */
public final class TinyLanguageModel extends AbstractBlock {

  /**
   * Masked attention scores get this added; far below any real score, finite so softmax stays
   * finite.
   */
  private static final float MASKED = -1e9f;

  private final ModelConfig config;
  private final Parameter tokenEmbedding;
  private final Parameter positionEmbedding;
  private final List<Block> layers = new ArrayList<>();
  private final Block finalNorm;
  private final Linear head;

  private TinyLanguageModel(ModelConfig config, LayerTaps taps) {
    this.config = config;
    tokenEmbedding =
        addParameter(
            Parameter.builder()
                .setName("token_embedding")
                .setType(Parameter.Type.WEIGHT)
                .optShape(new Shape(config.vocabSize(), config.dModel()))
                .optInitializer(new NormalInitializer(0.02f))
                .build());
    positionEmbedding =
        addParameter(
            Parameter.builder()
                .setName("position_embedding")
                .setType(Parameter.Type.WEIGHT)
                .optShape(new Shape(config.contextLength(), config.dModel()))
                .optInitializer(new NormalInitializer(0.02f))
                .build());
    for (int i = 0; i < config.layers(); i++) {
      String name = "layers." + i + ".out";
      layers.add(
          addChildBlock(
              "layer" + i, taps.wrap(name, new DecoderLayer(config.dModel(), config.heads()))));
    }
    finalNorm =
        addChildBlock("final_norm", taps.wrap("final_norm", LayerNorm.builder().axis(2).build()));
    head = addChildBlock("head", Linear.builder().setUnits(config.vocabSize()).build());
  }

  /** The model without taps. */
  public static TinyLanguageModel create(ModelConfig config) {
    return new TinyLanguageModel(config, LayerTaps.none());
  }

  /**
   * The model with the blocks that {@code taps} selects wrapped so their outputs reach its sink.
   */
  public static TinyLanguageModel create(ModelConfig config, LayerTaps taps) {
    return new TinyLanguageModel(config, taps);
  }

  /** Names of the tappable blocks of a model built from {@code config}, in forward order. */
  public static List<String> tappableBlocks(ModelConfig config) {
    List<String> names = new ArrayList<>();
    for (int i = 0; i < config.layers(); i++) {
      names.add("layers." + i + ".out");
    }
    names.add("final_norm");
    return List.copyOf(names);
  }

  public ModelConfig config() {
    return config;
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
    return new NDList(run(ps, inputs.head(), training, params, null));
  }

  /**
   * Output {@code (B, T, d)} of the tappable block {@code name} for {@code tokens}, in inference
   * mode: the reference the probe's rows are checked against.
   */
  public NDArray hiddenState(ParameterStore ps, NDArray tokens, String name) {
    if (!tappableBlocks(config).contains(name)) {
      throw new IllegalArgumentException("tiny model: no block named '" + name + "'");
    }
    return run(ps, tokens, false, null, name);
  }

  private NDArray run(
      ParameterStore ps,
      NDArray tokens,
      boolean training,
      PairList<String, Object> params,
      String stopAt) {
    long t = tokens.getShape().get(1);
    if (t > config.contextLength()) {
      throw new IllegalArgumentException(
          "tiny model: sequence length " + t + " exceeds contextLength " + config.contextLength());
    }
    NDArray embeddings = ps.getValue(tokenEmbedding, tokens.getDevice(), training);
    NDArray positions =
        ps.getValue(positionEmbedding, tokens.getDevice(), training).get(new NDIndex("0:{}", t));
    NDArray x =
        Embedding.embedding(tokens.toType(DataType.INT64, false), embeddings, SparseFormat.DENSE)
            .head();
    x = x.add(positions);
    NDArray mask = causalMask(tokens.getManager(), (int) t);
    for (int i = 0; i < layers.size(); i++) {
      x = layers.get(i).forward(ps, new NDList(x, mask), training, params).head();
      if (("layers." + i + ".out").equals(stopAt)) {
        return x;
      }
    }
    x = finalNorm.forward(ps, new NDList(x), training, params).head();
    if ("final_norm".equals(stopAt)) {
      return x;
    }
    return head.forward(ps, new NDList(x), training, params).head();
  }

  /** {@code (1, 1, T, T)}: 0 where key ≤ query, {@link #MASKED} where the key is in the future. */
  static NDArray causalMask(NDManager manager, int t) {
    float[] m = new float[t * t];
    for (int q = 0; q < t; q++) {
      for (int k = q + 1; k < t; k++) {
        m[q * t + k] = MASKED;
      }
    }
    return manager.create(m, new Shape(1, 1, t, t));
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputShapes) {
    Shape in = inputShapes[0];
    return new Shape[] {new Shape(in.get(0), in.get(1), config.vocabSize())};
  }

  @Override
  public void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
    Shape in = inputShapes[0];
    Shape hidden = new Shape(in.get(0), in.get(1), config.dModel());
    Shape mask = new Shape(1, 1, in.get(1), in.get(1));
    for (Block layer : layers) {
      layer.initialize(manager, dataType, hidden, mask);
    }
    finalNorm.initialize(manager, dataType, hidden);
    head.initialize(manager, dataType, hidden);
  }
}
