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
}
