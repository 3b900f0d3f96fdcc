package io.mmulab.testkit.tutorial;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * {@code docs/writing-a-driver.md} shows the tutorial driver's code: every {@code java} block must
 * appear, line for line (indentation aside), in the compiled example's sources, so the document
 * cannot drift from code that builds and passes the conformance suite. A line {@code // ...} in a
 * block stands for any number of lines left out.
 */
class TutorialDocTest {
  private static final String ELISION = "// ...";
  private static final Path ROOT = projectRoot();
  private static final Path DOC = ROOT.resolve("docs/writing-a-driver.md");
  private static final List<Path> SOURCES =
      List.of(
          ROOT.resolve("testkit/src/main/java/io/mmulab/testkit/tutorial"),
          ROOT.resolve("testkit/src/test/java/io/mmulab/testkit/TutorialConformanceTest.java"));

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

  /** Whether {@code block}'s segments (split at elisions) occur in {@code src}, in order. */
  static boolean contains(List<String> src, List<String> block) {
    List<String> s = src.stream().map(String::strip).toList();
    int from = 0;
    for (List<String> segment : segments(block)) {
      int at = indexOf(s, segment, from);
      if (at < 0) {
        return false;
      }
      from = at + segment.size();
    }
    return true;
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
