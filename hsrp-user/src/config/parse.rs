//! Pass 1: the line grammar. Reads the file line by line into drafts that remember where
//! each setting came from, reporting every bad line. Knows nothing about the system.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use super::error::Diagnostics;
use super::model::{
    GroupTrack, IfAddress, IpSla, Ipv6LinkLocal, Ipv6Prefix, Key, KeyChain, PreemptSecs, SlaSource,
    TimersMs, TrackAction, TrackKind, TrackSpec, DEFAULT_TRACK_DECREMENT, DEFAULT_TRACK_WEIGHT,
    RA_LIFETIME_RANGE_S, TRACK_ID_MAX,
};
use super::values;
use crate::proto::{MacAddr, Version};

/// A value and the line that set it.
pub(crate) type At<T> = Option<(T, usize)>;

/// Authentication as written, resolved against key chains later.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum AuthDraft {
    Text(Vec<u8>),
    /// The key and its `timeout S` (how long the previous key stays accepted).
    Md5Key(Vec<u8>, Option<u16>),
    KeyChain(String),
}

/// One group as written so far.
#[derive(Debug)]
pub(crate) struct GroupDraft {
    pub group: u16,
    pub line: usize,
    /// Some line of this group was invalid: skip completeness checks (no follow-on noise).
    pub had_errors: bool,
    pub v4_line: Option<usize>,
    pub v6_line: Option<usize>,
    pub vip: At<Ipv4Addr>,
    pub secondary: Vec<(Ipv4Addr, usize)>,
    pub link_local: At<Ipv6LinkLocal>,
    pub globals: Vec<(Ipv6Prefix, usize)>,
    pub priority: At<u8>,
    pub preempt: At<PreemptSecs>,
    pub timers: At<TimersMs>,
    pub tracks: Vec<GroupTrack>,
    /// `standby G track IF [D]` (the old form): (interface, decrement, line); pass 2 gives
    /// each interface an implicit line-protocol object.
    pub interface_tracks: Vec<(String, u8, usize)>,
    pub auth: At<AuthDraft>,
    pub name: At<String>,
    pub mac: At<MacAddr>,
    pub follow: At<String>,
    pub ra_lifetime: At<u16>,
    /// `standby G accept`: line number.
    pub accept: Option<usize>,
}

impl GroupDraft {
    fn new(group: u16, line: usize) -> Self {
        GroupDraft {
            group,
            line,
            had_errors: false,
            v4_line: None,
            v6_line: None,
            vip: None,
            secondary: Vec::new(),
            link_local: None,
            globals: Vec::new(),
            priority: None,
            preempt: None,
            timers: None,
            tracks: Vec::new(),
            interface_tracks: Vec::new(),
            auth: None,
            name: None,
            mac: None,
            follow: None,
            ra_lifetime: None,
            accept: None,
        }
    }
}

/// One interface block (or several with the same name, merged) as written so far.
#[derive(Debug)]
pub(crate) struct InterfaceDraft {
    pub name: String,
    pub line: usize,
    pub addresses: Vec<IfAddress>,
    pub version: At<Version>,
    pub use_bia: Option<usize>,
    pub mac_refresh: At<u8>,
    pub init_delay: At<(u16, u16)>,
    pub groups: Vec<GroupDraft>,
    /// `bfd interval ...`.
    pub bfd_interval: At<super::bfd::BfdInterval>,
    /// `standby bfd` (true) / `no standby bfd` (false).
    pub standby_bfd: At<bool>,
}

/// Everything pass 1 read.
#[derive(Debug, Default)]
pub(crate) struct Drafts {
    pub interfaces: Vec<InterfaceDraft>,
    pub tracks: BTreeMap<u32, TrackSpec>,
    /// Track objects whose definition was invalid (references to them are not reported).
    pub broken_tracks: BTreeSet<u32>,
    pub key_chains: BTreeMap<String, KeyChain>,
    pub ip_slas: BTreeMap<u32, IpSla>,
    /// `hsrpd ...` lines (hsrpd's own settings).
    pub operator: super::operator::OperatorDraft,
    /// `hsrpd realtime priority N`.
    pub realtime: At<u8>,
    /// `fast-path on|off|auto` (global), with its line.
    pub fast_path: Option<(crate::fastpath::Setting, usize)>,
    /// `standby bfd all-interfaces` (true) / `no standby bfd all-interfaces` (false).
    pub standby_bfd_all: At<bool>,
}

/// Which block indented lines belong to.
enum Block {
    None,
    Interface(usize),
    /// The sub-lines of `track N ...`.
    Track(u32),
    /// The sub-lines of `ip sla N`.
    IpSla(u32),
    KeyChain {
        name: String,
        key: Option<u32>,
    },
    /// The block header was invalid: its lines are skipped silently.
    Broken,
}

/// Reads every line of `text`, recording problems in `diags`.
pub(crate) fn read(text: &str, diags: &mut Diagnostics) -> Drafts {
    let mut drafts = Drafts::default();
    let mut block = Block::None;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('!') || trimmed.starts_with('#') {
            continue;
        }
        let toks: Vec<&str> = trimmed.split_whitespace().collect();
        let indented = raw.starts_with(|c: char| c.is_whitespace());
        let result = if indented {
            match &mut block {
                Block::None => {
                    Err("indented line outside any block (`interface` or `key chain`)".into())
                }
                Block::Interface(ifx) => interface_line(&mut drafts.interfaces[*ifx], line, &toks),
                Block::IpSla(id) => match drafts.ip_slas.get_mut(id) {
                    Some(op) => ip_sla_line(op, &toks),
                    None => Ok(()),
                },
                Block::Track(id) => {
                    let r = track_line(&mut drafts, *id, &toks);
                    if r.is_err() {
                        // Incomplete now: no follow-on complaints about it.
                        drafts.broken_tracks.insert(*id);
                    }
                    r
                }
                Block::KeyChain { name, key } => {
                    let chain = drafts.key_chains.get_mut(name.as_str());
                    match chain {
                        Some(chain) => key_chain_line(chain, key, line, trimmed, &toks),
                        None => Ok(()),
                    }
                }
                Block::Broken => Ok(()),
            }
        } else {
            let (next, result) = top_line(&mut drafts, line, &toks);
            block = next;
            result
        };
        if let Err(reason) = result {
            diags.at(line, reason);
        }
    }
    drafts
}

fn kw(token: &str) -> String {
    token.to_ascii_lowercase()
}

/// Err(`unexpected ...`) when `toks` has more than `n` tokens.
fn end(toks: &[&str], n: usize) -> Result<(), String> {
    match toks.get(n) {
        Some(extra) => Err(format!("unexpected `{extra}`")),
        None => Ok(()),
    }
}

/// Sets a single-valued setting: repeating it with the same value is harmless, a
/// different value is an error (IOS would silently keep the last one; in a file that is a
/// mistake worth reporting).
fn set<T: PartialEq>(slot: &mut At<T>, value: T, line: usize, what: &str) -> Result<(), String> {
    match slot {
        Some((old, at)) if *old != value => Err(format!(
            "{what} already set to a different value at line {at}"
        )),
        Some(_) => Ok(()),
        None => {
            *slot = Some((value, line));
            Ok(())
        }
    }
}

