package io.phasewatch.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A self-signed certificate for {@code localhost} and {@code 127.0.0.1}, made by the JDK's own
 * {@code keytool} (no library, nothing downloaded): the broker's PKCS12 keystore and the PKCS12
 * truststore its clients check it against.
 */
record Tls(Path keystore, Path truststore, String password) {

  static Tls selfSigned(Path dir) throws IOException, InterruptedException {
    // A fresh throwaway password per broker: nothing outside the test ever sees these stores.
    String password = "pw-" + Long.toHexString(System.nanoTime());
    Path keystore = dir.resolve("broker.p12");
    Path cert = dir.resolve("broker.pem");
    Path truststore = dir.resolve("truststore.p12");
    keytool(
        "-genkeypair",
        "-alias",
        "broker",
        "-keyalg",
        "RSA",
        "-keysize",
        "2048",
        "-validity",
        "2",
        "-dname",
        "CN=localhost",
        "-ext",
        "SAN=dns:localhost,ip:127.0.0.1",
        "-keystore",
        keystore.toString(),
        "-storetype",
        "PKCS12",
        "-storepass",
        password,
        "-keypass",
        password);
    keytool(
        "-exportcert",
        "-rfc",
        "-alias",
        "broker",
        "-keystore",
        keystore.toString(),
        "-storepass",
        password,
        "-file",
        cert.toString());
    keytool(
        "-importcert",
        "-noprompt",
        "-alias",
        "broker",
        "-file",
        cert.toString(),
        "-keystore",
        truststore.toString(),
        "-storetype",
        "PKCS12",
        "-storepass",
        password);
    return new Tls(keystore, truststore, password);
  }

  /** The broker's side: its keystore. */
  Map<String, String> brokerProperties() {
    return Map.of(
        "ssl.keystore.location",
        keystore.toString(),
        "ssl.keystore.type",
        "PKCS12",
        "ssl.keystore.password",
        password,
        "ssl.key.password",
        password);
  }

  /** A client's side: TLS and the truststore. */
  Map<String, String> clientProperties() {
    return Map.of(
        "security.protocol",
        "SSL",
        "ssl.truststore.location",
        truststore.toString(),
        "ssl.truststore.type",
        "PKCS12",
        "ssl.truststore.password",
        password);
  }

  private static void keytool(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.waitFor() != 0) {
      throw new IOException("keytool " + args[0] + " failed: " + out.strip());
    }
  }
}
