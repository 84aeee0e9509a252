package io.phasewatch.agent.spool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.phasewatch.core.wire.SnapshotRecord;
import io.phasewatch.core.wire.TrainingScalars;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code .scalars} side file: the training scalars of a step travel with its array files. */
class SpoolScalarsTest {
  private static final String PYTHON = "/usr/bin/python3";

  @TempDir Path spool;

  private final MeterRegistry registry = new SimpleMeterRegistry();
  private final SpoolSidecarTest.Capture published = new SpoolSidecarTest.Capture();

  private SpoolSidecar sidecar() throws Exception {
    return SpoolSidecar.withPublisher(
        SidecarConfig.load("", Map.of(), Map.of("spool.dir", spool.toString())),
        published,
        registry);
  }

  private void write(String name, String text) throws Exception {
    Files.writeString(spool.resolve(name), text, StandardCharsets.UTF_8);
  }

  private void writeNpy(String name, int rows, int d) throws Exception {
    float[] data = new float[rows * d];
    for (int i = 0; i < data.length; i++) {
      data[i] = (float) Math.sin(i + 1);
    }
    Files.write(spool.resolve(name), SpoolFiles.npy(rows, d, data));
  }

  @Test
  void theScalarsOfAStepTravelWithEveryArrayFileOfThatStepOnly() throws Exception {
    writeNpy("run=r,rank=0,world=1,layer=a,step=10.npy", 8, 4);
    writeNpy("run=r,rank=0,world=1,layer=b,step=10.npy", 8, 4);
    writeNpy("run=r,rank=0,world=1,layer=a,step=20.npy", 8, 4);
    write(
        "run=r,rank=0,world=1,step=10.scalars",
        "# written by hand\nloss 2.5 10\nheldout.accuracy 0.75\n\neval_loss nan\n");
    try (SpoolSidecar s = sidecar()) {
      s.drainOnce();
    }
    assertThat(published.records).hasSize(3);
    for (SnapshotRecord r : published.records) {
      if (r.metadata().step() == 10) {
        assertThat(r.scalars().values())
            .containsExactly(
                Map.entry("heldout.accuracy", new TrainingScalars.Scalar(1, 0.75)),
                Map.entry("loss", new TrainingScalars.Scalar(10, 2.5)));
      } else {
        assertThat(r.scalars().isEmpty()).as("step 20 has no scalars file").isTrue();
      }
    }
    assertThat(
            registry
                .find("phasewatch.sidecar.scalars.dropped")
                .tag("reason", "non_finite")
                .counter()
                .count())
        .isEqualTo(1);
    try (var left = Files.list(spool)) {
      assertThat(left.map(p -> p.getFileName().toString())).allMatch(n -> n.startsWith("."));
    }
  }

  @Test
  void aBadScalarsFileIsRejectedWithItsReasonAndTheArraysStillGo() throws Exception {
    writeNpy("run=r,rank=0,world=1,layer=a,step=10.npy", 8, 4);
    write("run=r,rank=0,world=1,step=10.scalars", "loss 2.5\nHeldOut 0.3\n");
    write("run=r,rank=0,world=1,layer=a,step=11.scalars", "loss 1\n");
    try (SpoolSidecar s = sidecar()) {
      s.drainOnce();
    }
    assertThat(published.records).singleElement();
    assertThat(published.records.get(0).scalars().isEmpty()).isTrue();
    assertThat(
            Files.readString(
                spool.resolve("rejected").resolve("run=r,rank=0,world=1,step=10.scalars.reason")))
        .contains("scalars line 2")
        .contains("is not [a-z][a-z0-9_.]*");
    assertThat(
            Files.readString(
                spool
                    .resolve("rejected")
                    .resolve("run=r,rank=0,world=1,layer=a,step=11.scalars.reason")))
        .contains("belongs to every layer of its step");
    assertThat(
            registry
                .find("phasewatch.sidecar.files.rejected")
                .tag("reason", "scalars")
                .counter()
                .count())
        .isEqualTo(1);
  }

