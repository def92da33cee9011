//! Pass 2: turns the drafts into a `Config`, checking what only the whole file can tell:
//! group ranges against the interface's version, duplicate virtual addresses and MACs,
//! references to track objects, key chains and group names.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv6Addr};

use super::error::Diagnostics;
use super::model::{
    Config, Family, GroupSpec, GroupTrack, InterfaceConfig, TrackAction, TrackKind, TrackSpec,
    IMPLICIT_TRACK_BASE,
};
use super::parse::{AuthDraft, Drafts, GroupDraft, InterfaceDraft};
use crate::proto::{Auth, MacAddr, Version};

/// Builds the configuration, recording every cross-line problem in `diags`.
pub(crate) fn resolve(
    mut drafts: Drafts,
    source: &str,
    text: &str,
    diags: &mut Diagnostics,
) -> Config {
    add_interface_tracks(&mut drafts);
    check_tracks(&drafts, diags);
    check_ip_slas(&drafts, diags);
    let mut interfaces = Vec::new();
    for ifc in &drafts.interfaces {
        interfaces.push(resolve_interface(ifc, &drafts, diags));
    }
    check_duplicate_vips(&interfaces, diags);
    check_names(&drafts, diags);
    if diags.is_empty() && !interfaces.iter().any(|i| !i.groups.is_empty()) {
        diags.file(
            "no standby group configured (expected `interface IF` with `standby G ip A.B.C.D`)",
        );
    }
    Config {
        source: source.to_string(),
        text: text.to_string(),
        interfaces,
        tracks: drafts.tracks,
        operator: drafts.operator.finish(),
        key_chains: drafts.key_chains,
        realtime: drafts.realtime.map(|(p, _)| p),
        ip_slas: drafts.ip_slas,
        fast_path: drafts.fast_path.map(|(s, _)| s).unwrap_or_default(),
    }
}

fn resolve_interface(
    ifc: &InterfaceDraft,
    drafts: &Drafts,
    diags: &mut Diagnostics,
) -> InterfaceConfig {
    let version = ifc.version.map_or(Version::V1, |(v, _)| v);
    let mut groups = Vec::new();
    for g in &ifc.groups {
        groups.push(resolve_group(g, ifc, version, drafts, diags));
    }
    check_macs(ifc, &groups, version, diags);
    InterfaceConfig {
        name: ifc.name.clone(),
        line: ifc.line,
        addresses: ifc.addresses.clone(),
        version,
        use_bia: ifc.use_bia.is_some(),
        mac_refresh_s: ifc.mac_refresh.map(|(s, _)| s),
        init_delay_s: ifc.init_delay.map(|(d, _)| d),
        groups,
        bfd: super::bfd::peering(ifc, drafts),
    }
}

fn resolve_group(
    g: &GroupDraft,
    ifc: &InterfaceDraft,
    version: Version,
    drafts: &Drafts,
    diags: &mut Diagnostics,
) -> GroupSpec {
    let n = g.group;
    if version == Version::V1 && n > 255 {
        diags.at(
            g.line,
            format!("group {n} needs `standby version 2` (version 1 groups are 0-255)"),
        );
    }
    let family = group_family(g, version, diags);
    let mut spec = GroupSpec::new(n, g.line, family);
    group_addresses(g, &mut spec);
    spec.priority = g.priority.map_or(spec.priority, |(p, _)| p);
    spec.preempt = g.preempt.map(|(p, _)| p);
    spec.timers = g.timers.map(|(t, _)| t);
    spec.name = g.name.as_ref().map(|(s, _)| s.clone());
    spec.mac = g.mac.map(|(m, _)| m);
    spec.follow = g.follow.as_ref().map(|(s, _)| s.clone());
    spec.ra_lifetime_s = g.ra_lifetime.map(|(s, _)| s);
    if let Some(line) = g.accept {
        if family == Family::Ipv6 {
            if spec.virtual_ips().is_empty() {
                diags.at(
                    line,
                    "`accept` needs a virtual IPv6 address (standby G ipv6 autoconfig)",
                );
            } else {
                spec.accept = true;
            }
        } else if spec.vip.is_none() {
            diags.at(
                line,
                "`accept` needs a configured virtual IP (standby G ip A.B.C.D)",
            );
        } else {
            spec.accept = true;
        }
    }

    if let Some((mac_line, bia)) = g.mac.map(|(_, l)| l).zip(ifc.use_bia) {
        diags.at(
            mac_line,
            format!("mac-address conflicts with `standby use-bia` (line {bia})"),
        );
    }
    check_vips_in_subnet(g, ifc, diags);
    group_tracks(g, drafts, &mut spec, diags);
    group_auth(g, drafts, &mut spec, diags);
    spec
}

