package io.mmulab.sim.check;

/** The checker's wording of addresses, ranges and CPU entries in events and messages. */
final class Format {
  private Format() {}

  static String hex(long v) {
    return "0x" + Long.toHexString(v);
  }

  static String range(long start, long endExclusive) {
    return "[" + hex(start) + ", " + hex(endExclusive) + ")";
  }

  static String pte(long pfn, boolean writable) {
    return pfn == CoherencyChecker.NO_PFN ? "none" : "pfn " + pfn + (writable ? " rw" : " ro");
  }
}
