//! A small Markdown-to-roff converter for `hsrpd.conf(5)`: the page is generated from
//! docs/configuration.md at dist time, so the manual and the documentation are one text.
//!
//! It handles what that page uses and nothing more: `#` title, `##` sections, paragraphs,
//! `-` lists (with indented continuation lines), fenced code blocks, pipe tables (rendered
//! with tbl) and inline `code`. Anything else is kept as text, escaped.

/// The man page metadata.
pub struct Page<'a> {
    pub name: &'a str,
    pub section: &'a str,
    /// One line for the NAME section (`name \- summary`).
    pub summary: &'a str,
    pub source: &'a str,
    pub manual: &'a str,
}

/// Converts `markdown` to a complete man page. The first `#` heading is dropped (the page
/// title replaces it); the text before the first `##` becomes DESCRIPTION.
pub fn convert(markdown: &str, page: &Page) -> String {
    let mut out = String::new();
    // Tell man(1) to run tbl when the page has a table.
    if markdown.lines().any(is_table_row) {
        out.push_str("'\\\" t\n");
    }
    out.push_str(&format!(
        ".TH {} {} \"\" \"{}\" \"{}\"\n.SH NAME\n{} \\- {}\n.SH DESCRIPTION\n",
        page.name.to_uppercase(),
        page.section,
        page.source,
        page.manual,
        escape(page.name),
        escape(page.summary)
    ));
    let lines: Vec<&str> = markdown.lines().collect();
    let mut i = 0;
    let mut in_paragraph = false;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_end();
        if let Some(title) = trimmed.strip_prefix("## ") {
            out.push_str(&format!(".SH {}\n", escape(&title.to_uppercase())));
            in_paragraph = false;
        } else if trimmed.starts_with("# ") {
            // The document title: the .TH line stands for it.
        } else if trimmed.starts_with("```") {
            out.push_str(".PP\n.RS 2\n.nf\n");
            i += 1;
            while i < lines.len() && !lines[i].trim_end().starts_with("```") {
                out.push_str(&escape_line(lines[i].trim_end()));
                out.push('\n');
                i += 1;
            }
            out.push_str(".fi\n.RE\n");
            in_paragraph = false;
        } else if is_table_row(trimmed) {
            let start = i;
            while i < lines.len() && is_table_row(lines[i].trim_end()) {
                i += 1;
            }
            out.push_str(&table(&lines[start..i]));
            in_paragraph = false;
            continue;
        } else if let Some(item) = trimmed.strip_prefix("- ") {
            out.push_str(".IP \\(bu 2\n");
            out.push_str(&escape_line(&inline(item)));
            out.push('\n');
            // Continuation lines of the item are indented.
            while i + 1 < lines.len() && lines[i + 1].starts_with("  ") {
                i += 1;
                out.push_str(&escape_line(&inline(lines[i].trim())));
                out.push('\n');
            }
            in_paragraph = true;
        } else if trimmed.is_empty() {
            in_paragraph = false;
        } else {
            if !in_paragraph {
                out.push_str(".PP\n");
                in_paragraph = true;
            }
            out.push_str(&escape_line(&inline(trimmed)));
            out.push('\n');
        }
        i += 1;
    }
    out
}

fn is_table_row(line: &str) -> bool {
    line.starts_with('|') && line.ends_with('|') && line.len() > 1
}

/// A pipe table as a tbl table with a bold header row; cells are text blocks so long
/// ones wrap.
fn table(rows: &[&str]) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            r.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        })
        // The `|---|---|` delimiter row.
        .filter(|r: &Vec<String>| !r.iter().all(|c| c.chars().all(|ch| ch == '-' || ch == ':')))
        .collect();
    let columns = cells.iter().map(Vec::len).max().unwrap_or(0);
    let mut out = String::from(".PP\n.TS\nallbox;\n");
    out.push_str(&vec!["lb"; columns].join(" "));
    out.push('\n');
    // Text columns as wide as they need, the last one taking the rest of the line.
    let mut body = vec!["l"; columns.saturating_sub(1)];
    body.push("lx");
    out.push_str(&body.join(" "));
    out.push_str(".\n");
    for row in &cells {
        let mut fields = Vec::new();
        for c in 0..columns {
            let text = row.get(c).map(String::as_str).unwrap_or("");
            fields.push(format!("T{{\n{}\nT}}", escape_line(&inline(text))));
        }
        out.push_str(&fields.join("\t"));
        out.push('\n');
    }
    out.push_str(".TE\n");
    out
}

/// Inline markup: `code` becomes bold. Runs before line escaping, so it emits the font
/// escapes with a placeholder for the backslash.
fn inline(text: &str) -> String {
    let mut out = String::new();
    let mut code = false;
    for (n, part) in text.split('`').enumerate() {
        if n > 0 {
            out.push_str(if code { FONT_ROMAN } else { FONT_BOLD });
            code = !code;
        }
        out.push_str(part);
    }
    if code {
        out.push_str(FONT_ROMAN);
    }
    out
}

// Private-use characters stand for the font escapes until `escape` has run.
const FONT_BOLD: &str = "\u{E000}";
const FONT_ROMAN: &str = "\u{E001}";

/// Escapes roff's special characters: backslashes and hyphens (so option names copy and
/// paste as ASCII), then restores the font escapes of `inline`.
fn escape(text: &str) -> String {
    text.replace('\\', "\\e")
        .replace('-', "\\-")
        .replace(FONT_BOLD, "\\fB")
        .replace(FONT_ROMAN, "\\fR")
}

/// [`escape`], and a leading `.` or `'` that roff would take for a request is protected.
fn escape_line(line: &str) -> String {
    let e = escape(line);
    if e.starts_with('.') || e.starts_with('\'') {
        format!("\\&{e}")
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: Page = Page {
        name: "hsrpd.conf",
        section: "5",
        summary: "configuration of hsrpd",
        source: "hsrpd 1.0",
        manual: "File Formats",
    };

    #[test]
    fn converts_each_construct() {
        let md = "# Title\n\nIntro `a-b` text\ncontinued.\n\n## Layout\n- one\n  more\n- two\n\n\
                  ```\n.dot \\x\n```\n| A | B |\n|---|---|\n| `x` | y |\n";
        let got = convert(md, &PAGE);
        let want = "'\\\" t\n\
            .TH HSRPD.CONF 5 \"\" \"hsrpd 1.0\" \"File Formats\"\n\
            .SH NAME\nhsrpd.conf \\- configuration of hsrpd\n\
            .SH DESCRIPTION\n\
            .PP\nIntro \\fBa\\-b\\fR text\ncontinued.\n\
            .SH LAYOUT\n\
            .IP \\(bu 2\none\nmore\n.IP \\(bu 2\ntwo\n\
            .PP\n.RS 2\n.nf\n\\&.dot \\ex\n.fi\n.RE\n\
            .PP\n.TS\nallbox;\nlb lb\nl lx.\n\
            T{\nA\nT}\tT{\nB\nT}\n\
            T{\n\\fBx\\fR\nT}\tT{\ny\nT}\n\
            .TE\n";
        assert_eq!(got, want);
    }

    #[test]
    fn unbalanced_backtick_returns_to_roman() {
        assert_eq!(escape(&inline("a `b")), "a \\fBb\\fR");
    }
}
