package io.mmulab.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmulab.api.driver.ViolationKind;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonTest {
  @Test
  void write_nestsMapsAndLists_inInsertionOrder() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", "dmirror");
    m.put("seeds", 200);
    m.put("clean", true);
    m.put("kinds", List.of(ViolationKind.STALE_USE));
    m.put("none", null);
    m.put("empty", List.of());
    m.put("rate", Double.NaN);
    assertThat(Json.write(m))
        .isEqualTo(
            """
            {
              "name": "dmirror",
              "seeds": 200,
              "clean": true,
              "kinds": [
                "STALE_USE"
              ],
              "none": null,
              "empty": [],
              "rate": null
            }""");
  }

  @Test
  void write_escapesStrings() {
    assertThat(Json.write(Arrays.asList("a\"b\\c\nd\u0001")))
        .contains("\"a\\\"b\\\\c\\nd\\u0001\"");
  }

  @Test
  void write_unknownType_isRejected() {
    assertThatThrownBy(() -> Json.write(new Object())).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void read_givesBackWhatWriteWrote() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", "a\"b\\c\nd\u0001é");
    m.put("seeds", 999_999_999_999_999_999L);
    m.put("negative", -3L);
    m.put("rate", 1.5e-3);
    m.put("clean", true);
    m.put("dirty", false);
    m.put("none", null);
    m.put("list", List.of(1L, List.of(), Map.of()));

    assertThat(Json.read(Json.write(m))).isEqualTo(m);
    assertThat(Json.read(" [\"\\u0041\\/\\t\"] ")).isEqualTo(List.of("A/\t"));
  }

  @Test
  void read_malformed_namesTheOffsetAndWhatWasExpected() {
    String[][] bad = {
      {"", "offset 0: expected a value"},
      {"{\"a\": 1", "offset 7: expected '}'"},
      {"{\"a\": 1, \"a\": 2}", "offset 9: expected a key other than the repeated \"a\""},
      {"[1, 2] x", "offset 7: expected the end of the document"},
      {"\"abc", "offset 4: expected the closing quote"},
      {"\"\\x\"", "offset 2: expected an escape such as \\n"},
      {"01", "offset 0: expected a value"},
      {"tru", "offset 0: expected a value"},
      {"{1: 2}", "offset 1: expected a string key"}
    };
    for (String[] b : bad) {
      assertThatThrownBy(() -> Json.read(b[0]))
          .as(b[0])
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("bad JSON at " + b[1]);
    }
  }
}
