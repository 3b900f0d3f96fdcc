/**
 * hfi1 (Intel Omni-Path) ported three times onto the simulated HFI ({@code io.mmulab.sim.hfi}):
 * expected receive (TIDs programmed into the RcvArray from pinned user buffers) and the SDMA
 * pinned-page cache, both registration caches. See {@link io.mmulab.driver.hfi1.Hfi1Factory} and
 * the module's MIGRATION.md.
 */
@NullMarked
package io.mmulab.driver.hfi1;

import org.jspecify.annotations.NullMarked;
