package io.mmulab.cli;

import java.util.Iterator;
import java.util.Map;

/**
 * A minimal JSON writer for the CLI's summaries: maps (insertion order kept), iterables, strings,
 * numbers, booleans and null. Written by hand because the output is a few small, flat objects.
 */
final class Json {
  private Json() {}

  /**
   * Serialises {@code value} with two-space indentation.
   *
   * @param value a {@link Map} with string keys, an {@link Iterable}, a {@link CharSequence}, a
   *     {@link Number}, a {@link Boolean}, an enum constant or null
   * @return the JSON text
   * @throws IllegalArgumentException for any other type
   */
  static String write(Object value) {
    StringBuilder sb = new StringBuilder();
    write(sb, value, 0);
    return sb.toString();
  }

  private static void write(StringBuilder sb, Object value, int depth) {
    if (value == null) {
      sb.append("null");
    } else if (value instanceof Map<?, ?> map) {
      writeMap(sb, map, depth);
    } else if (value instanceof Iterable<?> list) {
      writeList(sb, list, depth);
    } else if (value instanceof CharSequence || value instanceof Enum<?>) {
      string(sb, value.toString());
    } else if (value instanceof Double d && (d.isNaN() || d.isInfinite())) {
      sb.append("null");
    } else if (value instanceof Number || value instanceof Boolean) {
      sb.append(value);
    } else {
      throw new IllegalArgumentException("not JSON: " + value.getClass().getName());
    }
  }

  private static void writeMap(StringBuilder sb, Map<?, ?> map, int depth) {
    if (map.isEmpty()) {
      sb.append("{}");
      return;
    }
    sb.append('{');
    Iterator<? extends Map.Entry<?, ?>> it = map.entrySet().iterator();
    while (it.hasNext()) {
      Map.Entry<?, ?> e = it.next();
      newline(sb, depth + 1);
      string(sb, String.valueOf(e.getKey()));
      sb.append(": ");
      write(sb, e.getValue(), depth + 1);
      if (it.hasNext()) {
        sb.append(',');
      }
    }
    newline(sb, depth);
    sb.append('}');
  }

  private static void writeList(StringBuilder sb, Iterable<?> list, int depth) {
    Iterator<?> it = list.iterator();
    if (!it.hasNext()) {
      sb.append("[]");
      return;
    }
    sb.append('[');
    while (it.hasNext()) {
      newline(sb, depth + 1);
      write(sb, it.next(), depth + 1);
      if (it.hasNext()) {
        sb.append(',');
      }
    }
    newline(sb, depth);
    sb.append(']');
  }

  private static void newline(StringBuilder sb, int depth) {
    sb.append('\n').append("  ".repeat(depth));
  }

  private static void string(StringBuilder sb, String s) {
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> {
          if (c < 0x20) {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    sb.append('"');
  }
}
