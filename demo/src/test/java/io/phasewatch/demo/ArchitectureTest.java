package io.phasewatch.demo;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Keeps the module graph and the dependency direction of DESIGN.md visible: core ← agent, core ←
 * collector, {agent, collector} ← demo, and core ← testkit, which every module's tests use; the
 * math knows no Kafka, Vert.x, DJL or Micrometer. It lives in the demo module because only there
 * are all modules' classes on one class path (Maven already refuses an undeclared module dependency
 * at compile time; this also catches one declared by mistake).
 */
class ArchitectureTest {

  private static final JavaClasses PHASEWATCH =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          // The other modules' test helpers reach this class path as *-tests.jar.
          .withImportOption(location -> !location.contains("-tests.jar"))
          .importPackages("io.phasewatch");

  @Test
  void coreDependsOnNoOtherModuleAndNoRuntimeFramework() {
    noClasses()
        .that()
        .resideInAPackage("io.phasewatch.core..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "io.phasewatch.agent..",
            "io.phasewatch.collector..",
            "io.phasewatch.demo..",
            "org.apache.kafka..",
            "io.vertx..",
            "ai.djl..",
            "io.micrometer..",
            "kafka..")
        .check(PHASEWATCH);
  }

  @Test
  void agentDependsOnNeitherTheCollectorNorTheDemo() {
    noClasses()
        .that()
        .resideInAPackage("io.phasewatch.agent..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("io.phasewatch.collector..", "io.phasewatch.demo..")
        .check(PHASEWATCH);
  }

  @Test
  void collectorDependsOnNeitherTheAgentNorTheDemo() {
    noClasses()
        .that()
        .resideInAPackage("io.phasewatch.collector..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("io.phasewatch.agent..", "io.phasewatch.demo..", "ai.djl..")
        .check(PHASEWATCH);
  }

  @Test
  void mathPackagesKnowNoKafkaVertxOrDjl() {
    noClasses()
        .that()
        .resideInAnyPackage("io.phasewatch.collector.spectrum..", "io.phasewatch.collector.phase..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("org.apache.kafka..", "io.vertx..", "ai.djl..", "kafka..")
        .check(PHASEWATCH);
  }

  @Test
  void onlyTheDjlTapsAndTheDemoImportDjl() {
    noClasses()
        .that()
        .resideOutsideOfPackages("io.phasewatch.agent.djl..", "io.phasewatch.demo..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("ai.djl..")
        .check(PHASEWATCH);
  }

  @Test
  void onlyTheDemoAndTheTestKitStartAnEmbeddedBroker() {
    noClasses()
        .that()
        .resideOutsideOfPackages("io.phasewatch.demo..", "io.phasewatch.testkit..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("kafka.server..", "kafka.tools..")
        .check(PHASEWATCH);
  }

  /** The test kit (a broker, a snapshot reader) is for tests: no production class may use it. */
  @Test
  void noProductionClassUsesTheTestKit() {
    noClasses()
        .that()
        .resideOutsideOfPackage("io.phasewatch.testkit..")
        .should()
        .dependOnClassesThat()
        .resideInAPackage("io.phasewatch.testkit..")
        .check(PHASEWATCH);
  }

  @Test
  void modulesAreFreeOfCycles() {
    slices().matching("io.phasewatch.(*)..").should().beFreeOfCycles().check(PHASEWATCH);
  }

  /** Within a module, packages depend one way: a package can be understood before its users. */
  @ParameterizedTest
  @ValueSource(strings = {"core", "agent", "collector", "demo"})
  void packagesOfEachModuleAreFreeOfCycles(String module) {
    slices()
        .matching("io.phasewatch." + module + ".(*)..")
        .should()
        .beFreeOfCycles()
        .check(PHASEWATCH);
  }
}
