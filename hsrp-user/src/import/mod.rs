//! `hsrpd import`: a Cisco IOS `show running-config` in, an hsrpd configuration out, and a
//! report of every line left behind and why. Pure: text in, text and report out.
//!
//! - `ios`: the running-config as blocks (top-level line, indented lines, banners);
//! - `ifname`: IOS interface names and the operator's map to Linux names;
//! - `translate`: what each block becomes (kept, renamed, converted, or dropped with a
//!   reason);
//! - `type7`: Cisco's reversible key scramble, turned back into the clear key;
//! - `cli`: the files around it (`hsrpd import`);
//! - here: the loop that renders the result, runs hsrpd's own parser on it, and drops
//!   whatever hsrpd refuses, with the parser's reason, until the result is accepted.

pub mod cli;
mod ifname;
mod ios;
mod redact;
mod translate;
mod type7;

use std::collections::{BTreeMap, BTreeSet};

pub use ifname::{InterfaceMap, IosName, Mapped};
pub use redact::redact;

/// One line of the original that is not in the output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dropped {
    /// 1-based line of the original.
    pub line: usize,
    /// The line, trimmed.
    pub text: String,
    pub reason: String,
    /// Set when the line went with its whole block: the block's first line.
    pub block: Option<usize>,
}

/// Something the operator should know about a line that was kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub line: usize,
    pub note: String,
}

/// An interface that made it to the output, and how its Linux name was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Renamed {
    pub ios: String,
    pub mapped: Mapped,
}

/// The result of an import.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    /// The hsrpd configuration; `config::parse` accepts it.
    pub config: String,
    /// Every command line of the original that is not in `config`, in line order.
    pub dropped: Vec<Dropped>,
    pub notes: Vec<Note>,
    pub interfaces: Vec<Renamed>,
    /// The lines of the original that `config` holds (renamed or converted), in order.
    pub kept: Vec<usize>,
}

/// Nothing could be imported: no HSRP group survived.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct ImportFailed {
    pub reason: String,
    pub dropped: Vec<Dropped>,
    pub notes: Vec<Note>,
}