/// A top-level line: returns the block that following indented lines belong to.
fn top_line(drafts: &mut Drafts, line: usize, toks: &[&str]) -> (Block, Result<(), String>) {
    match kw(toks[0]).as_str() {
        "interface" => interface_top(drafts, line, toks),
        "track" => match track_object(drafts, line, toks) {
            Ok(id) => (Block::Track(id), Ok(())),
            Err(e) => (Block::Broken, Err(e)),
        },
        "key" if toks.get(1).map(|t| kw(t)) == Some("chain".into()) => {
            key_chain_top(drafts, line, toks)
        }
        "ip" if toks.get(1).map(|t| kw(t)).as_deref() == Some("sla") => {
            ip_sla_top(drafts, line, toks)
        }
        "hsrpd" => (
            Block::None,
            match toks.get(1).map(|t| kw(t)).as_deref() {
                Some("realtime") => daemon_line(drafts, line, toks),
                _ => super::operator::hsrpd_line(&mut drafts.operator, line, toks),
            },
        ),
        "fast-path" => (Block::None, fast_path(drafts, line, toks)),
        "standby" | "no" if super::bfd::is_global_standby_bfd(toks) => {
            (Block::None, standby_bfd_all(drafts, line, toks))
        }
        "standby" | "ip" | "description" => (
            Block::None,
            Err(format!(
                "`{}` belongs inside an `interface` block (indent it)",
                toks[0]
            )),
        ),
        "key-string" => (
            Block::None,
            Err("`key-string` belongs inside a `key chain` block (indent it)".into()),
        ),
        // Its indented lines are skipped: one mistake, one message.
        _ => (
            Block::Broken,
            Err(format!(
                "unknown command `{}` (expected interface, track, key chain, ip sla, fast-path or hsrpd)",
                toks[0]
            )),
        ),
    }
}

/// `interface NAME`: opens (or reopens) the interface's block.
fn interface_top(drafts: &mut Drafts, line: usize, toks: &[&str]) -> (Block, Result<(), String>) {
    let Some(name) = toks.get(1) else {
        return (
            Block::Broken,
            Err("incomplete command: interface NAME".into()),
        );
    };
    let name = match values::interface_name(name).and_then(|n| end(toks, 2).map(|_| n)) {
        Ok(n) => n,
        Err(e) => return (Block::Broken, Err(e)),
    };
    let ifx = match drafts.interfaces.iter().position(|i| i.name == name) {
        Some(ifx) => ifx,
        None => {
            drafts.interfaces.push(InterfaceDraft {
                name,
                line,
                addresses: Vec::new(),
                version: None,
                use_bia: None,
                mac_refresh: None,
                init_delay: None,
                groups: Vec::new(),
                bfd_interval: None,
                standby_bfd: None,
            });
            drafts.interfaces.len() - 1
        }
    };
    (Block::Interface(ifx), Ok(()))
}

/// `key chain NAME`: opens (or reopens) the chain's block.
fn key_chain_top(drafts: &mut Drafts, line: usize, toks: &[&str]) -> (Block, Result<(), String>) {
    let result = match toks.get(2) {
        None => Err("incomplete command: key chain NAME".into()),
        Some(name) => end(toks, 3).map(|_| name.to_string()),
    };
    match result {
        Ok(name) => {
            drafts
                .key_chains
                .entry(name.clone())
                .or_insert_with(|| KeyChain {
                    name: name.clone(),
                    line,
                    keys: BTreeMap::new(),
                });
            (Block::KeyChain { name, key: None }, Ok(()))
        }
        Err(e) => (Block::Broken, Err(e)),
    }
}

/// `[no] standby bfd all-interfaces` at the top level.
fn standby_bfd_all(drafts: &mut Drafts, line: usize, toks: &[&str]) -> Result<(), String> {
    let negated = kw(toks[0]) == "no";
    let toks = if negated { &toks[1..] } else { toks };
    super::bfd::standby_bfd(toks, negated).and_then(|s| {
        set(
            &mut drafts.standby_bfd_all,
            s.enable,
            line,
            "standby bfd all-interfaces",
        )
    })
}

/// `hsrpd realtime priority N`: settings of the daemon itself, not of IOS.
fn daemon_line(drafts: &mut Drafts, line: usize, toks: &[&str]) -> Result<(), String> {
    const USAGE: &str = "incomplete command: hsrpd realtime priority N (N = 1-99)";
    match toks.get(1).map(|t| kw(t)).as_deref() {
        Some("realtime") => {}
        Some(other) => {
            return Err(format!(
                "unknown hsrpd setting `{other}` (expected realtime)"
            ))
        }
        None => return Err(USAGE.into()),
    }
    if toks.get(2).map(|t| kw(t)).as_deref() != Some("priority") {
        return Err(USAGE.into());
    }
    let tok = toks.get(3).ok_or(USAGE)?;
    let priority = match tok.parse::<u8>() {
        Ok(p) if (1..=99).contains(&p) => p,
        _ => {
            return Err(format!(
                "real-time priority `{tok}` is not a number from 1 to 99"
            ))
        }
    };
    end(toks, 4)?;
    set(
        &mut drafts.realtime,
        priority,
        line,
        "hsrpd realtime priority",
    )
}

/// `fast-path on|off|auto`: whether XDP may forward past netfilter hooks (see
/// `crate::fastpath`).
fn fast_path(drafts: &mut Drafts, line: usize, toks: &[&str]) -> Result<(), String> {
    use crate::fastpath::Setting;
    let setting = match toks.get(1).map(|t| kw(t)).as_deref() {
        Some("auto") => Setting::Auto,
        Some("on") => Setting::On,
        Some("off") => Setting::Off,
        Some(other) => return Err(format!("fast-path {other}: expected on, off or auto")),
        None => return Err("incomplete command: fast-path on|off|auto".into()),
    };
    end(toks, 2)?;
    if let Some((_, first)) = drafts.fast_path {
        return Err(format!("fast-path is already set on line {first}"));
    }
    drafts.fast_path = Some((setting, line));
    Ok(())
}

/// `track N interface IF {line-protocol | ip routing}` | `track N ip route P reachability`
/// | `track N ipv6 route P reachability` | `track N list {boolean {and|or} | threshold
/// {weight|percentage}}`. Returns the object number, whose sub-lines follow.
fn track_object(drafts: &mut Drafts, line: usize, toks: &[&str]) -> Result<u32, String> {
    const USAGE: &str = "incomplete command: track N interface IF line-protocol | track N ip route PREFIX reachability";
    let id_tok = toks.get(1).ok_or(USAGE)?;
    let id = values::number(id_tok, 1, TRACK_ID_MAX, "track object")?;
    match parse_track_kind(toks) {
        Ok(kind) => match drafts.tracks.get(&id) {
            // A repeated header continues the object (lists gain members).
            Some(old) if same_header(&old.kind, &kind) => Ok(id),
            Some(old) => Err(format!(
                "track {id} already defined differently at line {}",
                old.line
            )),
            None => {
                drafts.tracks.insert(id, TrackSpec::new(id, line, kind));
                Ok(id)
            }
        },
        Err(e) => {
            drafts.broken_tracks.insert(id);
            Err(e)
        }
    }
}

