package io.mmulab.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The repository's guides are self-contained: every relative link in {@code docs/*.md}, the root
 * README and each module's README and migration notes resolves to a file of the repository (and,
 * for {@code #anchor}s, to a heading of it, by the slug GitHub generates), and no text points at a
 * {@code shared} folder beside it. Lives in {@code cli}, the last module of the build that has no
 * heavy test dependencies, so it sees every module's files already in place.
 */
class DocLinksTest {
  private static final Pattern LINK =
      Pattern.compile("\\[[^\\]]*]\\(([^)\\s]+)(?:\\s+\"[^\"]*\")?\\)");
  private static final Pattern HEADING = Pattern.compile("^#{1,6}\\s+(.*?)\\s*#*\\s*$");
  private static final Pattern FENCE = Pattern.compile("^\\s*(```|~~~)");

  private static final Path ROOT = root();

  @Test
  void everyRelativeLink_resolvesToAFileAndHeading() throws IOException {
    List<String> broken = new ArrayList<>();
    for (Path doc : documents()) {
      for (String target : links(doc)) {
        String problem = problem(doc, target);
        if (problem != null) {
          broken.add(ROOT.relativize(doc) + ": " + target + " (" + problem + ")");
        }
      }
    }
    assertThat(broken).as("broken links").isEmpty();
  }

  @Test
  void documentsAndSources_referToNoSharedFolder() throws IOException {
    List<String> found = new ArrayList<>();
    String shared = "shared" + "/"; // split, so that this file does not match itself
    try (Stream<Path> files = Files.walk(ROOT)) {
      for (Path f :
          files
              .filter(p -> !p.toString().contains("/target/") && !p.toString().contains("/.git/"))
              .filter(p -> p.toString().endsWith(".md") || p.toString().endsWith(".java"))
              .toList()) {
        List<String> lines = Files.readAllLines(f);
        for (int i = 0; i < lines.size(); i++) {
          if (lines.get(i).contains(shared)) {
            found.add(ROOT.relativize(f) + ":" + (i + 1) + ": " + lines.get(i).strip());
          }
        }
      }
    }
    assertThat(found).as("references to files outside the repository").isEmpty();
  }

  @Test
  void slug_followsGitHub() {
    assertThat(slug("The collision-retry pattern")).isEqualTo("the-collision-retry-pattern");
    assertThat(slug("With fences (asynchronous device access)"))
        .isEqualTo("with-fences-asynchronous-device-access");
    assertThat(slug("`hmmRangeFault`")).isEqualTo("hmmrangefault");
    assertThat(slug("testkit, integration-tests, cli, bench"))
        .isEqualTo("testkit-integration-tests-cli-bench");
    assertThat(slug("READ, WRITE and the counters")).isEqualTo("read-write-and-the-counters");
  }

  /** Returns the problem with a link, or null if it resolves. */
  private static String problem(Path doc, String target) throws IOException {
    if (target.matches("^[a-zA-Z][a-zA-Z0-9+.-]*:.*")) {
      return null; // an absolute URL (https:, mailto:) is not the repository's to check
    }
    int hash = target.indexOf('#');
    String file = hash < 0 ? target : target.substring(0, hash);
    String anchor = hash < 0 ? null : target.substring(hash + 1);
    Path resolved = file.isEmpty() ? doc : doc.getParent().resolve(file).normalize();
    if (!resolved.startsWith(ROOT)) {
      return "outside the repository";
    }
    if (!Files.exists(resolved)) {
      return "no such file";
    }
    if (anchor == null || !resolved.toString().endsWith(".md")) {
      return null;
    }
    return anchors(resolved).contains(anchor) ? null : "no heading with slug '" + anchor + "'";
  }

  private static List<Path> documents() throws IOException {
    List<Path> docs = new ArrayList<>();
    try (Stream<Path> s = Files.list(ROOT.resolve("docs"))) {
      s.filter(p -> p.toString().endsWith(".md")).sorted().forEach(docs::add);
    }
    docs.add(ROOT.resolve("README.md"));
    try (Stream<Path> s = Files.walk(ROOT, 3)) {
      s.filter(p -> !p.toString().contains("/target/") && !p.getParent().equals(ROOT))
          .filter(
              p -> {
                String n = p.getFileName().toString();
                return n.equals("README.md")
                    || n.equals("MIGRATION.md")
                    || n.endsWith("-MIGRATION.md");
              })
          .sorted()
          .forEach(docs::add);
    }
    assertThat(docs).as("documents scanned").hasSizeGreaterThan(8);
    return docs;
  }

  /** The link targets of a document, outside fenced code blocks and inline code. */
  private static List<String> links(Path doc) throws IOException {
    List<String> out = new ArrayList<>();
    boolean fenced = false;
    for (String line : Files.readAllLines(doc)) {
      if (FENCE.matcher(line).find()) {
        fenced = !fenced;
        continue;
      }
      if (fenced) {
        continue;
      }
      Matcher m = LINK.matcher(line.replaceAll("``[^`]*``|`[^`]*`(?!\\])", "``"));
      while (m.find()) {
        out.add(m.group(1));
      }
    }
    return out;
  }

  private static Set<String> anchors(Path doc) {
    try {
      Set<String> out = new HashSet<>();
      Map<String, Integer> seen = new HashMap<>();
      boolean fenced = false;
      for (String line : Files.readAllLines(doc)) {
        if (FENCE.matcher(line).find()) {
          fenced = !fenced;
          continue;
        }
        Matcher m = HEADING.matcher(line);
        if (fenced || !m.matches()) {
          continue;
        }
        String s = slug(m.group(1));
        int n = seen.merge(s, 1, Integer::sum) - 1;
        out.add(n == 0 ? s : s + "-" + n);
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * GitHub's heading slug: lower case, markup and punctuation dropped (letters, digits, {@code _},
   * {@code -} and spaces kept), each space a {@code -}.
   */
  static String slug(String heading) {
    String text = heading.replaceAll("\\[([^\\]]*)]\\([^)]*\\)", "$1").toLowerCase(Locale.ROOT);
    StringBuilder b = new StringBuilder();
    text.codePoints()
        .forEach(
            c -> {
              if (Character.isLetterOrDigit(c) || c == '_' || c == '-') {
                b.appendCodePoint(c);
              } else if (c == ' ') {
                b.append('-');
              }
            });
    return b.toString();
  }

  private static Path root() {
    Path p = Path.of("").toAbsolutePath();
    while (p != null && !(Files.isDirectory(p.resolve("docs")) && Files.exists(p.resolve("cli")))) {
      p = p.getParent();
    }
    assertThat(p).as("repository root above " + Path.of("").toAbsolutePath()).isNotNull();
    return p;
  }
}