/// IPv4 or IPv6, from the address lines; a group with neither, or an IPv6 one without a
/// virtual link-local, is an error.
fn group_family(g: &GroupDraft, version: Version, diags: &mut Diagnostics) -> Family {
    let n = g.group;
    let family = match (g.v4_line, g.v6_line) {
        (_, Some(v6)) => {
            if version == Version::V1 {
                diags.at(v6, "IPv6 groups need `standby version 2`");
            }
            Family::Ipv6
        }
        (Some(_), None) => Family::Ipv4,
        (None, None) => {
            if !g.had_errors {
                diags.at(
                    g.line,
                    format!("group {n} has no virtual address (add `standby {n} ip A.B.C.D` or `standby {n} ipv6 autoconfig`)"),
                );
            }
            Family::Ipv4
        }
    };
    if family == Family::Ipv6 && g.link_local.is_none() {
        if let Some((_, line)) = g.globals.first() {
            diags.at(
                *line,
                format!("an IPv6 group needs a virtual link-local address: add `standby {n} ipv6 autoconfig`"),
            );
        }
    }
    family
}

/// The virtual addresses, and the line of each.
fn group_addresses(g: &GroupDraft, spec: &mut GroupSpec) {
    spec.vip = g.vip.map(|(a, _)| a);
    spec.secondary_vips = g.secondary.iter().map(|(a, _)| *a).collect();
    spec.ipv6_link_local = g.link_local.map(|(l, _)| l);
    spec.ipv6_vips = g.globals.iter().map(|(p, _)| *p).collect();
    spec.vip_lines = g
        .vip
        .iter()
        .chain(g.secondary.iter())
        .map(|(a, l)| (IpAddr::V4(*a), *l))
        .chain(g.globals.iter().map(|(p, l)| (IpAddr::V6(p.addr), *l)))
        .collect();
    if let (Some(ll), Some((_, line))) = (spec.virtual_link_local(), g.link_local) {
        spec.vip_lines.push((IpAddr::V6(ll), line));
    }
}

/// Tracked objects, which must be defined, and the old `track IF` form's implicit ones.
fn group_tracks(g: &GroupDraft, drafts: &Drafts, spec: &mut GroupSpec, diags: &mut Diagnostics) {
    for t in &g.tracks {
        if !drafts.tracks.contains_key(&t.object) && !drafts.broken_tracks.contains(&t.object) {
            diags.at(
                t.line,
                format!(
                    "track object {} is not defined (add a top-level `track {} interface IF line-protocol` or `track {} ip route PREFIX reachability`)",
                    t.object, t.object, t.object
                ),
            );
        }
    }
    spec.tracks = g.tracks.clone();
    for (name, d, line) in &g.interface_tracks {
        if let Some(object) = implicit_track(drafts, name) {
            spec.tracks.push(GroupTrack {
                object,
                action: TrackAction::Decrement(*d),
                line: *line,
            });
        }
    }
}

/// The authentication (text, key-string, or a key chain's current key).
fn group_auth(g: &GroupDraft, drafts: &Drafts, spec: &mut GroupSpec, diags: &mut Diagnostics) {
    if let Some((auth, line)) = &g.auth {
        spec.auth = match auth {
            AuthDraft::Text(t) => Auth::Text(t.clone()),
            AuthDraft::Md5Key(k, timeout) => {
                spec.key_timeout_s = *timeout;
                Auth::Md5 {
                    key: k.clone(),
                    key_id: 0,
                }
            }
            AuthDraft::KeyChain(name) => {
                spec.key_chain = Some(name.clone());
                match drafts.key_chains.get(name) {
                    None => {
                        diags.at(*line, format!("key chain {name} is not defined"));
                        Auth::None
                    }
                    Some(chain) => match chain.send_key() {
                        Some((key_id, key)) => Auth::Md5 {
                            key: key.to_vec(),
                            key_id,
                        },
                        None => {
                            diags.at(
                                *line,
                                format!("key chain {name} has no key with a key-string"),
                            );
                            Auth::None
                        }
                    },
                }
            }
        };
    }
}