/// Two headers of the same object: equal, lists compared by their type only.
fn same_header(a: &TrackKind, b: &TrackKind) -> bool {
    match (a, b) {
        (TrackKind::ListBoolean { and: x, .. }, TrackKind::ListBoolean { and: y, .. }) => x == y,
        (
            TrackKind::ListThreshold { percentage: x, .. },
            TrackKind::ListThreshold { percentage: y, .. },
        ) => x == y,
        _ => a == b,
    }
}

/// A line inside a `track N` block: ` delay up S down S` for any object, ` object M ...`
/// and ` threshold ...` for lists.
fn track_line(drafts: &mut Drafts, id: u32, toks: &[&str]) -> Result<(), String> {
    let Some(spec) = drafts.tracks.get_mut(&id) else {
        return Ok(()); // the header was refused already
    };
    let words: Vec<String> = toks.iter().map(|t| kw(t)).collect();
    match words[0].as_str() {
        "delay" => track_delay(spec, toks, &words),
        "object" => track_member(spec, id, toks, &words),
        "threshold" => track_thresholds(spec, toks, &words),
        _ => Err(format!(
            "unknown track sub-command `{}` (expected object, threshold or delay)",
            toks[0]
        )),
    }
}

/// ` delay up S down S` (either order, either alone) of any track object.
fn track_delay(spec: &mut TrackSpec, toks: &[&str], words: &[String]) -> Result<(), String> {
    const USAGE: &str = "incomplete command: delay {up S [down S] | down S [up S]} (0-180 s)";
    if toks.len() < 3 {
        return Err(USAGE.into());
    }
    let mut i = 1;
    let (mut up, mut down) = (None, None);
    while i < toks.len() {
        let v = toks.get(i + 1).ok_or(USAGE)?;
        let slot = match words[i].as_str() {
            "up" if up.is_none() => &mut up,
            "down" if down.is_none() => &mut down,
            _ => {
                return Err(format!(
                    "unexpected `{}` (expected up S or down S)",
                    toks[i]
                ))
            }
        };
        *slot = Some(values::number(v, 0, 180, &format!("delay {}", words[i]))? as u16);
        i += 2;
    }
    spec.delay_up_s = up.unwrap_or(spec.delay_up_s);
    spec.delay_down_s = down.unwrap_or(spec.delay_down_s);
    Ok(())
}

/// ` object M [not]` of a boolean list, ` object M [weight W]` of a threshold list.
fn track_member(
    spec: &mut TrackSpec,
    id: u32,
    toks: &[&str],
    words: &[String],
) -> Result<(), String> {
    let m = values::number(
        toks.get(1).ok_or("incomplete command: object M")?,
        1,
        TRACK_ID_MAX,
        "track object",
    )?;
    if m == id {
        return Err(format!("track {id} cannot be a member of itself"));
    }
    match &mut spec.kind {
        TrackKind::ListBoolean { members, .. } => {
            let not = match words.get(2).map(String::as_str) {
                None => false,
                Some("not") => {
                    end(toks, 3)?;
                    true
                }
                Some(_) => return Err(format!("unexpected `{}` (expected not)", toks[2])),
            };
            add_member(members, m, not)
        }
        TrackKind::ListThreshold {
            percentage,
            members,
            ..
        } => {
            let weight = match words.get(2).map(String::as_str) {
                None => DEFAULT_TRACK_WEIGHT,
                Some("weight") if !*percentage => {
                    let w = values::number(
                        toks.get(3).ok_or("incomplete command: object M weight 1-255")?,
                        1,
                        255,
                        "weight",
                    )?;
                    end(toks, 4)?;
                    w
                }
                Some("weight") => {
                    return Err("a percentage list counts objects: `weight` applies to `list threshold weight` only".into())
                }
                Some(_) => return Err(format!("unexpected `{}` (expected weight W)", toks[2])),
            };
            add_member(members, m, weight)
        }
        _ => Err("`object` lines belong to `track N list ...` objects".into()),
    }
}

/// ` threshold {weight|percentage} up U down D` of a threshold list.
fn track_thresholds(spec: &mut TrackSpec, toks: &[&str], words: &[String]) -> Result<(), String> {
    let TrackKind::ListThreshold {
        percentage,
        thresholds,
        ..
    } = &mut spec.kind
    else {
        return Err("`threshold` lines belong to `track N list threshold` objects".into());
    };
    let (unit, max) = if *percentage {
        ("percentage", 100)
    } else {
        ("weight", 255)
    };
    let usage = format!("incomplete command: threshold {unit} up U down D");
    if words.get(1).map(String::as_str) != Some(unit) {
        return Err(format!(
            "this list is a {unit} list: expected `threshold {unit} up U down D`"
        ));
    }
    let mut i = 2;
    let (mut up, mut down) = (None, None);
    while i < toks.len() {
        let v = toks.get(i + 1).ok_or(usage.clone())?;
        match words[i].as_str() {
            "up" if up.is_none() => up = Some(values::number(v, 1, max, "threshold up")?),
            "down" if down.is_none() => {
                down = Some(values::number(v, 0, max - 1, "threshold down")?)
            }
            _ => {
                return Err(format!(
                    "unexpected `{}` (expected up U or down D)",
                    toks[i]
                ))
            }
        }
        i += 2;
    }
    let (Some(up), Some(down)) = (up, down) else {
        return Err(usage);
    };
    if down >= up {
        return Err(format!(
            "threshold down ({down}) must be below threshold up ({up})"
        ));
    }
    match thresholds {
        Some(old) if *old != (up, down) => Err(format!(
            "threshold already set to up {} down {}",
            old.0, old.1
        )),
        _ => {
            *thresholds = Some((up, down));
            Ok(())
        }
    }
}

/// Adds a list member; the same member twice with different settings is a mistake.
fn add_member<T: PartialEq + Copy>(
    members: &mut Vec<(u32, T)>,
    m: u32,
    v: T,
) -> Result<(), String> {
    match members.iter().find(|(o, _)| *o == m) {
        Some((_, old)) if *old != v => Err(format!(
            "object {m} is already in this list with other settings"
        )),
        Some(_) => Ok(()),
        None => {
            members.push((m, v));
            Ok(())
        }
    }
}

/// What a `track N ...` header tracks.
fn parse_track_kind(toks: &[&str]) -> Result<TrackKind, String> {
    let words: Vec<String> = toks.iter().map(|t| kw(t)).collect();
    match words.get(2).map(String::as_str) {
        Some("interface") => interface_track(toks, &words),
        Some("ip") if words.get(3).map(String::as_str) == Some("sla") => ip_sla_track(toks, &words),
        Some(family @ ("ip" | "ipv6")) => route_track(family, toks, &words),
        Some("script") => script_track(toks, &words),
        Some("file") => file_track(toks, &words),
        Some("list") => list_track(toks, &words),
        Some(_) => Err(format!(
            "unknown track type `{}` (expected interface, ip route, ipv6 route, list, script or file)",
            toks[2]
        )),
        None => Err("incomplete command: track N interface IF line-protocol | track N ip route PREFIX reachability".into()),
    }
}