  @Test
  void thePythonHelperWritesTheScalarsTheSidecarSends() throws Exception {
    if (!Files.isExecutable(Path.of(PYTHON))) {
      fail(PYTHON + " with torch is needed for this test; .ci/run installs python3-torch");
    }
    String script =
        String.join(
            "\n",
            "import sys, torch",
            "sys.path.insert(0, sys.argv[2])",
            "from phasewatch_spool import SpoolWriter",
            "torch.manual_seed(0)",
            "model = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.Tanh(),"
                + " torch.nn.Linear(16, 1))",
            "opt = torch.optim.SGD(model.parameters(), lr=0.05)",
            "w = SpoolWriter(sys.argv[1], run='py', rank=0, world=1)",
            "sample = {'on': False}",
            "w.hook({'hidden': model[1]}, rows=32, enabled=lambda: sample['on'])",
            "x, y = torch.randn(32, 6), torch.randn(32, 1)",
            "for step in range(1, 21):",
            "    loss = torch.nn.functional.mse_loss(model(x), y)",
            "    opt.zero_grad(); loss.backward(); opt.step()",
            "    w.set_step(step)",
            "    w.scalar('loss', loss.item())",
            "    print('loss', step, repr(loss.item()))",
            "    if step % 10 == 0:",
            "        w.scalar('learning_rate', 0.05)",
            "        w.scalar('heldout.accuracy', step / 40)",
            "        w.scalar('heldout.accuracy', float('inf'))",
            "        w.scalar('Eval Loss', 1.0)",
            "        sample['on'] = True",
            "        with torch.no_grad(): model(x)",
            "        sample['on'] = False",
            "        w.flush()",
            "print('dropped', w.scalars_dropped)");
    Path py = Files.writeString(spool.resolveSibling(spool.getFileName() + "-train.py"), script);
    Path helper = Path.of("../python").toAbsolutePath().normalize();
    Process p =
        new ProcessBuilder(PYTHON, py.toString(), spool.toString(), helper.toString())
            .redirectErrorStream(true)
            .start();
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    assertThat(out).contains("dropped 4"); // per flush: the infinite accuracy and a bad name
    double[] losses = new double[21];
    for (String line : out.lines().filter(l -> l.startsWith("loss ")).toList()) {
      String[] f = line.split(" ");
      losses[Integer.parseInt(f[1])] = Double.parseDouble(f[2]);
    }
    try (var files = Files.list(spool)) {
      assertThat(files.map(f -> f.getFileName().toString()).sorted().toList())
          .containsExactly(
              "run=py,stage=pretrain,rank=0,world=1,layer=hidden,step=10.npy",
              "run=py,stage=pretrain,rank=0,world=1,layer=hidden,step=20.npy",
              "run=py,stage=pretrain,rank=0,world=1,step=10.scalars",
              "run=py,stage=pretrain,rank=0,world=1,step=20.scalars");
    }

    try (SpoolSidecar s = sidecar()) {
      s.drainOnce();
    }
    List<SnapshotRecord> got = published.records;
    assertThat(got).extracting(r -> r.metadata().step()).containsExactly(10L, 20L);
    for (SnapshotRecord r : got) {
      int last = (int) r.metadata().step();
      double mean = 0;
      for (int step = last - 9; step <= last; step++) {
        mean += losses[step];
      }
      mean /= 10;
      TrainingScalars sc = r.scalars();
      assertThat(sc.values().get("loss").weight()).isEqualTo(10);
      assertThat(sc.value("loss").getAsDouble())
          .isCloseTo(mean, org.assertj.core.data.Offset.offset(1e-12));
      assertThat(sc.value("learning_rate")).hasValue(0.05);
      assertThat(sc.value("heldout.accuracy")).hasValue(last / 40.0);
      assertThat(r.snapshot().count()).isEqualTo(32);
    }
  }
}
