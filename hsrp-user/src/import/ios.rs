//! Reading `show running-config` text into blocks: a top-level line and the indented
//! lines under it, with banners (whose text is not indented) kept whole.

/// One line of the original, 1-based.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line<'a> {
    pub no: usize,
    /// Trimmed.
    pub text: &'a str,
    pub toks: Vec<&'a str>,
}

impl Line<'_> {
    /// The `i`th token, lower-cased (IOS keywords are case-insensitive).
    pub fn kw(&self, i: usize) -> String {
        self.toks
            .get(i)
            .map(|t| t.to_ascii_lowercase())
            .unwrap_or_default()
    }
}

/// A top-level line and what belongs to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block<'a> {
    pub head: Line<'a>,
    pub children: Vec<Line<'a>>,
    /// A `banner` with its text lines as children.
    pub banner: bool,
}

/// Splits `text` into blocks. Blank lines and `!` comments are skipped (they are not
/// commands); an indented line before any top-level line becomes a block of its own.
pub fn blocks(text: &str) -> Vec<Block<'_>> {
    let mut out: Vec<Block> = Vec::new();
    let mut lines = text.lines().enumerate().map(|(i, raw)| (i + 1, raw));
    while let Some((no, raw)) = lines.next() {
        let text = raw.trim();
        if text.is_empty() || text.starts_with('!') {
            continue;
        }
        let line = Line {
            no,
            text,
            toks: text.split_whitespace().collect(),
        };
        let indented = raw.starts_with(|c: char| c.is_whitespace());
        if indented && !out.is_empty() {
            if let Some(block) = out.last_mut() {
                block.children.push(line);
            }
            continue;
        }
        if line.kw(0) == "banner" {
            let mut block = Block {
                head: line,
                children: Vec::new(),
                banner: true,
            };
            if let Some(delim) = banner_delimiter(&block.head) {
                // The text runs to the line with the closing delimiter; the opening line
                // may hold both.
                let opening = block.head.text;
                let start = opening.find(delim.as_str()).unwrap_or(0) + delim.len();
                if !opening[start..].contains(delim.as_str()) {
                    for (no, raw) in lines.by_ref() {
                        let text = raw.trim_end();
                        block.children.push(Line {
                            no,
                            text,
                            toks: text.split_whitespace().collect(),
                        });
                        if text.contains(delim.as_str()) {
                            break;
                        }
                    }
                }
            }
            out.push(block);
            continue;
        }
        out.push(Block {
            head: line,
            children: Vec::new(),
            banner: false,
        });
    }
    out
}

/// `banner motd ^C`: the delimiter is the first character after the banner type, where
/// `show running-config` prints Ctrl-C as the two characters `^C`.
fn banner_delimiter(head: &Line) -> Option<String> {
    let first = head.toks.get(2)?;
    if first.starts_with("^C") {
        return Some("^C".into());
    }
    first.chars().next().map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_banners_and_comments() {
        let text = "!\nhostname r1\nbanner motd ^C\n  Authorised access only\n!not a comment\n^C\ninterface Vlan10\n ip address 10.0.0.2 255.255.255.0\n !\n standby 1 ip 10.0.0.1\nbanner exec #one line#\nend\n";
        let b = blocks(text);
        let heads: Vec<&str> = b.iter().map(|b| b.head.text).collect();
        assert_eq!(
            heads,
            [
                "hostname r1",
                "banner motd ^C",
                "interface Vlan10",
                "banner exec #one line#",
                "end"
            ]
        );
        assert_eq!(b[1].children.len(), 3);
        assert_eq!(b[1].children[2].text, "^C");
        assert_eq!(b[2].children.len(), 2);
        assert_eq!(b[2].children[1].no, 10);
        assert!(b[3].children.is_empty());
    }
}