/// `track N interface IF {line-protocol | ip routing}`.
fn interface_track(toks: &[&str], words: &[String]) -> Result<TrackKind, String> {
    let name = toks
        .get(3)
        .ok_or("incomplete command: track N interface IF line-protocol")?;
    let name = values::interface_name(name)?;
    match words.get(4).map(String::as_str) {
        Some("line-protocol") => end(toks, 5).map(|_| TrackKind::Interface { name }),
        Some("ip") if words.get(5).map(String::as_str) == Some("routing") => {
            end(toks, 6).map(|_| TrackKind::IpRouting { name })
        }
        Some(_) => Err(format!(
            "unsupported track type `{}` (expected line-protocol or ip routing)",
            toks[4..].join(" ")
        )),
        None => Err("incomplete command: track N interface IF line-protocol".into()),
    }
}

/// `track N ip sla N [state | reachability]`.
fn ip_sla_track(toks: &[&str], words: &[String]) -> Result<TrackKind, String> {
    const USAGE: &str = "incomplete command: track N ip sla N [state | reachability]";
    let operation = values::number(
        toks.get(4).ok_or(USAGE)?,
        1,
        2_147_483_647,
        "ip sla operation",
    )?;
    let reachability = match words.get(5).map(String::as_str) {
        None | Some("state") => false,
        Some("reachability") => true,
        Some(_) => {
            return Err(format!(
                "unexpected `{}` (expected state or reachability)",
                toks[5]
            ))
        }
    };
    end(toks, 6)?;
    Ok(TrackKind::IpSla {
        operation,
        reachability,
    })
}

/// `track N {ip | ipv6} route PREFIX reachability` (IPv4 also as ADDRESS MASK).
fn route_track(family: &str, toks: &[&str], words: &[String]) -> Result<TrackKind, String> {
    if words.get(3).map(String::as_str) != Some("route") {
        return Err(format!(
            "expected `track N {family} route PREFIX reachability`"
        ));
    }
    let (prefix, len, next) = match (toks.get(4), toks.get(5)) {
        (Some(a), Some(m)) if family == "ip" && !a.contains('/') => {
            let a = values::ipv4(a, "address")?;
            (IpAddr::V4(a), values::netmask(m)?, 6)
        }
        (Some(p), _) => {
            let (p, l) = values::prefix(p)?;
            (p, l, 5)
        }
        (None, _) => {
            return Err(format!(
                "incomplete command: track N {family} route PREFIX reachability"
            ))
        }
    };
    if (family == "ip") != prefix.is_ipv4() {
        return Err(format!(
            "`track N {family} route` takes an {} prefix",
            if family == "ip" { "IPv4" } else { "IPv6" }
        ));
    }
    check_host_bits(prefix, len)?;
    match words.get(next).map(String::as_str) {
        Some("reachability") => end(toks, next + 1).map(|_| TrackKind::Route {
            prefix,
            prefix_len: len,
        }),
        Some(_) => Err(format!(
            "unsupported track type `{}` (only reachability)",
            toks[next]
        )),
        None => Err(format!(
            "incomplete command: track N {family} route PREFIX reachability"
        )),
    }
}

/// `track N file PATH [interval 1-3600]`.
fn file_track(toks: &[&str], words: &[String]) -> Result<TrackKind, String> {
    const USAGE: &str = "incomplete command: track N file PATH [interval 1-3600]";
    let path = absolute_path(toks.get(3).ok_or(USAGE)?)?;
    let interval_s = match words.get(4).map(String::as_str) {
        None => DEFAULT_FILE_INTERVAL_S,
        Some("interval") => {
            let s = values::number(toks.get(5).ok_or(USAGE)?, 1, 3600, "interval")?;
            end(toks, 6)?;
            s as u16
        }
        Some("weight") => return Err("`track N file PATH weight` is not implemented: a file object is up or down; weigh objects with a `track M list threshold weight` list".into()),
        Some(_) => return Err(format!("unexpected `{}` (expected interval S)", toks[4])),
    };
    Ok(TrackKind::File { path, interval_s })
}

/// `track N list {boolean {and|or} | threshold {weight|percentage}}` (members follow in
/// the block).
fn list_track(toks: &[&str], words: &[String]) -> Result<TrackKind, String> {
    const USAGE: &str =
        "incomplete command: track N list {boolean {and|or} | threshold {weight|percentage}}";
    let kind = match (
        words.get(3).map(String::as_str),
        words.get(4).map(String::as_str),
    ) {
        (Some("boolean"), Some(op @ ("and" | "or"))) => TrackKind::ListBoolean {
            and: op == "and",
            members: Vec::new(),
        },
        (Some("threshold"), Some(unit @ ("weight" | "percentage"))) => TrackKind::ListThreshold {
            percentage: unit == "percentage",
            members: Vec::new(),
            thresholds: None,
        },
        (Some("boolean" | "threshold"), Some(_)) => {
            return Err(format!("unexpected `{}`", toks[4]))
        }
        (Some("boolean" | "threshold"), None) => return Err(USAGE.into()),
        (Some(_), _) => {
            return Err(format!(
                "unknown list type `{}` (expected boolean or threshold)",
                toks[3]
            ))
        }
        (None, _) => return Err(USAGE.into()),
    };
    end(toks, 5).map(|_| kind)
}

/// `ip sla N` (a block follows) or `ip sla schedule N life forever start-time now`.
fn ip_sla_top(drafts: &mut Drafts, line: usize, toks: &[&str]) -> (Block, Result<(), String>) {
    const USAGE: &str =
        "incomplete command: ip sla N | ip sla schedule N life forever start-time now";
    let words: Vec<String> = toks.iter().map(|t| kw(t)).collect();
    if words.get(2).map(String::as_str) == Some("schedule") {
        let result = (|| {
            let id = values::number(
                toks.get(3).ok_or(USAGE)?,
                1,
                2_147_483_647,
                "ip sla operation",
            )?;
            let rest: Vec<&str> = words[4..].iter().map(String::as_str).collect();
            if rest != ["life", "forever", "start-time", "now"] {
                return Err("only `ip sla schedule N life forever start-time now` is implemented (other lives and start times are not)".to_string());
            }
            let op = drafts.ip_slas.get_mut(&id).ok_or_else(|| {
                format!("ip sla {id} is not defined (define it above its schedule)")
            })?;
            op.scheduled.get_or_insert(line);
            Ok(())
        })();
        return (Block::None, result);
    }
    let id = match toks
        .get(2)
        .ok_or(USAGE.to_string())
        .and_then(|t| values::number(t, 1, 2_147_483_647, "ip sla operation"))
    {
        Ok(id) => id,
        Err(e) => return (Block::Broken, Err(e)),
    };
    if let Err(e) = end(toks, 3) {
        return (Block::Broken, Err(e));
    }
    drafts
        .ip_slas
        .entry(id)
        .or_insert_with(|| IpSla::new(id, line));
    (Block::IpSla(id), Ok(()))
}

