package io.mmulab.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class FootprintTest {

  @Test
  void subscriptions_tenThousand_retainAtMost96BytesEach() {
    Footprint.Result r = Footprint.subscriptions(10_000, 8, DispatchLayout.DEFAULT_SEED);

    assertThat(r.n()).isEqualTo(10_000);
    assertThat(r.perMember()).isLessThanOrEqualTo(96.0);
    // Nothing but the subscription object itself is retained per subscription.
    assertThat(r.perMember()).isEqualTo((double) Footprint.subscriptionShallowSize());
  }

  @Test
  void treeNodes_tenThousand_retainTheirShallowSize() {
    Footprint.Result r = Footprint.treeNodes(10_000);

    assertThat(r.n()).isEqualTo(10_000);
    assertThat(r.perMember()).isEqualTo((double) Footprint.treeNodeShallowSize());
  }

  @Test
  void subscriptionLayout_namesTheNodeFields() {
    assertThat(Footprint.subscriptionLayout()).contains("subtreeLast").contains("invalidateSeq");
  }
}
