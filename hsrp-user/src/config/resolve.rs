//! Pass 2: turns the drafts into a `Config`, checking what only the whole file can tell:
//! group ranges against the interface's version, duplicate virtual addresses and MACs,
//! references to track objects, key chains and group names.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv6Addr};

use super::error::Diagnostics;
use super::model::{Config, Family, GroupSpec, InterfaceConfig};
use super::parse::{AuthDraft, Drafts, GroupDraft, InterfaceDraft};
use crate::proto::{Auth, MacAddr, Version};

/// Builds the configuration, recording every cross-line problem in `diags`.
pub(crate) fn resolve(drafts: Drafts, source: &str, text: &str, diags: &mut Diagnostics) -> Config {
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
        key_chains: drafts.key_chains,
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

    let mut spec = GroupSpec::new(n, g.line, family);
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
    spec.priority = g.priority.map_or(spec.priority, |(p, _)| p);
    spec.preempt = g.preempt.map(|(p, _)| p);
    spec.timers = g.timers.map(|(t, _)| t);
    spec.name = g.name.as_ref().map(|(s, _)| s.clone());
    spec.mac = g.mac.map(|(m, _)| m);
    spec.follow = g.follow.as_ref().map(|(s, _)| s.clone());
    spec.ra_lifetime_s = g.ra_lifetime.map(|(s, _)| s);

    if let Some((mac_line, bia)) = g.mac.map(|(_, l)| l).zip(ifc.use_bia) {
        diags.at(
            mac_line,
            format!("mac-address conflicts with `standby use-bia` (line {bia})"),
        );
    }
    check_vips_in_subnet(g, ifc, diags);

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

    if let Some((auth, line)) = &g.auth {
        spec.auth = match auth {
            AuthDraft::Text(t) => Auth::Text(t.clone()),
            AuthDraft::Md5Key(k) => Auth::Md5 {
                key: k.clone(),
                key_id: 0,
            },
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
    spec
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