/// IPv4 virtual addresses must sit in a subnet of the interface's configured addresses
/// (when any are configured; the kernel's are checked against the system later), and must
/// not be one of them.
fn check_vips_in_subnet(g: &GroupDraft, ifc: &InterfaceDraft, diags: &mut Diagnostics) {
    if ifc.addresses.is_empty() {
        return;
    }
    for (vip, line) in g.vip.iter().chain(g.secondary.iter()) {
        if let Some(own) = ifc.addresses.iter().find(|a| a.addr == *vip) {
            diags.at(
                *line,
                format!(
                    "virtual IP {vip} is the interface's own address (line {})",
                    own.line
                ),
            );
        } else if !ifc.addresses.iter().any(|a| a.contains(*vip)) {
            let nets: Vec<String> = ifc
                .addresses
                .iter()
                .map(|a| format!("{}/{}", a.addr, a.prefix_len))
                .collect();
            diags.at(
                *line,
                format!(
                    "virtual IP {vip} is not in a subnet of {} ({})",
                    ifc.name,
                    nets.join(", ")
                ),
            );
        }
    }
}

/// Two groups may not share a virtual address: global ones anywhere, link-local ones on
/// the same interface.
fn check_duplicate_vips(interfaces: &[InterfaceConfig], diags: &mut Diagnostics) {
    let mut seen: HashMap<(Option<&str>, IpAddr), (&str, u16, usize)> = HashMap::new();
    let mut all: Vec<(usize, &str, u16, IpAddr)> = Vec::new();
    for ifc in interfaces {
        for g in &ifc.groups {
            for (addr, line) in &g.vip_lines {
                all.push((*line, ifc.name.as_str(), g.group, *addr));
            }
        }
    }
    // In file order, so the later declaration is the one reported.
    all.sort_by_key(|(line, ..)| *line);
    for (line, ifname, group, addr) in all {
        let scope = match addr {
            IpAddr::V6(a) if is_link_local(a) => Some(ifname),
            _ => None,
        };
        match seen.get(&(scope, addr)) {
            Some((other_if, other_g, other_line)) => diags.at(
                line,
                format!("virtual IP {addr} is already used by {other_if} group {other_g} (line {other_line})"),
            ),
            None => {
                seen.insert((scope, addr), (ifname, group, line));
            }
        }
    }
}

