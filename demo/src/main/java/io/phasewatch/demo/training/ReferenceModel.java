package io.phasewatch.demo.training;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.Pair;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;

/**
 * A frozen copy of the policy, {@code π_ref} of DPO and of RLVR's KL penalty. Its parameters are
 * copied value by value into a second, untapped model under its own manager, and only ever read: no
 * trainer sees them, every forward runs in inference mode outside any gradient collector. {@link
 * #digest()} lets a stage check at its end that the copy stayed bit-identical.
 */
final class ReferenceModel implements AutoCloseable {

  private final Model model;
  private final TinyLanguageModel block;
  private final byte[] digestAtCopy;

  private ReferenceModel(TinyLanguageModel policy) {
    ModelConfig config = policy.config();
    this.block = TinyLanguageModel.create(config);
    this.model = Model.newInstance("phasewatch-reference", Device.cpu(), "PyTorch");
    model.setBlock(block);
    block.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(1, config.contextLength()));
    // Parameter by parameter, in the blocks' common order: the policy may carry tap wrappers
    // that the reference (untapped) lacks, so the blocks' serialised structures differ.
    List<Parameter> from = policy.getParameters().values();
    List<Parameter> to = block.getParameters().values();
    if (from.size() != to.size()) {
      throw new IllegalStateException(
          "reference model: policy has " + from.size() + " parameters, copy " + to.size());
    }
    for (int i = 0; i < from.size(); i++) {
      NDArray src = from.get(i).getArray();
      NDArray dst = to.get(i).getArray();
      if (!src.getShape().equals(dst.getShape()) || src.getDataType() != DataType.FLOAT32) {
        throw new IllegalStateException(
            "reference model: parameter "
                + i
                + " is "
                + src.getShape()
                + " "
                + src.getDataType()
                + ", copy "
                + dst.getShape());
      }
      dst.set(src.toFloatArray());
    }
    for (Pair<String, Parameter> p : block.getParameters()) {
      p.getValue().getArray().setRequiresGradient(false);
    }
    this.digestAtCopy = digest();
  }

  /** A frozen copy of {@code policy} as it is now. */
  static ReferenceModel copyOf(TinyLanguageModel policy) {
    return new ReferenceModel(policy);
  }

  /** Logits {@code (B, T, V)} of {@code inputs} in inference mode, on {@code inputs}' manager. */
  NDArray logits(NDArray inputs) {
    NDManager m = inputs.getManager();
    return block.forward(new ParameterStore(m, false), new NDList(inputs), false).head();
  }

  /** SHA-256 over every parameter's float bits, in the block's parameter order. */
  byte[] digest() {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      for (Pair<String, Parameter> p : block.getParameters()) {
        sha.update(p.getKey().getBytes(java.nio.charset.StandardCharsets.UTF_8));
        float[] values = p.getValue().getArray().toFloatArray();
        ByteBuffer buf = ByteBuffer.allocate(values.length * 4);
        buf.asFloatBuffer().put(values);
        sha.update(buf.array());
      }
      return sha.digest();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("reference model: SHA-256 missing from the JDK", e);
    }
  }

  /** Whether every parameter is bit-identical to the moment of the copy. */
  boolean unchanged() {
    return java.util.Arrays.equals(digestAtCopy, digest());
  }

  /** A copy of every parameter's values, in the block's parameter order (for tests). */
  float[][] parameterValues() {
    return block.getParameters().values().stream()
        .map(p -> p.getArray().toFloatArray())
        .toArray(float[][]::new);
  }

  @Override
  public void close() {
    model.close();
  }
}