/// One unit of the output: an interface block, a track object or a key chain. The first
/// line is the head; dropping the head drops the unit.
#[derive(Clone, Debug)]
pub(crate) struct Unit {
    pub kind: UnitKind,
    pub lines: Vec<OutLine>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum UnitKind {
    Track(u32),
    KeyChain(String),
    Interface,
}

/// One output line and the line of the original it stands for.
#[derive(Clone, Debug)]
pub(crate) struct OutLine {
    pub src: usize,
    /// The original text (for the drop list).
    pub original: String,
    pub text: String,
    /// Indentation: 0 top level, 1 in a block, 2 under a `key`.
    pub depth: usize,
}

/// Imports `text` (a running-config) with `map`; `source` names it in the output's header.
pub fn import(text: &str, map: &InterfaceMap, source: &str) -> Result<Import, ImportFailed> {
    let blocks = ios::blocks(text);
    let mut t = translate::translate(&blocks, map);
    // Each pass drops at least one line or ends, so this bound is never reached in
    // practice; it keeps the loop finite whatever the parser does.
    for _ in 0..=t.units.iter().map(|u| u.lines.len()).sum::<usize>() {
        let (rendered, origin) = render(&t.units, source);
        match crate::config::parse(&rendered, source) {
            Ok(config) => {
                if drop_unused(&mut t.units, &mut t.dropped, &config) {
                    continue;
                }
                t.dropped.sort_by_key(|d| d.line);
                let interfaces = t.interfaces_kept(&t.units);
                let kept: BTreeSet<usize> = t
                    .units
                    .iter()
                    .flat_map(|u| u.lines.iter().map(|l| l.src))
                    .collect();
                return Ok(Import {
                    config: rendered,
                    dropped: t.dropped,
                    notes: t.notes,
                    interfaces,
                    kept: kept.into_iter().collect(),
                });
            }
            Err(e) => {
                // The first reason for each refused line; removed last line first, so the
                // indices of the others stay valid.
                let mut refused = BTreeMap::new();
                let mut file_wide = Vec::new();
                for d in &e.diagnostics {
                    match d
                        .line
                        .and_then(|n| origin.get(n.wrapping_sub(1)).copied().flatten())
                    {
                        Some(at) => {
                            let reason = renumber(&d.reason, &origin, &t.units);
                            refused.entry(at).or_insert(reason);
                        }
                        None => file_wide.push(d.reason.clone()),
                    }
                }
                for (at, reason) in refused.iter().rev() {
                    refuse(&mut t.units, &mut t.dropped, *at, reason);
                }
                if refused.is_empty() {
                    t.dropped.sort_by_key(|d| d.line);
                    let reason = if file_wide.is_empty() {
                        "hsrpd refuses the result".to_string()
                    } else {
                        file_wide.join("; ")
                    };
                    return Err(ImportFailed {
                        reason: format!("nothing to import: {reason}"),
                        dropped: t.dropped,
                        notes: t.notes,
                    });
                }
            }
        }
    }
    t.dropped.sort_by_key(|d| d.line);
    Err(ImportFailed {
        reason: "the import did not converge (a bug: please report the input)".into(),
        dropped: t.dropped,
        notes: t.notes,
    })
}

/// The configuration text, and for each of its lines (0-based) the unit and line index
/// it came from (`None` for comments).
fn render(units: &[Unit], source: &str) -> (String, Vec<Option<(usize, usize)>>) {
    let mut text = String::new();
    let mut origin = Vec::new();
    let mut push = |text: &mut String, line: String, at: Option<(usize, usize)>| {
        text.push_str(&line);
        text.push('\n');
        origin.push(at);
    };
    push(
        &mut text,
        format!("! hsrpd configuration imported from {source} by `hsrpd import`."),
        None,
    );
    push(
        &mut text,
        "! Lines of the original that are not here are listed in the import report.".into(),
        None,
    );
    for (ui, unit) in units
        .iter()
        .enumerate()
        .filter(|(_, u)| !u.lines.is_empty())
    {
        push(&mut text, "!".into(), None);
        for (li, line) in unit.lines.iter().enumerate() {
            let indent = " ".repeat(line.depth);
            push(&mut text, format!("{indent}{}", line.text), Some((ui, li)));
        }
    }
    (text, origin)
}

/// Drops the output line `at` (unit, line): the whole unit when it is the head.
fn refuse(units: &mut [Unit], dropped: &mut Vec<Dropped>, at: (usize, usize), reason: &str) {
    let (ui, li) = at;
    let unit = &mut units[ui];
    if li == 0 {
        let lines = std::mem::take(&mut unit.lines);
        let head = lines[0].src;
        for (i, l) in lines.into_iter().enumerate() {
            dropped.push(Dropped {
                line: l.src,
                text: l.original,
                reason: if i == 0 {
                    format!("hsrpd refuses it: {reason}")
                } else {
                    "its block was dropped".into()
                },
                block: (i > 0).then_some(head),
            });
        }
    } else {
        let l = unit.lines.remove(li);
        // A converted line can stand for an original that another output line also
        // stands for (old-style interface tracking): report the original once.
        if !dropped.iter().any(|d| d.line == l.src) {
            dropped.push(Dropped {
                line: l.src,
                text: l.original,
                reason: format!("hsrpd refuses it: {reason}"),
                block: None,
            });
        }
    }
}

/// After the parser accepted the result: track objects and key chains no group uses, and
/// interfaces left without a group, go (their reasons say so). True when anything went.
fn drop_unused(
    units: &mut [Unit],
    dropped: &mut Vec<Dropped>,
    config: &crate::config::Config,
) -> bool {
    let tracks: BTreeSet<u32> = config
        .groups()
        .flat_map(|(_, g)| g.tracks.iter().map(|t| t.object))
        .collect();
    let chains: BTreeSet<&str> = config
        .groups()
        .filter_map(|(_, g)| g.key_chain.as_deref())
        .collect();
    let mut any = false;
    for unit in units.iter_mut().filter(|u| !u.lines.is_empty()) {
        let reason = match &unit.kind {
            UnitKind::Track(n) if !tracks.contains(n) => {
                "no HSRP group of the result tracks this object"
            }
            UnitKind::KeyChain(name) if !chains.contains(name.as_str()) => {
                "no HSRP group of the result uses this key chain (its keys are not copied)"
            }
            UnitKind::Interface if !unit.lines.iter().any(|l| l.text.starts_with("standby ")) => {
                "no HSRP group of this interface is left"
            }
            _ => continue,
        };
        any = true;
        let lines = std::mem::take(&mut unit.lines);
        let head = lines[0].src;
        for (i, l) in lines.into_iter().enumerate() {
            if dropped.iter().any(|d| d.line == l.src) {
                continue;
            }
            dropped.push(Dropped {
                line: l.src,
                text: l.original,
                reason: if i == 0 {
                    reason.into()
                } else {
                    "its block was dropped".into()
                },
                block: (i > 0).then_some(head),
            });
        }
    }
    any
}

/// The parser's reasons cite lines of the rendered text (`... group 1 (line 5)`); in the
/// report they must cite lines of the original.
fn renumber(reason: &str, origin: &[Option<(usize, usize)>], units: &[Unit]) -> String {
    let mut out = String::new();
    let mut rest = reason;
    while let Some(at) = rest.find("line ") {
        let (before, after) = rest.split_at(at + "line ".len());
        out.push_str(before);
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        let src = after[..digits]
            .parse::<usize>()
            .ok()
            .and_then(|n| origin.get(n.wrapping_sub(1)).copied().flatten())
            .and_then(|(ui, li)| units.get(ui)?.lines.get(li).map(|l| l.src));
        match src {
            Some(src) => out.push_str(&src.to_string()),
            None => out.push_str(&after[..digits]),
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

/// The report an operator reads: the interfaces, notes, then the dropped lines; a block
/// dropped whole is one entry with its line range. Secrets are masked.
pub fn report(dropped: &[Dropped], notes: &[Note], interfaces: &[Renamed]) -> String {
    let mut out = String::new();
    for r in interfaces {
        let how = match &r.mapped {
            Mapped::Exact(_) => "from the map".to_string(),
            Mapped::Pattern(_) => "by a map pattern".to_string(),
            Mapped::Vlan { parent, vlan, .. } => {
                format!("{parent} and its encapsulation dot1Q {vlan}: a Linux VLAN interface")
            }
        };
        out += &format!("interface {} -> {} ({how})\n", r.ios, r.mapped.linux());
    }
    for n in notes {
        out += &format!("line {}: note: {}\n", n.line, n.note);
    }
    let mut i = 0;
    while i < dropped.len() {
        let d = &dropped[i];
        let members = dropped[i + 1..]
            .iter()
            .take_while(|m| m.block == Some(d.line))
            .count();
        let text = redact(&d.text);
        if members == 0 {
            out += &format!("line {}: dropped `{text}`: {}\n", d.line, d.reason);
        } else {
            let last = dropped[i + members].line;
            out += &format!(
                "lines {}-{last}: dropped `{text}` and its {members} line(s): {}\n",
                d.line, d.reason
            );
        }
        i += 1 + members;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: &[&str]) -> InterfaceMap {
        let mut m = InterfaceMap::new();
        for e in entries {
            m.add(e).unwrap();
        }
        m
    }

    #[test]
    fn refused_lines_are_dropped_with_the_parsers_reason() {
        let text = "interface Gi0/1\n ip address 10.0.0.2 255.255.255.0\n standby 1 ip 10.0.0.1\n standby 1 priority 300\n standby 2 ip 10.0.0.1\n";
        let r = import(text, &map(&["Gi0/1=eth1"]), "r1.txt").unwrap();
        assert_eq!(
            r.config,
            "! hsrpd configuration imported from r1.txt by `hsrpd import`.\n! Lines of the original that are not here are listed in the import report.\n!\ninterface eth1\n ip address 10.0.0.2 255.255.255.0\n standby 1 ip 10.0.0.1\n"
        );
        let got: Vec<(usize, &str)> = r
            .dropped
            .iter()
            .map(|d| (d.line, d.reason.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (4, "hsrpd refuses it: priority must be 1-255"),
                // The cited line is the original's, not the rendered text's.
                (5, "hsrpd refuses it: virtual IP 10.0.0.1 is already used by eth1 group 1 (line 3)"),
            ]
        );
    }

    #[test]
    fn nothing_importable_is_an_error_with_the_drop_list() {
        let e = import(
            "hostname r1\ninterface Gi0/1\n standby 1 ip 10.0.0.1\n",
            &map(&[]),
            "x",
        )
        .unwrap_err();
        assert!(e.reason.starts_with("nothing to import"), "{}", e.reason);
        assert_eq!(e.dropped.len(), 3);
    }
}