fn is_link_local(a: Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// Two groups on one interface may not answer for the same virtual MAC.
fn check_macs(
    ifc: &InterfaceDraft,
    groups: &[GroupSpec],
    version: Version,
    diags: &mut Diagnostics,
) {
    let mut seen: BTreeMap<MacAddr, u16> = BTreeMap::new();
    for (g, draft) in groups.iter().zip(&ifc.groups) {
        let mac = g.virtual_mac(version);
        match seen.get(&mac) {
            Some(other) => {
                let line = draft.mac.map_or(g.line, |(_, l)| l);
                diags.at(
                    line,
                    format!(
                        "virtual MAC {mac} is already used by group {other} on {}",
                        ifc.name
                    ),
                );
            }
            None => {
                seen.insert(mac, g.group);
            }
        }
    }
}

/// Group names are unique; `follow` names an existing group that does not itself follow.
fn check_names(drafts: &Drafts, diags: &mut Diagnostics) {
    let mut names: BTreeMap<&str, (&str, u16, usize, bool)> = BTreeMap::new();
    for ifc in &drafts.interfaces {
        for g in &ifc.groups {
            if let Some((name, line)) = &g.name {
                match names.get(name.as_str()) {
                    Some((other_if, other_g, other_line, _)) => diags.at(
                        *line,
                        format!("group name {name} is already used by {other_if} group {other_g} (line {other_line})"),
                    ),
                    None => {
                        names.insert(name, (&ifc.name, g.group, *line, g.follow.is_some()));
                    }
                }
            }
        }
    }
    for ifc in &drafts.interfaces {
        for g in &ifc.groups {
            let Some((target, line)) = &g.follow else {
                continue;
            };
            check_follower_settings(g, target, diags);
            match names.get(target.as_str()) {
                None => diags.at(*line, format!("no group is named {target}")),
                Some((_, _, _, _)) if g.name.as_ref().map(|(n, _)| n) == Some(target) => {
                    diags.at(*line, "a group cannot follow itself")
                }
                Some((other_if, other_g, _, true)) => diags.at(
                    *line,
                    format!(
                        "group {target} ({other_if} group {other_g}) itself follows another group"
                    ),
                ),
                Some(_) => {}
            }
        }
    }
}

/// A following group takes its state from its master: the election settings of its own
/// would be accepted and ignored, so they are refused, each on its line.
fn check_follower_settings(g: &GroupDraft, master: &str, diags: &mut Diagnostics) {
    let n = g.group;
    let lines = [
        ("priority", g.priority.map(|(_, l)| l)),
        ("preempt", g.preempt.map(|(_, l)| l)),
        (
            "track",
            g.tracks
                .first()
                .map(|t| t.line)
                .or(g.interface_tracks.first().map(|t| t.2)),
        ),
    ];
    for (what, line) in lines {
        if let Some(line) = line {
            diags.at(
                line,
                format!("group {n} follows group {master}, which decides its state: `standby {n} {what}` has no effect on a following group (configure it on {master})"),
            );
        }
    }
}

/// The implicit object of `standby G track IF`: one per interface, numbered from
/// [`IMPLICIT_TRACK_BASE`] in order of first mention.
fn add_interface_tracks(drafts: &mut Drafts) {
    let mut next = IMPLICIT_TRACK_BASE;
    let mut wanted: Vec<(String, usize)> = Vec::new();
    for ifc in &drafts.interfaces {
        for g in &ifc.groups {
            for (name, _, line) in &g.interface_tracks {
                if !wanted.iter().any(|(n, _)| n == name) {
                    wanted.push((name.clone(), *line));
                }
            }
        }
    }
    for (name, line) in wanted {
        drafts.tracks.insert(
            next,
            TrackSpec::new(next, line, TrackKind::Interface { name }),
        );
        next += 1;
    }
}

/// The implicit object tracking `name`'s line protocol (see [`add_interface_tracks`]).
fn implicit_track(drafts: &Drafts, name: &str) -> Option<u32> {
    drafts
        .tracks
        .range(IMPLICIT_TRACK_BASE..)
        .find_map(|(id, t)| match &t.kind {
            TrackKind::Interface { name: n } if n == name => Some(*id),
            _ => None,
        })
}

/// Lists name defined objects, never themselves (directly or through other lists), and a
/// threshold list has its thresholds.
fn check_tracks(drafts: &Drafts, diags: &mut Diagnostics) {
    for (id, t) in &drafts.tracks {
        let members = t.kind.members();
        let is_list = matches!(
            t.kind,
            TrackKind::ListBoolean { .. } | TrackKind::ListThreshold { .. }
        );
        if drafts.broken_tracks.contains(id) {
            continue; // one of its lines was refused already
        }
        if is_list && members.is_empty() {
            diags.at(
                t.line,
                format!("track {id} is a list without members (add ` object M` lines)"),
            );
        }
        if let TrackKind::ListThreshold {
            thresholds: None,
            percentage,
            ..
        } = t.kind
        {
            let unit = if percentage { "percentage" } else { "weight" };
            diags.at(
                t.line,
                format!("track {id} needs its thresholds (add ` threshold {unit} up U down D`)"),
            );
        }
        for m in members {
            if !drafts.tracks.contains_key(&m) && !drafts.broken_tracks.contains(&m) {
                diags.at(
                    t.line,
                    format!("track {id}: member object {m} is not defined"),
                );
            }
        }
        // Walk the member relation; bounded by the number of objects.
        let mut seen = std::collections::BTreeSet::new();
        let mut stack = t.kind.members();
        while let Some(m) = stack.pop() {
            if m == *id {
                diags.at(
                    t.line,
                    format!("track {id} is a member of itself through its lists"),
                );
                break;
            }
            if seen.insert(m) {
                if let Some(mt) = drafts.tracks.get(&m) {
                    stack.extend(mt.kind.members());
                }
            }
        }
    }
}

/// Every operation has a target and a schedule, its timeout fits its frequency and its
/// threshold its timeout (as IOS requires), and tracked operations exist.
fn check_ip_slas(drafts: &Drafts, diags: &mut Diagnostics) {
    for (id, op) in &drafts.ip_slas {
        if op.target.is_none() {
            diags.at(op.line, format!("ip sla {id} has no operation (add ` icmp-echo A.B.C.D`; other types are not implemented)"));
        }
        if op.scheduled.is_none() {
            diags.at(op.line, format!("ip sla {id} is never scheduled (add `ip sla schedule {id} life forever start-time now`)"));
        }
        if u64::from(op.timeout_ms) > u64::from(op.frequency_s) * 1000 {
            diags.at(
                op.line,
                format!(
                    "ip sla {id}: timeout {} ms exceeds the frequency of {} s",
                    op.timeout_ms, op.frequency_s
                ),
            );
        }
        if op.threshold_ms > op.timeout_ms {
            diags.at(
                op.line,
                format!(
                    "ip sla {id}: threshold {} ms exceeds the timeout of {} ms",
                    op.threshold_ms, op.timeout_ms
                ),
            );
        }
    }
    for (id, t) in &drafts.tracks {
        if let TrackKind::IpSla { operation, .. } = t.kind {
            if !drafts.ip_slas.contains_key(&operation) {
                diags.at(
                    t.line,
                    format!("track {id}: ip sla {operation} is not defined"),
                );
            }
        }
    }
}