/// A line inside `ip sla N`: ` icmp-echo A [source-interface IF | source-ip A]`,
/// ` frequency S`, ` timeout MS`, ` threshold MS`.
fn ip_sla_line(op: &mut IpSla, toks: &[&str]) -> Result<(), String> {
    let words: Vec<String> = toks.iter().map(|t| kw(t)).collect();
    let value = |what: &str, lo: u32, hi: u32| -> Result<u32, String> {
        let v = toks
            .get(1)
            .ok_or_else(|| format!("incomplete command: {what} {lo}-{hi}"))?;
        end(toks, 2)?;
        values::number(v, lo, hi, what)
    };
    match words[0].as_str() {
        "icmp-echo" => {
            const USAGE: &str = "incomplete command: icmp-echo A.B.C.D [source-interface IF | source-ip A.B.C.D]";
            let target = values::ipv4(toks.get(1).ok_or(USAGE)?, "target")?;
            if target.is_unspecified() || target.is_multicast() || target.is_broadcast() {
                return Err(format!("{target} cannot be an icmp-echo target"));
            }
            let source = match words.get(2).map(String::as_str) {
                None => SlaSource::Any,
                Some("source-interface") => {
                    SlaSource::Interface(values::interface_name(toks.get(3).ok_or(USAGE)?)?)
                }
                Some("source-ip") => {
                    SlaSource::Address(values::ipv4(toks.get(3).ok_or(USAGE)?, "source address")?)
                }
                Some(_) => {
                    return Err(format!(
                        "unexpected `{}` (expected source-interface IF or source-ip A)",
                        toks[2]
                    ))
                }
            };
            end(toks, if source == SlaSource::Any { 2 } else { 4 })?;
            if op.target.is_some_and(|t| t != target) {
                return Err(format!("ip sla {} already probes another target", op.id));
            }
            op.target = Some(target);
            op.source = source;
            Ok(())
        }
        "frequency" => {
            op.frequency_s = value("frequency", 1, 604_800)?;
            Ok(())
        }
        "timeout" => {
            op.timeout_ms = value("timeout", 0, 604_800_000)?;
            Ok(())
        }
        "threshold" => {
            op.threshold_ms = value("threshold", 0, 2_147_483_647)?;
            Ok(())
        }
        _ => Err(format!(
            "unknown ip sla command `{}` (expected icmp-echo, frequency, timeout or threshold; other operation types are not implemented)",
            toks[0]
        )),
    }
}

/// How often a tracked file is read when no interval is given.
const DEFAULT_FILE_INTERVAL_S: u16 = 1;

/// Scripts and files are named by absolute paths (the daemon's working directory is no
/// concern of the configuration).
fn absolute_path(p: &str) -> Result<String, String> {
    if !p.starts_with('/') {
        return Err(format!("`{p}` is not an absolute path"));
    }
    Ok(p.to_string())
}

/// `track N script PATH interval S [rise R] [fall F] [timeout T]`.
fn script_track(toks: &[&str], words: &[String]) -> Result<TrackKind, String> {
    const USAGE: &str =
        "incomplete command: track N script PATH interval S [rise R] [fall F] [timeout T]";
    let path = absolute_path(toks.get(3).ok_or(USAGE)?)?;
    let (mut interval, mut rise, mut fall, mut timeout) = (None, None, None, None);
    let mut i = 4;
    while i < toks.len() {
        let v = toks.get(i + 1).ok_or(USAGE)?;
        match words[i].as_str() {
            "interval" if interval.is_none() => {
                interval = Some(values::number(v, 1, 3600, "interval")? as u16)
            }
            "rise" if rise.is_none() => rise = Some(values::number(v, 1, 255, "rise")? as u8),
            "fall" if fall.is_none() => fall = Some(values::number(v, 1, 255, "fall")? as u8),
            "timeout" if timeout.is_none() => {
                timeout = Some(values::number(v, 1, 3600, "timeout")? as u16)
            }
            _ => {
                return Err(format!(
                    "unexpected `{}` (expected interval, rise, fall or timeout)",
                    toks[i]
                ))
            }
        }
        i += 2;
    }
    let interval_s = interval.ok_or(USAGE)?;
    let timeout_s = timeout.unwrap_or(interval_s);
    if timeout_s > interval_s {
        return Err(format!(
            "timeout ({timeout_s} s) must not exceed the interval ({interval_s} s): one run at a time"
        ));
    }
    Ok(TrackKind::Script {
        path,
        interval_s,
        rise: rise.unwrap_or(1),
        fall: fall.unwrap_or(1),
        timeout_s,
    })
}

/// A route prefix with host bits set is almost certainly a typo; say what was meant.
fn check_host_bits(prefix: IpAddr, len: u8) -> Result<(), String> {
    let masked = match prefix {
        IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(
            u32::from(a) & super::model::prefix_mask_v4(len),
        )),
        IpAddr::V6(a) => {
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(len))
            };
            IpAddr::V6((u128::from(a) & mask).into())
        }
    };
    if masked == prefix {
        Ok(())
    } else {
        Err(format!(
            "prefix {prefix}/{len} has host bits set (did you mean {masked}/{len}?)"
        ))
    }
}

/// A line inside an `interface` block.
fn interface_line(ifc: &mut InterfaceDraft, line: usize, toks: &[&str]) -> Result<(), String> {
    match kw(toks[0]).as_str() {
        "standby" if toks.get(1).map(|t| kw(t)).as_deref() == Some("bfd") => {
            let on = super::bfd::interface_standby_bfd(toks, false)?;
            set(&mut ifc.standby_bfd, on, line, "standby bfd")
        }
        "no" if toks.get(1).map(|t| kw(t)).as_deref() == Some("standby")
            && toks.get(2).map(|t| kw(t)).as_deref() == Some("bfd") =>
        {
            let on = super::bfd::interface_standby_bfd(&toks[1..], true)?;
            set(&mut ifc.standby_bfd, on, line, "standby bfd")
        }
        "bfd" => {
            let interval = super::bfd::interval(toks)?;
            set(&mut ifc.bfd_interval, interval, line, "bfd interval")
        }
        "standby" => standby_line(ifc, line, toks),
        "description" => Ok(()),
        "ip" if toks.get(1).map(|t| kw(t)) == Some("address".into()) => {
            ip_address_line(ifc, line, toks)
        }
        "ip" => Err(format!(
            "unknown interface command `ip {}` (expected ip address, standby or description)",
            toks.get(1).copied().unwrap_or("")
        )),
        _ => Err(format!(
            "unknown interface command `{}` (expected ip address, standby or description)",
            toks[0]
        )),
    }
}

