package io.mmulab.cli;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A minimal JSON writer for the CLI's summaries: maps (insertion order kept), iterables, strings,
 * numbers, booleans and null; and a reader of the same, for {@code merge}. Written by hand because
 * the documents are a few small, flat objects.
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

  /**
   * Parses a JSON document.
   *
   * @param text the document
   * @return a {@link Map} (keys in document order), a {@link List}, a {@link String}, a {@link
   *     Long} (an integer that fits), a {@link Double} (any other number), a {@link Boolean} or
   *     null
   * @throws IllegalArgumentException naming the offset and what was expected there
   */
  static @Nullable Object read(String text) {
    Reader r = new Reader(text);
    Object value = r.value();
    r.skipSpace();
    if (r.pos != text.length()) {
      throw r.error("the end of the document");
    }
    return value;
  }

  /** A recursive-descent parser over one document. */
  private static final class Reader {
    private final String s;
    private int pos;

    Reader(String s) {
      this.s = s;
    }

    @Nullable Object value() {
      skipSpace();
      if (pos >= s.length()) {
        throw error("a value");
      }
      char c = s.charAt(pos);
      return switch (c) {
        case '{' -> object();
        case '[' -> array();
        case '"' -> string();
        case 't' -> literal("true", Boolean.TRUE);
        case 'f' -> literal("false", Boolean.FALSE);
        case 'n' -> literal("null", null);
        default -> number();
      };
    }

    private Map<String, Object> object() {
      pos++;
      Map<String, Object> map = new LinkedHashMap<>();
      skipSpace();
      if (peek() == '}') {
        pos++;
        return map;
      }
      while (true) {
        skipSpace();
        if (peek() != '"') {
          throw error("a string key");
        }
        int keyAt = pos;
        String key = string();
        if (map.containsKey(key)) {
          pos = keyAt;
          throw error("a key other than the repeated \"" + key + "\"");
        }
        skipSpace();
        expect(':');
        map.put(key, value());
        skipSpace();
        if (peek() == ',') {
          pos++;
        } else {
          expect('}');
          return map;
        }
      }
    }

    private List<Object> array() {
      pos++;
      List<Object> list = new ArrayList<>();
      skipSpace();
      if (peek() == ']') {
        pos++;
        return list;
      }
      while (true) {
        list.add(value());
        skipSpace();
        if (peek() == ',') {
          pos++;
        } else {
          expect(']');
          return list;
        }
      }
    }

    private String string() {
      pos++;
      StringBuilder sb = new StringBuilder();
      while (true) {
        if (pos >= s.length()) {
          throw error("the closing quote");
        }
        char c = s.charAt(pos++);
        if (c == '"') {
          return sb.toString();
        }
        if (c < 0x20) {
          throw error("no control character in a string");
        }
        if (c != '\\') {
          sb.append(c);
          continue;
        }
        char e = pos < s.length() ? s.charAt(pos++) : 0;
        switch (e) {
          case '"', '\\', '/' -> sb.append(e);
          case 'b' -> sb.append('\b');
          case 'f' -> sb.append('\f');
          case 'n' -> sb.append('\n');
          case 'r' -> sb.append('\r');
          case 't' -> sb.append('\t');
          case 'u' -> {
            if (pos + 4 > s.length()) {
              throw error("four hex digits");
            }
            try {
              sb.append((char) Integer.parseInt(s.substring(pos, pos + 4), 16));
            } catch (NumberFormatException x) {
              throw error("four hex digits");
            }
            pos += 4;
          }
          default -> {
            pos--;
            throw error("an escape such as \\n");
          }
        }
      }
    }

    private @Nullable Object literal(String word, @Nullable Object value) {
      if (!s.startsWith(word, pos)) {
        throw error("a value");
      }
      pos += word.length();
      return value;
    }

    private Object number() {
      int start = pos;
      while (pos < s.length() && "+-0123456789.eE".indexOf(s.charAt(pos)) >= 0) {
        pos++;
      }
      String n = s.substring(start, pos);
      if (!n.matches("-?(0|[1-9]\\d*)(\\.\\d+)?([eE][+-]?\\d+)?")) {
        pos = start;
        throw error("a value");
      }
      if (n.matches("-?\\d+")) {
        try {
          return Long.parseLong(n);
        } catch (NumberFormatException e) {
          // too large for a long: a double, as JSON numbers are
        }
      }
      return Double.parseDouble(n);
    }

    private void expect(char c) {
      if (peek() != c) {
        throw error("'" + c + "'");
      }
      pos++;
    }

    private char peek() {
      return pos < s.length() ? s.charAt(pos) : 0;
    }

    void skipSpace() {
      while (pos < s.length() && " \t\r\n".indexOf(s.charAt(pos)) >= 0) {
        pos++;
      }
    }

    IllegalArgumentException error(String expected) {
      return new IllegalArgumentException("bad JSON at offset " + pos + ": expected " + expected);
    }
  }
}
