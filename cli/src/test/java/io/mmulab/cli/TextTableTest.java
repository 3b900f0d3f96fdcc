package io.mmulab.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class TextTableTest {
  @Test
  void render_padsColumns_rightAlignsNumbers_andSplitsMultiLineCells() {
    TextTable t = new TextTable("NAME", "N>", "NOTE");
    t.add("a", "1", "x\ny");
    t.add("long name", "100", "");
    assertThat(t.render())
        .isEqualTo(
            """
            NAME         N  NOTE
            ---------  ---  ----
            a            1  x
                            y
            long name  100
            """);
  }

  @Test
  void add_wrongCellCount_isRejected() {
    assertThatThrownBy(() -> new TextTable("A", "B").add("1"))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