/// `ip address A.B.C.D M.M.M.M [secondary]`.
fn ip_address_line(ifc: &mut InterfaceDraft, line: usize, toks: &[&str]) -> Result<(), String> {
    let (Some(a), Some(m)) = (toks.get(2), toks.get(3)) else {
        return Err("incomplete command: ip address A.B.C.D M.M.M.M [secondary]".into());
    };
    let addr = values::ipv4(a, "address")?;
    let prefix_len = values::netmask(m)?;
    let secondary = match toks.get(4).map(|t| kw(t)).as_deref() {
        Some("secondary") => {
            end(toks, 5)?;
            true
        }
        Some(_) => return Err(format!("unexpected `{}`", toks[4])),
        None => false,
    };
    if prefix_len == 0 || addr.is_unspecified() || addr.is_multicast() || addr.is_broadcast() {
        return Err(format!("{a} {m} is not a usable interface address"));
    }
    if !secondary {
        if let Some(p) = ifc.addresses.iter().find(|p| !p.secondary) {
            if (p.addr, p.prefix_len) != (addr, prefix_len) {
                return Err(format!(
                    "primary ip address already set to a different value at line {}",
                    p.line
                ));
            }
            return Ok(());
        }
    }
    if !ifc.addresses.iter().any(|p| p.addr == addr) {
        ifc.addresses.push(IfAddress {
            addr,
            prefix_len,
            secondary,
            line,
        });
    }
    Ok(())
}

/// A `standby ...` line: interface-wide settings or a group command.
fn standby_line(ifc: &mut InterfaceDraft, line: usize, toks: &[&str]) -> Result<(), String> {
    let Some(first) = toks.get(1) else {
        return Err("incomplete command: standby [GROUP] COMMAND".into());
    };
    let (group, rest) = match kw(first).as_str() {
        "version" => {
            let v = match toks.get(2).copied() {
                Some("1") => Version::V1,
                Some("2") => Version::V2,
                _ => return Err("standby version must be 1 or 2".into()),
            };
            end(toks, 3)?;
            return set(&mut ifc.version, v, line, "standby version");
        }
        "use-bia" => {
            // IOS also writes `standby use-bia scope interface`; that is the only scope here.
            let words: Vec<String> = toks[2..].iter().map(|t| kw(t)).collect();
            if !(words.is_empty() || words == ["scope", "interface"]) {
                return Err(format!("unexpected `{}`", toks[2]));
            }
            ifc.use_bia.get_or_insert(line);
            return Ok(());
        }
        "delay" => return standby_delay(ifc, line, toks),
        "mac-refresh" => {
            let usage = "incomplete command: standby mac-refresh 0-255";
            let s = values::number(toks.get(2).ok_or(usage)?, 0, 255, "mac-refresh interval")?;
            end(toks, 3)?;
            return set(&mut ifc.mac_refresh, s as u8, line, "standby mac-refresh");
        }
        _ if values::is_decimal(first) => {
            let max = hsrp_ebpf::proto::MAX_GROUP_V2.into();
            (values::number(first, 0, max, "group")? as u16, &toks[2..])
        }
        // IOS: no group number means group 0.
        _ => (0, &toks[1..]),
    };
    if rest.is_empty() {
        return Err("incomplete command: expected ip, ipv6, priority, preempt, timers, track, authentication, name, mac-address or follow".into());
    }
    let gx = match ifc.groups.iter().position(|g| g.group == group) {
        Some(gx) => gx,
        None => {
            ifc.groups.push(GroupDraft::new(group, line));
            ifc.groups.len() - 1
        }
    };
    let g = &mut ifc.groups[gx];
    let result = group_command(g, line, rest);
    if result.is_err() {
        g.had_errors = true;
    }
    result
}

/// `standby delay minimum S [reload S]` of an interface.
fn standby_delay(ifc: &mut InterfaceDraft, line: usize, toks: &[&str]) -> Result<(), String> {
    // IOS defaults when the line is given: minimum 1 s, reload 5 s.
    const USAGE: &str = "incomplete command: standby delay minimum S [reload S] (0-10000 s)";
    let words: Vec<String> = toks.iter().map(|t| kw(t)).collect();
    let (mut minimum, mut reload) = (None, None);
    let mut i = 2;
    if toks.len() < 4 {
        return Err(USAGE.into());
    }
    while i < toks.len() {
        let v = toks.get(i + 1).ok_or(USAGE)?;
        let slot = match words[i].as_str() {
            "minimum" if minimum.is_none() => &mut minimum,
            "reload" if reload.is_none() => &mut reload,
            _ => {
                return Err(format!(
                    "unexpected `{}` (expected minimum S or reload S)",
                    toks[i]
                ))
            }
        };
        *slot = Some(values::number(v, 0, 10_000, &format!("delay {}", words[i]))? as u16);
        i += 2;
    }
    let d = (minimum.unwrap_or(1), reload.unwrap_or(5));
    set(&mut ifc.init_delay, d, line, "standby delay")
}

/// The part of a `standby G ...` line after the group number.
fn group_command(g: &mut GroupDraft, line: usize, rest: &[&str]) -> Result<(), String> {
    let words: Vec<String> = rest.iter().map(|t| kw(t)).collect();
    let arg = |i: usize, usage: &str| arg(rest, i, usage);
    match words[0].as_str() {
        "ip" => group_ip(g, line, rest, &words),
        "ipv6" => group_ipv6(g, line, rest),
        "priority" => {
            let p = values::number(arg(1, "standby G priority 1-255")?, 1, 255, "priority")? as u8;
            end(rest, 2)?;
            set(&mut g.priority, p, line, "priority")
        }
        "preempt" => {
            let p = preempt(rest, &words)?;
            set(&mut g.preempt, p, line, "preempt")
        }
        "timers" => {
            let t = timers(rest, &words)?;
            set(&mut g.timers, t, line, "timers")
        }
        "track" if rest.get(1).is_some_and(|t| !values::is_decimal(t)) => {
            group_track_interface(g, line, rest, &words)
        }
        "track" => group_track(g, line, rest, &words),
        "authentication" => {
            let a = authentication(rest, &words)?;
            set(&mut g.auth, a, line, "authentication")
        }
        "name" => {
            let n = arg(1, "standby G name NAME")?;
            end(rest, 2)?;
            set(&mut g.name, n.to_string(), line, "name")
        }
        "mac-address" => {
            let m = values::mac(arg(1, "standby G mac-address HHHH.HHHH.HHHH")?)?;
            end(rest, 2)?;
            set(&mut g.mac, m, line, "mac-address")
        }
        "accept" => {
            end(rest, 1)?;
            g.accept.get_or_insert(line);
            Ok(())
        }
        "follow" => {
            let n = arg(1, "standby G follow NAME")?;
            end(rest, 2)?;
            set(&mut g.follow, n.to_string(), line, "follow")
        }
        _ => Err(format!(
            "unknown standby command `{}` (expected ip, ipv6, priority, preempt, timers, track, authentication, name, mac-address or follow)",
            rest[0]
        )),
    }
}

