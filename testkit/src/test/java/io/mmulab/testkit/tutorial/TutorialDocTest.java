package io.mmulab.testkit.tutorial;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * {@code docs/writing-a-driver.md} shows the tutorial driver's code: every {@code java} block must
 * appear, line for line (indentation aside), in the compiled example's sources, so the document
 * cannot drift from code that builds and passes the conformance suite. A line {@code // ...} in a
 * block stands for whole members left out (fields, methods, nested types), never for lines of a
 * method body: an excerpt shows a method whole or not at all.
 */
class TutorialDocTest {
  private static final String ELISION = "// ...";
  private static final Path ROOT = projectRoot();
  private static final Path DOC = ROOT.resolve("docs/writing-a-driver.md");
  private static final List<Path> SOURCES =
      List.of(
          ROOT.resolve("testkit/src/main/java/io/mmulab/testkit/tutorial"),
          ROOT.resolve("testkit/src/main/java/io/mmulab/testkit/regcache"),
          ROOT.resolve("testkit/src/test/java/io/mmulab/testkit/TutorialConformanceTest.java"),
          ROOT.resolve("testkit/src/test/java/io/mmulab/testkit/tutorial/fence"),
          ROOT.resolve("testkit/src/test/java/io/mmulab/testkit/regcache"));

  @Test
  void document_hasJavaExcerpts() {
    assertThat(javaBlocks()).hasSizeGreaterThan(10);
  }

  @TestFactory
  Stream<DynamicTest> everyJavaBlock_appearsVerbatimInTheExample() {
    List<List<String>> sources = sources();
    List<Block> blocks = javaBlocks();
    return blocks.stream()
        .map(
            b ->
                DynamicTest.dynamicTest(
                    "block at line " + b.line(),
                    () ->
                        assertThat(sources.stream().anyMatch(src -> contains(src, b.lines())))
                            .as(
                                "the java block at %s:%d is not in the tutorial's sources:%n%s",
                                DOC, b.line(), String.join("\n", b.lines()))
                            .isTrue()));
  }

  @Test
  void contains_matchesSegmentsInOrder_acrossElisions() {
    List<String> src = List.of("a", "  b", "c", "d", "e");

    assertThat(contains(src, List.of("b", "c"))).isTrue();
    assertThat(contains(src, List.of("a", ELISION, "d", "e"))).isTrue();
    assertThat(contains(src, List.of("a", "c"))).isFalse();
    assertThat(contains(src, List.of("d", ELISION, "a"))).isFalse();
  }

  @Test
  void contains_acceptsAnElisionOnlyForWholeMembers() {
    List<String> src =
        List.of(
            "final class A {",
            "  int x;",
            "  void f() {",
            "    g(\"}\"); // {",
            "    h();",
            "  }",
            "  void k() {",
            "    m();",
            "  }",
            "}");

    assertThat(contains(src, List.of("int x;", ELISION, "void k() {"))).isTrue();
    assertThat(contains(src, List.of("void f() {", ELISION, "}"))).isFalse();
    assertThat(contains(src, List.of("void f() {", ELISION, "h();"))).isFalse();
    assertThat(contains(src, List.of("int x;", ELISION, "h();"))).isFalse();
    assertThat(contains(src, List.of("h();", ELISION, "m();"))).isFalse();
  }

  /**
   * Whether {@code block}'s segments (split at elisions) occur in {@code src}, in order, each
   * elision between two segments standing for whole members: the lines it skips close every bracket
   * they open, and they sit directly in a type's body (or at the top of the file), never inside a
   * method body or an expression.
   */
  static boolean contains(List<String> src, List<String> block) {
    List<String> s = src.stream().map(String::strip).toList();
    return matchFrom(s, brackets(src), segments(block), 0, -1);
  }

  private static boolean matchFrom(
      List<String> s, List<List<Integer>> open, List<List<String>> segments, int seg, int after) {
    if (seg == segments.size()) {
      return true;
    }
    List<String> segment = segments.get(seg);
    for (int at = indexOf(s, segment, Math.max(after, 0));
        at >= 0;
        at = indexOf(s, segment, at + 1)) {
      boolean skipOk = after < 0 || wholeMembers(open, after, at);
      if (skipOk && matchFrom(s, open, segments, seg + 1, at + segment.size())) {
        return true;
      }
    }
    return false;
  }

  /**
   * Whether source lines {@code [from, to)} are whole members: the brackets open before {@code
   * from} are those open before {@code to} (so the lines are balanced and never close an outer
   * one), and the innermost of them is a type's body.
   */
  private static boolean wholeMembers(List<List<Integer>> open, int from, int to) {
    List<Integer> before = open.get(from);
    for (int i = from; i <= to; i++) {
      List<Integer> now = open.get(i);
      if (now.size() < before.size() || !now.subList(0, before.size()).equals(before)) {
        return false;
      }
    }
    if (!open.get(to).equals(before)) {
      return false;
    }
    return before.isEmpty() || before.get(before.size() - 1) >= 0;
  }

  private static final Pattern TYPE_HEADER =
      Pattern.compile(
          "(\\b(class|interface|enum|record)\\s+\\w+|\\bnew\\s+[\\w.<>]+\\s*\\(.*\\)\\s*$)");

  /**
   * For each line, the brackets open before it, outermost first: a {@code '{'} opening a type's
   * body as its position, any other bracket ({@code '{'} of a method or block, {@code '('}) as -1
   * minus its position. Strings, character literals and comments are skipped.
   */
  private static List<List<Integer>> brackets(List<String> src) {
    List<List<Integer>> out = new ArrayList<>();
    List<Integer> stack = new ArrayList<>();
    StringBuilder header = new StringBuilder();
    boolean inComment = false;
    int position = 0;
    for (String line : src) {
      out.add(List.copyOf(stack));
      for (int i = 0; i < line.length(); i++, position++) {
        char c = line.charAt(i);
        if (inComment) {
          if (line.startsWith("*/", i)) {
            inComment = false;
            i++;
            position++;
          }
        } else if (line.startsWith("/*", i)) {
          inComment = true;
          i++;
          position++;
        } else if (line.startsWith("//", i)) {
          position += line.length() - i;
          break;
        } else if (c == '"' || c == '\'') {
          int end = i + 1;
          while (end < line.length() && line.charAt(end) != c) {
            end += line.charAt(end) == '\\' ? 2 : 1;
          }
          position += end - i;
          i = end;
        } else if (c == '{' || c == '(') {
          boolean type = c == '{' && TYPE_HEADER.matcher(header.toString().strip()).find();
          stack.add(type ? position : -1 - position);
          if (c == '{') {
            header.setLength(0);
          } else {
            header.append(c);
          }
        } else if (c == '}' || c == ')') {
          if (!stack.isEmpty()) {
            stack.remove(stack.size() - 1);
          }
          if (c == '}') {
            header.setLength(0);
          } else {
            header.append(c);
          }
        } else if (c == ';') {
          header.setLength(0);
        } else {
          header.append(c);
        }
      }
      header.append(' ');
      position++;
    }
    out.add(List.copyOf(stack));
    return out;
  }

  private static List<List<String>> segments(List<String> block) {
    List<List<String>> out = new ArrayList<>();
    List<String> current = new ArrayList<>();
    for (String line : block) {
      if (line.strip().equals(ELISION)) {
        out.add(current);
        current = new ArrayList<>();
      } else {
        current.add(line.strip());
      }
    }
    out.add(current);
    out.removeIf(List::isEmpty);
    return out;
  }

  private static int indexOf(List<String> s, List<String> segment, int from) {
    for (int i = from; i + segment.size() <= s.size(); i++) {
      if (s.subList(i, i + segment.size()).equals(segment)) {
        return i;
      }
    }
    return -1;
  }

  private record Block(int line, List<String> lines) {}

  private static List<Block> javaBlocks() {
    List<String> doc = read(DOC);
    List<Block> blocks = new ArrayList<>();
    for (int i = 0; i < doc.size(); i++) {
      if (doc.get(i).strip().equals("```java")) {
        int start = i + 1;
        int end = start;
        while (!doc.get(end).strip().equals("```")) {
          end++;
        }
        blocks.add(new Block(start, doc.subList(start, end)));
        i = end;
      }
    }
    return blocks;
  }

  private static List<List<String>> sources() {
    List<List<String>> out = new ArrayList<>();
    for (Path p : SOURCES) {
      try (Stream<Path> files = Files.walk(p)) {
        files.filter(f -> f.toString().endsWith(".java")).forEach(f -> out.add(read(f)));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return out;
  }

  private static List<String> read(Path p) {
    try {
      return Files.readAllLines(p);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The directory holding {@code docs/}: the module's parent when Maven runs the test. */
  private static Path projectRoot() {
    for (Path p = Path.of(System.getProperty("user.dir")).toAbsolutePath(); p != null; ) {
      if (Files.exists(p.resolve("docs/writing-a-driver.md"))) {
        return p;
      }
      p = p.getParent();
    }
    throw new IllegalStateException(
        "docs/writing-a-driver.md not found above " + System.getProperty("user.dir"));
  }
}
