//! What each block of a running-config becomes in an hsrpd configuration: interfaces with
//! HSRP groups (renamed to Linux names), the track objects and key chains they use; every
//! other line dropped with a reason. Whether hsrpd accepts what is kept is decided later,
//! by its own parser (`super::import`).

use std::collections::{BTreeMap, BTreeSet};

use super::ifname::{InterfaceMap, IosName, Mapped};
use super::ios::{Block, Line};
use super::{type7, Dropped, Note, OutLine, Renamed, Unit, UnitKind};

/// The translated units, in output order, and what was left behind.
pub(crate) struct Translation {
    pub units: Vec<Unit>,
    pub dropped: Vec<Dropped>,
    pub notes: Vec<Note>,
    /// Per unit index, the interface's name mapping.
    renamed: BTreeMap<usize, Renamed>,
}

impl Translation {
    /// The interfaces still in the output.
    pub fn interfaces_kept(&self, units: &[Unit]) -> Vec<Renamed> {
        self.renamed
            .iter()
            .filter(|(ui, _)| !units[**ui].lines.is_empty())
            .map(|(_, r)| r.clone())
            .collect()
    }
}

const NOTE_CLEAR_KEY: &str =
    "type 7 key-string decoded: the output holds this key in clear text (keep the file private)";

/// Translates every block; units come out as track objects, key chains, interfaces.
pub(crate) fn translate(blocks: &[Block], map: &InterfaceMap) -> Translation {
    let mut cx = Context {
        map,
        dropped: Vec::new(),
        notes: Vec::new(),
        used_tracks: blocks
            .iter()
            .filter(|b| b.head.kw(0) == "track")
            .filter_map(|b| b.head.toks.get(1)?.parse().ok())
            .collect(),
        synth: BTreeMap::new(),
        synth_units: Vec::new(),
    };
    let chains_used = chains_referenced(blocks);
    let mut tracks = Vec::new();
    let mut chains = Vec::new();
    let mut interfaces = Vec::new();
    for block in blocks {
        if block.banner {
            cx.drop_block(block, "a banner is not an HSRP setting");
            continue;
        }
        match (block.head.kw(0).as_str(), block.head.kw(1).as_str()) {
            ("interface", _) => {
                if let Some(unit) = cx.interface(block) {
                    interfaces.push(unit);
                }
            }
            ("track", _) => tracks.extend(cx.track(block)),
            ("key", "chain") => {
                let name = block.head.toks.get(2).copied().unwrap_or_default();
                if chains_used.contains(name) {
                    chains.push(cx.key_chain(block, name));
                } else {
                    cx.drop_block(
                        block,
                        "no HSRP group uses this key chain (its keys are not copied)",
                    );
                }
            }
            _ => cx.drop_block(block, top_reason(&block.head)),
        }
    }
    let mut units: Vec<Unit> = tracks;
    units.append(&mut cx.synth_units);
    units.extend(chains);
    let first_interface = units.len();
    let mut renamed = BTreeMap::new();
    for (i, (unit, r)) in interfaces.into_iter().enumerate() {
        units.push(unit);
        renamed.insert(first_interface + i, r);
    }
    Translation {
        units,
        dropped: cx.dropped,
        notes: cx.notes,
        renamed,
    }
}

/// Key chains named by `standby ... authentication md5 key-chain NAME` lines.
fn chains_referenced<'a>(blocks: &[Block<'a>]) -> BTreeSet<&'a str> {
    blocks
        .iter()
        .filter(|b| b.head.kw(0) == "interface")
        .flat_map(|b| b.children.iter())
        .filter(|l| l.kw(0) == "standby")
        .filter_map(|l| {
            let i = l
                .toks
                .iter()
                .position(|t| t.eq_ignore_ascii_case("key-chain"))?;
            l.toks.get(i + 1).copied()
        })
        .collect()
}

struct Context<'m> {
    map: &'m InterfaceMap,
    dropped: Vec<Dropped>,
    notes: Vec<Note>,
    /// Track object numbers of the original (new ones must not collide).
    used_tracks: BTreeSet<u32>,
    /// Line-protocol track objects by Linux name: those of the original, and those made
    /// for old-style `standby G track INTERFACE` lines.
    synth: BTreeMap<String, u32>,
    synth_units: Vec<Unit>,
}

fn out(line: &Line, text: String, depth: usize) -> OutLine {
    OutLine {
        src: line.no,
        original: line.text.to_string(),
        text,
        depth,
    }
}

