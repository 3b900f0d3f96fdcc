package io.mmulab.cli;

import java.util.ArrayList;
import java.util.List;

/**
 * A plain-text table: a header row, a rule, then rows; a cell may hold several lines, numeric
 * columns are right-aligned.
 */
final class TextTable {
  private final List<String> headers;
  private final boolean[] right;
  private final List<List<String>> rows = new ArrayList<>();

  /**
   * Creates a table.
   *
   * @param headers the column titles; a title ending in {@code ">"} marks a right-aligned column
   *     (the mark is not printed)
   */
  TextTable(String... headers) {
    this.headers = new ArrayList<>();
    this.right = new boolean[headers.length];
    for (int i = 0; i < headers.length; i++) {
      right[i] = headers[i].endsWith(">");
      this.headers.add(right[i] ? headers[i].substring(0, headers[i].length() - 1) : headers[i]);
    }
  }

  /**
   * Adds a row.
   *
   * @param cells one per column; {@code "\n"} separates the lines of a cell
   * @throws IllegalArgumentException if the count does not match the headers
   */
  void add(String... cells) {
    if (cells.length != headers.size()) {
      throw new IllegalArgumentException(
          cells.length + " cells for " + headers.size() + " columns");
    }
    rows.add(List.of(cells));
  }

  /**
   * Renders the table.
   *
   * @return the lines, each ending in a newline
   */
  String render() {
    int[] widths = new int[headers.size()];
    for (int c = 0; c < widths.length; c++) {
      widths[c] = headers.get(c).length();
      for (List<String> row : rows) {
        for (String line : row.get(c).split("\n", -1)) {
          widths[c] = Math.max(widths[c], line.length());
        }
      }
    }
    StringBuilder sb = new StringBuilder();
    line(sb, headers, widths);
    for (int c = 0; c < widths.length; c++) {
      sb.append(c == 0 ? "" : "  ").append("-".repeat(widths[c]));
    }
    sb.append('\n');
    for (List<String> row : rows) {
      List<String[]> cells = new ArrayList<>();
      int height = 1;
      for (String cell : row) {
        String[] lines = cell.split("\n", -1);
        cells.add(lines);
        height = Math.max(height, lines.length);
      }
      for (int l = 0; l < height; l++) {
        List<String> line = new ArrayList<>();
        for (String[] lines : cells) {
          line.add(l < lines.length ? lines[l] : "");
        }
        line(sb, line, widths);
      }
    }
    return sb.toString();
  }

  private void line(StringBuilder sb, List<String> cells, int[] widths) {
    StringBuilder line = new StringBuilder();
    for (int c = 0; c < widths.length; c++) {
      String s = cells.get(c);
      String pad = " ".repeat(widths[c] - s.length());
      line.append(c == 0 ? "" : "  ").append(right[c] ? pad + s : s + pad);
    }
    sb.append(line.toString().stripTrailing()).append('\n');
  }
}
