package io.phasewatch.collector.service;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class ServeCommandTest {

  @Test
  void unknownKeyOnTheCommandLineFailsBeforeAnythingStarts() {
    StringWriter err = new StringWriter();
    CommandLine cl = new CommandLine(new ServeCommand());
    cl.setErr(new PrintWriter(err));
    int code = cl.execute("--set", "http.prot=9000");
    assertThat(code).isEqualTo(2);
    assertThat(err.toString())
        .isEqualTo(
            "phasewatch-collector serve: collector config: unknown key 'http.prot' (flag in --set"
                + " http.prot); closest known key: 'http.port'"
                + System.lineSeparator());
  }

  @Test
  void helpListsTheConfigurationOptions() {
    StringWriter out = new StringWriter();
    CommandLine cl = new CommandLine(new ServeCommand());
    cl.setOut(new PrintWriter(out));
    assertThat(cl.execute("--help")).isZero();
    assertThat(out.toString()).contains("--config", "--set", "--bootstrap-servers", "--http-port");
  }
}