/// `standby G ip [A [secondary]]`.
fn group_ip(
    g: &mut GroupDraft,
    line: usize,
    rest: &[&str],
    words: &[String],
) -> Result<(), String> {
    if let Some(v6) = g.v6_line {
        return Err(format!(
            "group {} is an IPv6 group (line {v6}); use another group number for IPv4",
            g.group
        ));
    }
    g.v4_line.get_or_insert(line);
    let Some(a) = rest.get(1) else {
        return Ok(()); // bare `standby G ip`: learn the VIP from the Active
    };
    let addr = values::ipv4(a, "address")?;
    if addr.is_unspecified() || addr.is_multicast() || addr.is_broadcast() || addr.is_loopback() {
        return Err(format!("{addr} cannot be a virtual address"));
    }
    match words.get(2).map(String::as_str) {
        Some("secondary") => {
            end(rest, 3)?;
            if !g.secondary.iter().any(|(s, _)| *s == addr) {
                g.secondary.push((addr, line));
            }
            Ok(())
        }
        Some(_) => Err(format!("unexpected `{}`", rest[2])),
        None => set(&mut g.vip, addr, line, "virtual IP"),
    }
}

/// `standby G ipv6 {autoconfig | X::Y/LEN | fe80::Y | ra-lifetime S}`.
fn group_ipv6(g: &mut GroupDraft, line: usize, rest: &[&str]) -> Result<(), String> {
    if let Some(v4) = g.v4_line {
        return Err(format!(
            "group {} is an IPv4 group (line {v4}); use another group number for IPv6",
            g.group
        ));
    }
    let a = arg(
        rest,
        1,
        "standby G ipv6 {autoconfig | X::Y/LEN | fe80::Y | ra-lifetime S}",
    )?;
    if a.eq_ignore_ascii_case("ra-lifetime") {
        let (lo, hi) = RA_LIFETIME_RANGE_S;
        let usage = "standby G ipv6 ra-lifetime 12-9000";
        let s = values::number(arg(rest, 2, usage)?, lo.into(), hi.into(), "RA lifetime")? as u16;
        end(rest, 3)?;
        g.v6_line.get_or_insert(line);
        return set(&mut g.ra_lifetime, s, line, "RA lifetime");
    }
    end(rest, 2)?;
    g.v6_line.get_or_insert(line);
    if a.eq_ignore_ascii_case("autoconfig") {
        return set(
            &mut g.link_local,
            Ipv6LinkLocal::Autoconfig,
            line,
            "virtual link-local address",
        );
    }
    match values::ipv6_vip(a)? {
        values::Ipv6Vip::LinkLocal(ll) => set(
            &mut g.link_local,
            Ipv6LinkLocal::Explicit(ll),
            line,
            "virtual link-local address",
        ),
        values::Ipv6Vip::Global(addr, prefix_len) => {
            if !g.globals.iter().any(|(p, _)| p.addr == addr) {
                g.globals.push((Ipv6Prefix { addr, prefix_len }, line));
            }
            Ok(())
        }
    }
}

/// The old IOS form `standby G track IF [D]`: tracks the line protocol of IF.
fn group_track_interface(
    g: &mut GroupDraft,
    line: usize,
    rest: &[&str],
    words: &[String],
) -> Result<(), String> {
    let name = values::interface_name(rest[1])?;
    let d = match (words.get(2).map(String::as_str), rest.get(3)) {
        (None, _) => DEFAULT_TRACK_DECREMENT,
        (Some("decrement"), Some(d)) => {
            end(rest, 4)?;
            values::number(d, 1, 255, "decrement")? as u8
        }
        (Some(d), _) if values::is_decimal(d) => {
            end(rest, 3)?;
            values::number(d, 1, 255, "decrement")? as u8
        }
        (Some(_), _) => {
            return Err(format!(
                "unexpected `{}` (expected a decrement 1-255)",
                rest[2]
            ))
        }
    };
    match g.interface_tracks.iter().find(|(n, _, _)| *n == name) {
        Some((_, old, at)) if *old != d => Err(format!(
            "track {name} already set to a different decrement at line {at}"
        )),
        Some(_) => Ok(()),
        None => {
            g.interface_tracks.push((name, d, line));
            Ok(())
        }
    }
}

/// `standby G track N [decrement D | shutdown]`.
fn group_track(
    g: &mut GroupDraft,
    line: usize,
    rest: &[&str],
    words: &[String],
) -> Result<(), String> {
    let object = values::number(
        arg(rest, 1, "standby G track N [decrement D | shutdown]")?,
        1,
        1000,
        "track object",
    )?;
    let action = match words.get(2).map(String::as_str) {
        None => TrackAction::Decrement(DEFAULT_TRACK_DECREMENT),
        Some("decrement") => {
            let d = values::number(
                arg(rest, 3, "standby G track N decrement 1-255")?,
                1,
                255,
                "decrement",
            )?;
            end(rest, 4)?;
            TrackAction::Decrement(d as u8)
        }
        Some("shutdown") => {
            end(rest, 3)?;
            TrackAction::Shutdown
        }
        Some(_) => {
            return Err(format!(
                "unexpected `{}` (expected decrement D or shutdown)",
                rest[2]
            ))
        }
    };
    match g.tracks.iter().find(|t| t.object == object) {
        Some(t) if t.action != action => Err(format!(
            "track {object} already set to a different action at line {}",
            t.line
        )),
        Some(_) => Ok(()),
        None => {
            g.tracks.push(GroupTrack {
                object,
                action,
                line,
            });
            Ok(())
        }
    }
}

/// Argument `i` of a command, or an error showing its `usage`.
fn arg<'a>(rest: &[&'a str], i: usize, usage: &str) -> Result<&'a str, String> {
    rest.get(i)
        .copied()
        .ok_or_else(|| format!("incomplete command: {usage}"))
}

/// IOS `preempt delay sync S` waits for IP redundancy clients (stateful NAT, IPsec) to
/// synchronise before preempting; hsrpd has no such clients, and accepting the line
/// without waiting would pretend otherwise.
const PREEMPT_SYNC_REFUSED: &str = "`preempt delay sync` is not implemented: hsrpd has no IP redundancy clients to wait for (remove `sync S`; `minimum` and `reload` work)";

/// `preempt [delay {S | [minimum S] [reload S]}]` (bare `delay S` is the old IOS
/// spelling of `delay minimum S`).
fn preempt(rest: &[&str], words: &[String]) -> Result<PreemptSecs, String> {
    let mut p = PreemptSecs::default();
    if rest.len() == 1 {
        return Ok(p);
    }
    if words[1] != "delay" {
        return Err(format!("unexpected `{}` (expected delay)", rest[1]));
    }
    if rest.len() == 2 {
        return Err("incomplete command: preempt delay [minimum S] [reload S] [sync S]".into());
    }
    if values::is_decimal(rest[2]) {
        p.minimum_s = values::number(rest[2], 0, 3600, "preempt delay")? as u16;
        end(rest, 3)?;
        return Ok(p);
    }
    let mut i = 2;
    while i < rest.len() {
        let slot = match words[i].as_str() {
            "minimum" => &mut p.minimum_s,
            "reload" => &mut p.reload_s,
            "sync" => return Err(PREEMPT_SYNC_REFUSED.into()),
            _ => {
                return Err(format!(
                    "unexpected `{}` (expected minimum, reload or sync)",
                    rest[i]
                ))
            }
        };
        let value = rest
            .get(i + 1)
            .ok_or_else(|| format!("incomplete command: preempt delay {} SECONDS", words[i]))?;
        *slot = values::number(value, 0, 3600, &format!("preempt delay {}", words[i]))? as u16;
        i += 2;
    }
    Ok(p)
}