impl Context<'_> {
    fn drop_line(&mut self, line: &Line, reason: impl Into<String>) {
        self.dropped.push(Dropped {
            line: line.no,
            text: line.text.to_string(),
            reason: reason.into(),
            block: None,
        });
    }

    fn drop_block(&mut self, block: &Block, reason: impl Into<String>) {
        self.drop_line(&block.head, reason);
        for l in &block.children {
            self.dropped.push(Dropped {
                line: l.no,
                text: l.text.to_string(),
                reason: "its block was dropped".into(),
                block: Some(block.head.no),
            });
        }
    }

    /// An `interface` block with HSRP groups, renamed; other interfaces are dropped.
    fn interface(&mut self, block: &Block) -> Option<(Unit, Renamed)> {
        let written = block.head.toks[1..].join(" ");
        let name = match IosName::parse(&written) {
            Ok(n) => n,
            Err(e) => {
                self.drop_block(block, e);
                return None;
            }
        };
        if !block.children.iter().any(|l| l.kw(0) == "standby") {
            self.drop_block(block, "no HSRP group on this interface");
            return None;
        }
        let dot1q = block
            .children
            .iter()
            .find(|l| l.kw(0) == "encapsulation" && l.kw(1) == "dot1q")
            .and_then(|l| l.toks.get(2)?.parse::<u16>().ok());
        let mapped = match self.map.resolve(&name, dot1q) {
            Ok(m) => m,
            Err(e) => {
                self.drop_block(block, format!("has HSRP groups, but {e}"));
                return None;
            }
        };
        let linux = mapped.linux().to_string();
        let mut lines = vec![out(&block.head, format!("interface {linux}"), 0)];
        for l in &block.children {
            if let Some(kept) = self.interface_line(l, &linux, &mapped) {
                lines.push(kept);
            }
        }
        let renamed = Renamed {
            ios: name.to_string(),
            mapped,
        };
        Some((
            Unit {
                kind: UnitKind::Interface,
                lines,
            },
            renamed,
        ))
    }

    fn interface_line(&mut self, l: &Line, linux: &str, mapped: &Mapped) -> Option<OutLine> {
        let reason = match (l.kw(0).as_str(), l.kw(1).as_str()) {
            ("standby", _) => return self.standby(l),
            ("description", _) => return Some(out(l, l.text.to_string(), 1)),
            ("ip", "address") => match l.kw(2).as_str() {
                "dhcp" | "negotiated" | "pool" => {
                    "only static addresses are checked by hsrpd (the address is Linux's)".into()
                }
                _ => return Some(out(l, l.text.to_string(), 1)),
            },
            ("encapsulation", "dot1q") => match mapped {
                Mapped::Vlan { parent, vlan, .. } => format!(
                    "VLAN tagging is Linux's: {linux} is a VLAN interface (ip link add link {parent} name {linux} type vlan id {vlan})"
                ),
                _ => format!("VLAN tagging is Linux's: make {linux} the VLAN interface for it"),
            },
            ("ipv6", _) => "IPv6 addressing and ND settings are Linux's (hsrpd neither sets nor checks them)".into(),
            ("ip", _) => "IP features of the interface are Linux's, not HSRP settings".into(),
            ("shutdown", _) => "the interface is shut down in IOS: hsrpd does not manage links (keep it down in Linux)".into(),
            ("no", _) => "a `no` line restates an IOS default; hsrpd has nothing to negate".into(),
            _ => "not an HSRP setting".into(),
        };
        self.drop_line(l, reason);
        None
    }

    /// A `standby` line: kept as written unless it is a feature hsrpd lacks, old-style
    /// interface tracking (converted to a track object) or a type 7 key (decoded).
    fn standby(&mut self, l: &Line) -> Option<OutLine> {
        let not_implemented = match l.kw(1).as_str() {
            "bfd" => Some("HSRP BFD peering is not implemented by hsrpd"),
            "delay" => Some("the interface-level `standby delay minimum/reload` is not implemented (hsrpd has `standby G preempt delay reload S`)"),
            "redirect" => Some("HSRP ICMP redirects are not implemented by hsrpd"),
            "mac-refresh" => Some("`standby mac-refresh` is not implemented by hsrpd"),
            "arp" => Some("`standby arp gratuitous` tuning is not implemented by hsrpd"),
            _ => None,
        };
        if let Some(reason) = not_implemented {
            self.drop_line(l, reason);
            return None;
        }
        let g = usize::from(
            l.toks
                .get(1)
                .is_some_and(|t| t.bytes().all(|b| b.is_ascii_digit())),
        );
        let cmd = &l.toks[1 + g..];
        let lower: Vec<String> = cmd.iter().map(|t| t.to_ascii_lowercase()).collect();
        let prefix = l.toks[..1 + g].join(" ");
        match lower.first().map(String::as_str) {
            Some("track")
                if cmd
                    .get(1)
                    .is_some_and(|t| !t.bytes().all(|b| b.is_ascii_digit())) =>
            {
                self.old_track(l, &prefix, cmd)
            }
            Some("authentication")
                if lower.get(1).map(String::as_str) == Some("md5")
                    && lower.get(2).map(String::as_str) == Some("key-string")
                    && cmd.get(3) == Some(&"7") =>
            {
                let Some(scrambled) = cmd.get(4) else {
                    return Some(out(l, l.text.to_string(), 1));
                };
                match type7::decode(scrambled) {
                    Ok(key) => {
                        let tail = cmd[5..].join(" ");
                        let text = format!("{prefix} authentication md5 key-string {key} {tail}");
                        self.notes.push(Note {
                            line: l.no,
                            note: NOTE_CLEAR_KEY.into(),
                        });
                        Some(out(l, text.trim_end().to_string(), 1))
                    }
                    Err(e) => {
                        self.drop_line(l, format!("the key is {e}"));
                        None
                    }
                }
            }
            _ => Some(out(l, l.text.to_string(), 1)),
        }
    }

    /// `standby G track INTERFACE [decrement] [D]` (interface tracking before track
    /// objects existed): a track object on the Linux interface, `standby G track N
    /// decrement D`.
    fn old_track(&mut self, l: &Line, prefix: &str, cmd: &[&str]) -> Option<OutLine> {
        let mut rest = &cmd[1..];
        // IOS prints the interface as one token (`GigabitEthernet0/2`); accept `Gi 0/2`.
        let mut written = rest[0].to_string();
        rest = &rest[1..];
        if let Some(unit) = rest.first().filter(|t| t.contains('/')) {
            written.push_str(unit);
            rest = &rest[1..];
        }
        if rest
            .first()
            .is_some_and(|t| t.eq_ignore_ascii_case("decrement"))
        {
            rest = &rest[1..];
        }
        let decrement = match rest {
            [] => "10",
            [d] => d,
            _ => {
                self.drop_line(
                    l,
                    "hsrpd refuses it: expected `standby G track INTERFACE [decrement] D`",
                );
                return None;
            }
        };
        let linux = match IosName::parse(&written).and_then(|n| self.map.resolve(&n, None)) {
            Ok(m) => m.linux().to_string(),
            Err(e) => {
                self.drop_line(
                    l,
                    format!("tracks an interface that has no Linux name: {e}"),
                );
                return None;
            }
        };
        let id = match self.synth.get(&linux) {
            Some(id) => *id,
            None => {
                let Some(id) = (1..=1000).find(|n| !self.used_tracks.contains(n)) else {
                    self.drop_line(l, "no free track object number (1-1000) to convert it to");
                    return None;
                };
                self.used_tracks.insert(id);
                self.synth.insert(linux.clone(), id);
                self.synth_units.push(Unit {
                    kind: UnitKind::Track(id),
                    lines: vec![out(
                        l,
                        format!("track {id} interface {linux} line-protocol"),
                        0,
                    )],
                });
                id
            }
        };
        self.notes.push(Note {
            line: l.no,
            note: format!("interface tracking converted to track object {id} (track {id} interface {linux} line-protocol)"),
        });
        Some(out(
            l,
            format!("{prefix} track {id} decrement {decrement}"),
            1,
        ))
    }

    /// A `track N ...` object: interfaces renamed; kinds hsrpd lacks dropped.
    fn track(&mut self, block: &Block) -> Option<Unit> {
        let head = &block.head;
        let id = head.toks.get(1).and_then(|t| t.parse::<u32>().ok());
        let not_implemented = match (head.kw(2).as_str(), head.kw(3).as_str()) {
            ("ip" | "ipv6", "sla") | ("rtr", _) => {
                Some("IP SLA tracking is not implemented by hsrpd")
            }
            ("list", _) => Some("track lists are not implemented by hsrpd"),
            ("stub-object", _) => Some("stub track objects are not implemented by hsrpd"),
            ("interface", _) if head.kw(4) == "ip" || head.kw(4) == "ipv6" => Some(
                "tracking an interface's IP routing state is not implemented (only line-protocol)",
            ),
            _ => None,
        };
        if let Some(reason) = not_implemented {
            self.drop_block(block, reason);
            return None;
        }
        let text = if head.kw(2) == "interface" && head.toks.len() > 3 {
            // `track N interface IF line-protocol`, IF possibly written `Gi 0/2`.
            let (if_toks, tail) = head.toks[3..].split_at((head.toks.len() - 4).max(1));
            let written = if_toks.join(" ");
            match IosName::parse(&written).and_then(|n| self.map.resolve(&n, None)) {
                Ok(m) => {
                    // Old-style `standby G track INTERFACE` lines reuse this object.
                    if let (Some(id), ["line-protocol"]) = (id, tail) {
                        self.synth.entry(m.linux().to_string()).or_insert(id);
                    }
                    format!(
                        "track {} interface {} {}",
                        head.toks[1],
                        m.linux(),
                        tail.join(" ")
                    )
                }
                Err(e) => {
                    self.drop_block(
                        block,
                        format!("tracks an interface that has no Linux name: {e}"),
                    );
                    return None;
                }
            }
        } else {
            head.text.to_string()
        };
        for l in &block.children {
            self.drop_line(
                l,
                "track sub-commands (delays, thresholds) are not implemented: the object changes state at once",
            );
        }
        Some(Unit {
            kind: UnitKind::Track(id.unwrap_or(0)),
            lines: vec![out(head, text, 0)],
        })
    }

    /// A `key chain` used by a group: keys and key strings (type 7 decoded); lifetimes
    /// and algorithms dropped.
    fn key_chain(&mut self, block: &Block, name: &str) -> Unit {
        let mut lines = vec![out(&block.head, block.head.text.to_string(), 0)];
        for l in &block.children {
            match l.kw(0).as_str() {
                "key" => lines.push(out(l, l.text.to_string(), 1)),
                "key-string" if l.toks.get(1) == Some(&"7") && l.toks.len() == 3 => {
                    match type7::decode(l.toks[2]) {
                        Ok(key) => {
                            self.notes.push(Note {
                                line: l.no,
                                note: NOTE_CLEAR_KEY.into(),
                            });
                            lines.push(out(l, format!("key-string {key}"), 2));
                        }
                        Err(e) => self.drop_line(l, format!("the key is {e}")),
                    }
                }
                "key-string" => lines.push(out(l, l.text.to_string(), 2)),
                "accept-lifetime" | "send-lifetime" => self.drop_line(
                    l,
                    "key lifetimes are not implemented: hsrpd accepts every key of the chain and sends with the lowest-numbered one",
                ),
                "cryptographic-algorithm" => self.drop_line(l, "HSRP authentication is always keyed MD5"),
                _ => self.drop_line(l, "not a key chain setting hsrpd knows"),
            }
        }
        Unit {
            kind: UnitKind::KeyChain(name.to_string()),
            lines,
        }
    }
}

/// Why a top-level command that is not an interface, a track or a key chain is dropped.
fn top_reason(head: &Line) -> &'static str {
    match (head.kw(0).as_str(), head.kw(1).as_str()) {
        (
            "building" | "current" | "version" | "end" | "boot-start-marker" | "boot-end-marker",
            _,
        ) => "running-config framing, not a command",
        ("hostname", _) => "the router's name is not an HSRP setting",
        ("router", _) => "routing protocols are not hsrpd's (run a routing daemon alongside)",
        ("ip" | "ipv6", "route") => "static routes are Linux's (ip route)",
        ("access-list", _) | ("ip" | "ipv6" | "mac", "access-list") => {
            "access lists are not hsrpd's (use nftables)"
        }
        ("line", _) => "terminal lines are not hsrpd's",
        ("crypto", _) => "crypto configuration is not hsrpd's",
        (
            "username" | "enable" | "aaa" | "tacacs-server" | "tacacs" | "radius-server" | "radius",
            _,
        ) => "operator authentication is not hsrpd's",
        ("vlan" | "spanning-tree" | "vtp", _) => "switching configuration is not hsrpd's",
        ("no", _) => "a `no` line restates an IOS default; hsrpd has nothing to negate",
        _ => "not an HSRP command",
    }
}
