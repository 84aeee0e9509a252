package io.phasewatch.agent.djl;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.Pair;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * A frozen copy of the policy, {@code π_ref} of DPO and of RLVR's KL penalty. Its parameters are
 * copied through DJL's own serialisation into a second, untapped model under its own manager, and
 * only ever read: no trainer sees them, every forward runs in inference mode outside any gradient
 * collector. {@link #digest()} lets a stage check at its end that the copy stayed bit-identical.
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
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      policy.saveParameters(out);
    } catch (IOException e) {
      throw new UncheckedIOException("reference model: copying the policy's parameters", e);
    }
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
      block.loadParameters(model.getNDManager(), in);
    } catch (IOException | MalformedModelException e) {
      throw new IllegalStateException("reference model: loading the copied parameters", e);
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
