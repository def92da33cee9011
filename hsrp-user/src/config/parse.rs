//! Pass 1: the line grammar. Reads the file line by line into drafts that remember where
//! each setting came from, reporting every bad line. Knows nothing about the system.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use super::error::Diagnostics;
use super::model::{
    GroupTrack, IfAddress, Ipv6LinkLocal, Ipv6Prefix, Key, KeyChain, Preempt, Timers, TrackAction,
    TrackKind, TrackSpec, DEFAULT_TRACK_DECREMENT, RA_LIFETIME_RANGE_S,
};
use super::values;
use crate::proto::{MacAddr, Version};

/// A value and the line that set it.
pub(crate) type At<T> = Option<(T, usize)>;

/// Authentication as written, resolved against key chains later.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum AuthDraft {
    Text(Vec<u8>),
    Md5Key(Vec<u8>),
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
    pub preempt: At<Preempt>,
    pub timers: At<Timers>,
    pub tracks: Vec<GroupTrack>,
    pub auth: At<AuthDraft>,
    pub name: At<String>,
    pub mac: At<MacAddr>,
    pub follow: At<String>,
    pub ra_lifetime: At<u16>,
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
            auth: None,
            name: None,
            mac: None,
            follow: None,
            ra_lifetime: None,
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
    /// `standby bfd all-interfaces` (true) / `no standby bfd all-interfaces` (false).
    pub standby_bfd_all: At<bool>,
}

/// Which block indented lines belong to.
enum Block {
    None,
    Interface(usize),
    Track,
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
                Block::Track => Err("`track` objects take no sub-commands".into()),
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
        "interface" => {
            let name = match toks.get(1) {
                None => {
                    return (
                        Block::Broken,
                        Err("incomplete command: interface NAME".into()),
                    )
                }
                Some(n) => n,
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
                        groups: Vec::new(),
                        bfd_interval: None,
                        standby_bfd: None,
                    });
                    drafts.interfaces.len() - 1
                }
            };
            (Block::Interface(ifx), Ok(()))
        }
        "track" => {
            let result = track_object(drafts, line, toks);
            (Block::Track, result)
        }
        "key" if toks.get(1).map(|t| kw(t)) == Some("chain".into()) => {
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
        "standby" | "no" if super::bfd::is_global_standby_bfd(toks) => {
            let negated = kw(toks[0]) == "no";
            let toks = if negated { &toks[1..] } else { toks };
            let result = super::bfd::standby_bfd(toks, negated).and_then(|s| {
                set(
                    &mut drafts.standby_bfd_all,
                    s.enable,
                    line,
                    "standby bfd all-interfaces",
                )
            });
            (Block::None, result)
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
                "unknown command `{}` (expected interface, track or key chain)",
                toks[0]
            )),
        ),
    }
}

/// `track N interface IF line-protocol` | `track N ip route P reachability` |
/// `track N ipv6 route P reachability`.
fn track_object(drafts: &mut Drafts, line: usize, toks: &[&str]) -> Result<(), String> {
    const USAGE: &str = "incomplete command: track N interface IF line-protocol | track N ip route PREFIX reachability";
    let id_tok = toks.get(1).ok_or(USAGE)?;
    let id = values::number(id_tok, 1, 1000, "track object")?;
    match parse_track_kind(toks) {
        Ok(kind) => {
            let spec = TrackSpec { id, line, kind };
            match drafts.tracks.get(&id) {
                Some(old) if old.kind != spec.kind => Err(format!(
                    "track {id} already defined differently at line {}",
                    old.line
                )),
                Some(_) => Ok(()),
                None => {
                    drafts.tracks.insert(id, spec);
                    Ok(())
                }
            }
        }
        Err(e) => {
            drafts.broken_tracks.insert(id);
            Err(e)
        }
    }
}