/// `timers [msec] H [msec] D` with Cisco's rules: seconds hello 1-254, hold 1-255; msec
/// hello 15-999, hold 50-3000; hold > hello; with msec, hold >= 3 x hello.
fn timers(rest: &[&str], words: &[String]) -> Result<TimersMs, String> {
    const USAGE: &str = "incomplete command: standby G timers [msec] HELLO [msec] HOLD";
    let mut i = 1;
    let mut value = |lo_s: u32, hi_s: u32, lo_ms: u32, hi_ms: u32, what: &str| {
        let msec = words.get(i).map(String::as_str) == Some("msec");
        if msec {
            i += 1;
        }
        let tok = rest.get(i).ok_or(USAGE)?;
        i += 1;
        if msec {
            values::number(tok, lo_ms, hi_ms, what)
                .map(|v| (v, true))
                .map_err(|e| e + " ms")
        } else {
            values::number(tok, lo_s, hi_s, what)
                .map(|v| (v * 1000, false))
                .map_err(|e| e + " s")
        }
    };
    let (hello_ms, hello_msec) = value(1, 254, 15, 999, "hello time")?;
    let (hold_ms, hold_msec) = value(1, 255, 50, 3000, "hold time")?;
    end(rest, i)?;
    let msec = hello_msec || hold_msec;
    if hold_ms <= hello_ms {
        return Err("hold time must be greater than hello time".into());
    }
    if msec && hold_ms < 3 * hello_ms {
        return Err(format!(
            "with msec timers the hold time must be at least 3 x hello time ({} ms)",
            3 * hello_ms
        ));
    }
    Ok(TimersMs {
        hello_ms,
        hold_ms,
        msec,
    })
}

/// `authentication {text S | md5 key-string [0] K [timeout S] | md5 key-chain NAME | S}`.
fn authentication(rest: &[&str], words: &[String]) -> Result<AuthDraft, String> {
    const USAGE: &str =
        "incomplete command: authentication {text STRING | md5 key-string KEY | md5 key-chain NAME}";
    match words.get(1).map(String::as_str) {
        None => Err(USAGE.into()),
        Some("text") => {
            let s = rest.get(2).ok_or(USAGE)?;
            end(rest, 3)?;
            text_auth(s)
        }
        Some("md5") => match words.get(2).map(String::as_str) {
            Some("key-string") => {
                let mut args = &rest[3..];
                // Trailing `timeout S`: after a key change, the previous key is still
                // accepted for S seconds (IOS).
                let mut timeout = None;
                if args.len() >= 3 && args[args.len() - 2].eq_ignore_ascii_case("timeout") {
                    timeout =
                        Some(values::number(args[args.len() - 1], 0, 32767, "key timeout")? as u16);
                    args = &args[..args.len() - 2];
                }
                // Optional encryption type: 0 = clear text, 7 = Cisco's reversible scramble.
                let key = match args {
                    [] => return Err(USAGE.into()),
                    [key] => key,
                    ["7", _] => {
                        return Err("encrypted (type 7) key-strings are not supported; give the key in clear text".into())
                    }
                    ["0", key] => key,
                    [_, extra, ..] => return Err(format!("unexpected `{extra}`")),
                };
                md5_key(key.as_bytes()).map(|k| AuthDraft::Md5Key(k, timeout))
            }
            Some("key-chain") => {
                let name = rest.get(3).ok_or(USAGE)?;
                end(rest, 4)?;
                Ok(AuthDraft::KeyChain(name.to_string()))
            }
            Some(_) => Err(format!(
                "unexpected `{}` (expected key-string KEY or key-chain NAME)",
                rest[2]
            )),
            None => Err(USAGE.into()),
        },
        // IOS accepts the bare form as text authentication.
        Some(_) => {
            end(rest, 2)?;
            text_auth(rest[1])
        }
    }
}

fn text_auth(s: &str) -> Result<AuthDraft, String> {
    if s.len() > 8 {
        return Err(format!(
            "text authentication string must be 1-8 characters (got {})",
            s.len()
        ));
    }
    Ok(AuthDraft::Text(s.as_bytes().to_vec()))
}

/// MD5 keys: 1-64 characters, as IOS allows.
pub(crate) fn md5_key(k: &[u8]) -> Result<Vec<u8>, String> {
    if k.is_empty() || k.len() > 64 {
        return Err(format!("MD5 key must be 1-64 characters (got {})", k.len()));
    }
    Ok(k.to_vec())
}

/// ` key-string [0] TEXT` of key `id`: the rest of the line is the key (IOS allows
/// spaces in key chain strings).
fn key_string(chain: &mut KeyChain, id: u32, mut text: &str) -> Result<(), String> {
    if text.starts_with("7 ") {
        return Err(
            "encrypted (type 7) key-strings are not supported; give the key in clear text".into(),
        );
    }
    if let Some(after) = text.strip_prefix("0 ") {
        text = after.trim_start();
    }
    let key = md5_key(text.as_bytes())?;
    let Some(entry) = chain.keys.get_mut(&id) else {
        return Ok(()); // unreachable: the caller's `current` is only set after inserting the key
    };
    match &entry.key_string {
        Some(old) if *old != key => Err(format!(
            "key {id} of key chain {} already has a different key-string",
            chain.name
        )),
        _ => {
            entry.key_string = Some(key);
            Ok(())
        }
    }
}

/// A line inside a `key chain` block: ` key N` or `  key-string [0] TEXT`.
fn key_chain_line(
    chain: &mut KeyChain,
    current: &mut Option<u32>,
    line: usize,
    trimmed: &str,
    toks: &[&str],
) -> Result<(), String> {
    match kw(toks[0]).as_str() {
        "key" => {
            let id = values::number(
                toks.get(1).ok_or("incomplete command: key N")?,
                0,
                2_147_483_647,
                "key id",
            )?;
            end(toks, 2)?;
            chain.keys.entry(id).or_insert(Key {
                line,
                key_string: None,
                send_lifetime: None,
                accept_lifetime: None,
            });
            *current = Some(id);
            Ok(())
        }
        "key-string" => {
            let Some(id) = *current else {
                return Err("`key-string` must follow a `key N` line".into());
            };
            key_string(chain, id, trimmed[toks[0].len()..].trim())
        }
        w @ ("send-lifetime" | "accept-lifetime") => {
            let Some(id) = *current else {
                return Err(format!("`{}` must follow a `key N` line", toks[0]));
            };
            let life = super::lifetime::parse(&toks[1..])?;
            let Some(entry) = chain.keys.get_mut(&id) else {
                return Ok(()); // unreachable: `current` is only set after inserting the key
            };
            let slot = if w == "send-lifetime" {
                &mut entry.send_lifetime
            } else {
                &mut entry.accept_lifetime
            };
            match slot {
                Some(old) if *old != life => Err(format!("key {id} already has a different {w}")),
                _ => {
                    *slot = Some(life);
                    Ok(())
                }
            }
        }
        _ => Err(format!(
            "unknown key chain command `{}` (expected key N, key-string, send-lifetime or accept-lifetime)",
            toks[0]
        )),
    }
}
