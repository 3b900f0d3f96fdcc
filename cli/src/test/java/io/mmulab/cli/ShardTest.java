package io.mmulab.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ShardTest {
  @Test
  void slices_coverTheRangeExactlyOnce_inOrder() {
    SeedRange range = new SeedRange(10, 19);
    List<Long> seen = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      new Shard(i, 3).slice(range).orElseThrow().seeds().forEach(seen::add);
    }
    assertThat(seen).containsExactly(10L, 11L, 12L, 13L, 14L, 15L, 16L, 17L, 18L, 19L);
    assertThat(new Shard(1, 3).slice(range)).contains(new SeedRange(10, 13));
    assertThat(new Shard(3, 3).slice(range)).contains(new SeedRange(17, 19));
  }

  @Test
  void slice_moreShardsThanSeeds_leavesSomeEmpty() {
    SeedRange range = new SeedRange(1, 2);
    assertThat(new Shard(2, 4).slice(range)).contains(new SeedRange(2, 2));
    assertThat(new Shard(3, 4).slice(range)).isEqualTo(Optional.empty());
  }

  @Test
  void all_isTheWholeRange() {
    assertThat(Shard.ALL.slice(new SeedRange(5, 9))).contains(new SeedRange(5, 9));
  }

  @Test
  void parse_accepts_iOverN() {
    assertThat(Shard.parse("2/8")).isEqualTo(new Shard(2, 8));
    assertThat(Shard.parse("8/8")).hasToString("8/8");
  }

  @Test
  void parse_rejectsOutOfRangeAndGarbage() {
    for (String bad : new String[] {"3/2", "0/4", "1/0", "a/b", "1", "1/2/3", "-1/2"}) {
      assertThatThrownBy(() -> Shard.parse(bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("invalid shard '" + bad + "': expected i/n with 1 <= i <= n, such as 2/8");
    }
  }
}