fn parse_track_kind(toks: &[&str]) -> Result<TrackKind, String> {
    let words: Vec<String> = toks.iter().map(|t| kw(t)).collect();
    match words.get(2).map(String::as_str) {
        Some("interface") => {
            let name = toks.get(3).ok_or("incomplete command: track N interface IF line-protocol")?;
            let name = values::interface_name(name)?;
            match words.get(4).map(String::as_str) {
                Some("line-protocol") => end(toks, 5).map(|_| TrackKind::Interface { name }),
                Some(_) => Err(format!(
                    "unsupported track type `{}` (only line-protocol)",
                    toks[4]
                )),
                None => Err("incomplete command: track N interface IF line-protocol".into()),
            }
        }
        Some(family @ ("ip" | "ipv6")) => {
            if words.get(3).map(String::as_str) != Some("route") {
                return Err(format!("expected `track N {family} route PREFIX reachability`"));
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
                (None, _) => return Err(format!("incomplete command: track N {family} route PREFIX reachability")),
            };
            if (family == "ip") != prefix.is_ipv4() {
                return Err(format!(
                    "`track N {family} route` takes an {} prefix",
                    if family == "ip" { "IPv4" } else { "IPv6" }
                ));
            }
            check_host_bits(prefix, len)?;
            match words.get(next).map(String::as_str) {
                Some("reachability") => end(toks, next + 1)
                    .map(|_| TrackKind::Route { prefix, prefix_len: len }),
                Some(_) => Err(format!(
                    "unsupported track type `{}` (only reachability)",
                    toks[next]
                )),
                None => Err(format!("incomplete command: track N {family} route PREFIX reachability")),
            }
        }
        Some(_) => Err(format!(
            "unknown track type `{}` (expected interface, ip route or ipv6 route)",
            toks[2]
        )),
        None => Err("incomplete command: track N interface IF line-protocol | track N ip route PREFIX reachability".into()),
    }
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
        _ if values::is_decimal(first) => {
            (values::number(first, 0, 4095, "group")? as u16, &toks[2..])
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

/// The part of a `standby G ...` line after the group number.
fn group_command(g: &mut GroupDraft, line: usize, rest: &[&str]) -> Result<(), String> {
    let words: Vec<String> = rest.iter().map(|t| kw(t)).collect();
    let arg = |i: usize, usage: &str| -> Result<&str, String> {
        rest.get(i)
            .copied()
            .ok_or_else(|| format!("incomplete command: {usage}"))
    };
    match words[0].as_str() {
        "ip" => {
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
        "ipv6" => {
            if let Some(v4) = g.v4_line {
                return Err(format!(
                    "group {} is an IPv4 group (line {v4}); use another group number for IPv6",
                    g.group
                ));
            }
            let a = arg(1, "standby G ipv6 {autoconfig | X::Y/LEN | fe80::Y | ra-lifetime S}")?;
            if a.eq_ignore_ascii_case("ra-lifetime") {
                let (lo, hi) = RA_LIFETIME_RANGE_S;
                let usage = "standby G ipv6 ra-lifetime 12-9000";
                let s = values::number(arg(2, usage)?, lo.into(), hi.into(), "RA lifetime")? as u16;
                end(rest, 3)?;
                g.v6_line.get_or_insert(line);
                return set(&mut g.ra_lifetime, s, line, "RA lifetime");
            }
            end(rest, 2)?;
            g.v6_line.get_or_insert(line);
            if a.eq_ignore_ascii_case("autoconfig") {
                return set(&mut g.link_local, Ipv6LinkLocal::Autoconfig, line, "virtual link-local address");
            }
            match values::ipv6_vip(a)? {
                values::Ipv6Vip::LinkLocal(ll) => {
                    set(&mut g.link_local, Ipv6LinkLocal::Explicit(ll), line, "virtual link-local address")
                }
                values::Ipv6Vip::Global(addr, prefix_len) => {
                    if !g.globals.iter().any(|(p, _)| p.addr == addr) {
                        g.globals.push((Ipv6Prefix { addr, prefix_len }, line));
                    }
                    Ok(())
                }
            }
        }
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
        "track" => {
            let object = values::number(
                arg(1, "standby G track N [decrement D | shutdown]")?,
                1,
                1000,
                "track object",
            )?;
            let action = match words.get(2).map(String::as_str) {
                None => TrackAction::Decrement(DEFAULT_TRACK_DECREMENT),
                Some("decrement") => {
                    let d = values::number(arg(3, "standby G track N decrement 1-255")?, 1, 255, "decrement")?;
                    end(rest, 4)?;
                    TrackAction::Decrement(d as u8)
                }
                Some("shutdown") => {
                    end(rest, 3)?;
                    TrackAction::Shutdown
                }
                Some(_) => return Err(format!("unexpected `{}` (expected decrement D or shutdown)", rest[2])),
            };
            match g.tracks.iter().find(|t| t.object == object) {
                Some(t) if t.action != action => Err(format!(
                    "track {object} already set to a different action at line {}",
                    t.line
                )),
                Some(_) => Ok(()),
                None => {
                    g.tracks.push(GroupTrack { object, action, line });
                    Ok(())
                }
            }
        }
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

/// `preempt [delay {S | [minimum S] [reload S] [sync S]}]` (bare `delay S` is the old IOS
/// spelling of `delay minimum S`).
fn preempt(rest: &[&str], words: &[String]) -> Result<Preempt, String> {
    let mut p = Preempt::default();
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
            "sync" => &mut p.sync_s,
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
fn timers(rest: &[&str], words: &[String]) -> Result<Timers, String> {
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
    Ok(Timers {
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
                // Trailing `timeout S` (key rollover): accepted for compatibility, not used.
                if args.len() >= 3 && args[args.len() - 2].eq_ignore_ascii_case("timeout") {
                    values::number(args[args.len() - 1], 0, 32767, "key timeout")?;
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
                md5_key(key.as_bytes()).map(AuthDraft::Md5Key)
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
            });
            *current = Some(id);
            Ok(())
        }
        "key-string" => {
            let Some(id) = *current else {
                return Err("`key-string` must follow a `key N` line".into());
            };
            // The rest of the line is the key (IOS allows spaces in key chain strings).
            let mut text = trimmed[toks[0].len()..].trim();
            if text.starts_with("7 ") {
                return Err(
                    "encrypted (type 7) key-strings are not supported; give the key in clear text"
                        .into(),
                );
            }
            if let Some(after) = text.strip_prefix("0 ") {
                text = after.trim_start();
            }
            let key = md5_key(text.as_bytes())?;
            let Some(entry) = chain.keys.get_mut(&id) else {
                return Ok(()); // unreachable: `current` is only set after inserting the key
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
        _ => Err(format!(
            "unknown key chain command `{}` (expected key N or key-string)",
            toks[0]
        )),
    }
}
