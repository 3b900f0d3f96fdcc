package io.mmulab.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class DriversCommandTest {
  @Test
  void drivers_listsEachDriverWithFamilyModelVariantsAndRaces() {
    Cli r = Cli.run("drivers");
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out())
        .contains("DRIVER", "FAMILY", "MODEL", "VARIANTS", "DECLARED RACES")
        .containsPattern("dmirror +TEST +SHADOW_PTE +legacy, consolidated +legacy: ")
        .contains(
            Cli.dmirrorRace().race().name()
                + " ("
                + String.join(", ", Cli.dmirrorRace().race().scenarios())
                + "; ")
        .containsPattern(BrokenMirrorPlugin.NAME + " +TEST +SHADOW_PTE +consolidated +none");
  }
}
