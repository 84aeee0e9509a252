package io.phasewatch.collector;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** Keeps the dependency direction of DESIGN.md visible: the math knows no Kafka, Vert.x or DJL. */
class ArchitectureTest {

  private static final JavaClasses PHASEWATCH =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .importPackages("io.phasewatch");

  @Test
  void mathPackagesKnowNoKafkaVertxOrDjl() {
    noClasses()
        .that()
        .resideInAnyPackage(
            "io.phasewatch.agent.sketch..",
            "io.phasewatch.agent.wire..",
            "io.phasewatch.collector.spectrum..",
            "io.phasewatch.collector.phase..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("org.apache.kafka..", "io.vertx..", "ai.djl..", "kafka..")
        .check(PHASEWATCH);
  }

  @Test
  void onlyTheDjlPackageImportsDjl() {
    noClasses()
        .that()
        .resideOutsideOfPackage("io.phasewatch.agent.djl..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("ai.djl..")
        .check(PHASEWATCH);
  }

  @Test
  void agentDoesNotDependOnTheCollector() {
    noClasses()
        .that()
        .resideInAPackage("io.phasewatch.agent..")
        .should()
        .dependOnClassesThat()
        .resideInAPackage("io.phasewatch.collector..")
        .check(PHASEWATCH);
  }

  @Test
  void onlyTheDemoStartsAnEmbeddedBroker() {
    noClasses()
        .that()
        .resideOutsideOfPackage("io.phasewatch.collector.demo..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("kafka.server..", "kafka.tools..")
        .check(PHASEWATCH);
  }
}
