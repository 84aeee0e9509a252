package io.phasewatch.demo.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.nn.transformer.ScaledDotProductAttentionBlock;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * One pre-LN decoder block: {@code h = x + attn(ln1(x), mask)}, {@code out = h + mlp(ln2(h))} with
 * a 4× GELU MLP. Input {@code (x, mask)}, output {@code (out)}: the residual stream after the
 * block. Attention is DJL's {@link ScaledDotProductAttentionBlock}, which adds a 4-D mask as given.
 */
final class DecoderLayer extends AbstractBlock {

  private final LayerNorm ln1;
  private final ScaledDotProductAttentionBlock attention;
  private final LayerNorm ln2;
  private final Linear up;
  private final Linear down;

  DecoderLayer(int dModel, int heads) {
    ln1 = addChildBlock("ln1", LayerNorm.builder().axis(2).build());
    attention =
        addChildBlock(
            "attn",
            ScaledDotProductAttentionBlock.builder()
                .setEmbeddingSize(dModel)
                .setHeadCount(heads)
                .optAttentionProbsDropoutProb(0f)
                .build());
    ln2 = addChildBlock("ln2", LayerNorm.builder().axis(2).build());
    up = addChildBlock("up", Linear.builder().setUnits(4L * dModel).build());
    down = addChildBlock("down", Linear.builder().setUnits(dModel).build());
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
    NDArray x = inputs.get(0);
    NDArray mask = inputs.get(1);
    NDArray a = ln1.forward(ps, new NDList(x), training).head();
    NDArray h = x.add(attention.forward(ps, new NDList(a, mask), training).head());
    NDArray m = ln2.forward(ps, new NDList(h), training).head();
    NDArray f =
        down.forward(
                ps,
                new NDList(Activation.gelu(up.forward(ps, new NDList(m), training).head())),
                training)
            .head();
    return new NDList(h.add(f));
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputShapes) {
    return new Shape[] {inputShapes[0]};
  }

  @Override
  public void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
    Shape x = inputShapes[0];
    long d = x.get(2);
    ln1.initialize(manager, dataType, x);
    attention.initialize(manager, dataType, x);
    ln2.initialize(manager, dataType, x);
    up.initialize(manager, dataType, x);
    down.initialize(manager, dataType, new Shape(x.get(0), x.get(1), 4 * d));
  }
}
