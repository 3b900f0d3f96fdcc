package io.mmulab.cli;

/** The shell of mmulab's self-contained HTML pages: escaping, one style sheet, no external file. */
final class Html {
  private static final String STYLE =
      """
      body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d2330;background:#fff}
      h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 6px}
      h3{font-size:15px;margin:16px 0 4px}
      code,pre,.mono{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
      pre{background:#f5f6f8;border:1px solid #dde1e8;padding:8px;overflow:auto;max-height:360px}
      table.sum{border-collapse:collapse;margin:8px 0}
      table.sum th,table.sum td{border:1px solid #d5d9e0;padding:3px 8px;text-align:left;
      vertical-align:top}
      table.sum th{background:#eef1f5}td.num{text-align:right}
      .ok{color:#16703a}.bad{color:#b3261e;font-weight:600}.dim{color:#6b7280}
      .violation{border-left:4px solid #b3261e;background:#fdf1f0;padding:8px 12px;margin:8px 0}
      .legend span{display:inline-block;margin-right:14px}
      .swatch{display:inline-block;width:12px;height:12px;vertical-align:-1px;margin-right:4px}
      .scroll{overflow:auto;border:1px solid #dde1e8;max-height:80vh}
      .lanes{position:sticky;top:0;background:#fff;z-index:1}
      svg text{font:11px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
      svg .lane-title{font:600 12px system-ui,sans-serif}
      svg .lk{fill:#8a93a3}svg .win{fill:#1b4f9c;font-weight:700}svg .dma{fill:#7a3e9d}
      svg .fail{fill:#b3261e;font-weight:700}svg .step{fill:#9aa3b2}
      svg .mark{fill:#b3261e;font-weight:700}svg .band-label{fill:#1d2330}
      .pair{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
      .pair figure{margin:0;overflow:auto;max-width:100%;width:min-content;border:1px solid #dde1e8;
      padding:6px}
      .pair figcaption{font-weight:600;margin-bottom:4px}.pair .fixed figcaption{color:#16703a}
      svg.story .band{fill:#2f6fd6;fill-opacity:.10}svg.story .band-t{fill:#2f6fd6}
      svg.story .lane-h{fill:#eef1f5}svg.story .lane-t{font:600 12px system-ui,sans-serif}
      svg.story .lane-l{stroke:#dde1e8;stroke-dasharray:2 3}svg.story .no{fill:#9aa3b2}
      svg.story .st rect{fill:#fff;stroke:#8a93a3}
      svg.story .r-violation rect{fill:#fbd5d1;stroke:#b3261e;stroke-width:2}
      svg.story .r-access rect,svg.story .r-program rect{fill:#f3e8fb;stroke:#7a3e9d}
      svg.story .r-lookup rect{fill:#fff4d6;stroke:#b07800}
      svg.story .r-invalidation rect,svg.story .r-pte rect{fill:#e3edfc;stroke:#2f6fd6}
      svg.story .r-seq rect{fill:#e4f5ec;stroke:#16703a}svg.story .r-lock text{fill:#6b7280}
      svg.story .r-wait rect{fill:#fde9cc;stroke:#e08a00}svg.story .r-frame rect{stroke:#c2417b}
      svg.story .ar path{fill:none;stroke:#1d2330;stroke-width:1.2}svg.story .ar text{fill:#1d2330;paint-order:stroke;stroke:#fff;stroke-width:3px}
      svg.story .co rect{stroke-dasharray:4 3;fill:#fff}svg.story .co.bad rect{stroke:#b3261e}
      svg.story .co.bad text{fill:#b3261e;font-weight:700}svg.story .co.good rect{stroke:#16703a}
      svg.story .co.good text{fill:#16703a;font-weight:700}
      """;

  private Html() {}

  /**
   * Escapes text for HTML and SVG content and attribute values.
   *
   * @param s the text
   * @return the escaped text
   */
  static String esc(String s) {
    StringBuilder sb = new StringBuilder(s.length() + 16);
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '&' -> sb.append("&amp;");
        case '<' -> sb.append("&lt;");
        case '>' -> sb.append("&gt;");
        case '"' -> sb.append("&quot;");
        default -> sb.append(c);
      }
    }
    return sb.toString();
  }

  /**
   * Wraps {@code body} into a complete page with the shared style sheet.
   *
   * @param title the page title, not escaped yet
   * @param body the page's HTML body
   * @return the document
   */
  static String document(String title, String body) {
    return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>"
        + esc(title)
        + "</title>\n<style>\n"
        + STYLE
        + "</style>\n</head>\n<body>\n"
        + body
        + "</body>\n</html>\n";
  }
}
