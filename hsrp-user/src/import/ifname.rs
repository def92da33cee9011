//! IOS interface names (`GigabitEthernet0/1`, `Gi0/1.100`, `Vlan10`, `Po1`) and the map
//! from them to Linux names that the operator gives `hsrpd import`.
//!
//! IOS accepts any unambiguous prefix of an interface type (`gi`, `Gig`, `GigabitE`) and
//! `show running-config` prints the full name, while hand-written lines (`track 1
//! interface Gi0/2 line-protocol`) and the operator's map use the short forms. Every name
//! is normalised to the full type name before it is compared.

use std::collections::BTreeMap;
use std::fmt;

use crate::config::values;

/// The interface types IOS knows, spelled as `show running-config` prints them.
const TYPES: &[&str] = &[
    "AppGigabitEthernet",
    "BDI",
    "BVI",
    "Dialer",
    "Ethernet",
    "FastEthernet",
    "FiveGigabitEthernet",
    "FortyGigabitEthernet",
    "GigabitEthernet",
    "HundredGigE",
    "Loopback",
    "Multilink",
    "Port-channel",
    "Serial",
    "TenGigabitEthernet",
    "Tunnel",
    "TwentyFiveGigE",
    "TwoGigabitEthernet",
    "Vlan",
];

/// Short forms that are prefixes of several types but that IOS itself prints (in `show`
/// output and the interface column of `show standby brief`) for one of them.
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("Fo", "FortyGigabitEthernet"),
    ("Hu", "HundredGigE"),
    ("Tw", "TwoGigabitEthernet"),
    ("Twe", "TwentyFiveGigE"),
    ("Te", "TenGigabitEthernet"),
    ("Et", "Ethernet"),
    ("Eth", "Ethernet"),
];

/// A normalised IOS interface name: type, unit (`0/1`, `10`) and subinterface number.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct IosName {
    pub kind: String,
    pub unit: String,
    pub sub: Option<String>,
}

impl IosName {
    /// Parses `Gi0/1`, `gigabitethernet 0/1.100` (one space is tolerated, as IOS does),
    /// `Vlan10`, `Port-channel1`.
    pub fn parse(text: &str) -> Result<IosName, String> {
        let compact: String = text.split_whitespace().collect();
        let bad = || {
            format!("`{text}` is not an IOS interface name (e.g. GigabitEthernet0/1, Gi0/1.100, Vlan10)")
        };
        let split = compact.find(|c: char| c.is_ascii_digit()).ok_or_else(bad)?;
        let (kind, number) = compact.split_at(split);
        if kind.is_empty() || !kind.chars().all(|c| c.is_ascii_alphabetic() || c == '-') {
            return Err(bad());
        }
        let (unit, sub) = match number.split_once('.') {
            Some((u, s)) => (u, Some(s)),
            None => (number, None),
        };
        let numeric = |s: &str| {
            !s.is_empty()
                && s.split('/')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        };
        if !numeric(unit)
            || sub.is_some_and(|s| !s.bytes().all(|b| b.is_ascii_digit()) || s.is_empty())
        {
            return Err(bad());
        }
        Ok(IosName {
            kind: full_type(kind)?,
            unit: unit.to_string(),
            sub: sub.map(str::to_string),
        })
    }

    /// The interface this subinterface belongs to (itself when it is not one).
    pub fn parent(&self) -> IosName {
        IosName {
            sub: None,
            ..self.clone()
        }
    }
}

impl fmt::Display for IosName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.kind, self.unit)?;
        if let Some(s) = &self.sub {
            write!(f, ".{s}")?;
        }
        Ok(())
    }
}

/// The full type name for an abbreviation; unknown types are kept as written (IOS has
/// more than this list, and a name the operator maps is compared as written).
fn full_type(kind: &str) -> Result<String, String> {
    if let Some((_, full)) = ABBREVIATIONS
        .iter()
        .find(|(abbr, _)| abbr.eq_ignore_ascii_case(kind))
    {
        return Ok(full.to_string());
    }
    let lower = kind.to_ascii_lowercase();
    let matches: Vec<&str> = TYPES
        .iter()
        .copied()
        .filter(|t| t.to_ascii_lowercase().starts_with(&lower))
        .collect();
    match matches.as_slice() {
        [] => Ok(kind.to_string()),
        [one] => Ok(one.to_string()),
        many => match many.iter().find(|t| t.eq_ignore_ascii_case(kind)) {
            Some(exact) => Ok(exact.to_string()),
            None => Err(format!(
                "interface type `{kind}` is ambiguous ({}); write more of it",
                many.join(", ")
            )),
        },
    }
}

/// Where a Linux name came from (for the report).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mapped {
    /// An entry for exactly this interface.
    Exact(String),
    /// A `TYPE*=TEMPLATE*` entry.
    Pattern(String),
    /// The parent's name, a dot and the 802.1Q VLAN id (the Linux VLAN naming convention).
    Vlan {
        linux: String,
        parent: String,
        vlan: u16,
    },
}

impl Mapped {
    pub fn linux(&self) -> &str {
        match self {
            Mapped::Exact(l) | Mapped::Pattern(l) | Mapped::Vlan { linux: l, .. } => l,
        }
    }
}

/// IOS interface → Linux interface, from `--map IOS=LINUX` entries or a map file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InterfaceMap {
    exact: BTreeMap<IosName, String>,
    /// `Vlan*=vlan*`: every interface of a type, the `*` replaced by its number.
    patterns: BTreeMap<String, String>,
}

impl InterfaceMap {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one `IOS=LINUX` entry (`Gi0/1=eth1`, `Gi0/1.100=lan100`, `Vlan*=br0.*`).
    pub fn add(&mut self, entry: &str) -> Result<(), String> {
        let (ios, linux) = entry
            .split_once('=')
            .ok_or_else(|| format!("map entry `{entry}` must be IOS=LINUX (e.g. Gi0/1=eth1)"))?;
        let (ios, linux) = (ios.trim(), linux.trim());
        if let Some(kind) = ios.strip_suffix('*') {
            if linux.matches('*').count() != 1 {
                return Err(format!(
                    "map entry `{entry}`: a pattern needs one `*` on each side (e.g. Vlan*=vlan*)"
                ));
            }
            // The longest number that can replace the `*` must still give a valid name.
            values::interface_name(&linux.replace('*', "0"))
                .map_err(|e| format!("map entry `{entry}`: {e}"))?;
            let kind = full_type(kind.trim()).map_err(|e| format!("map entry `{entry}`: {e}"))?;
            return insert(&mut self.patterns, kind, linux.to_string(), entry);
        }
        let name = IosName::parse(ios).map_err(|e| format!("map entry `{entry}`: {e}"))?;
        let linux =
            values::interface_name(linux).map_err(|e| format!("map entry `{entry}`: {e}"))?;
        insert(&mut self.exact, name, linux, entry)
    }

    /// A map file: one `IOS=LINUX` or `IOS LINUX` entry a line; `#` and `!` start comments.
    /// Every bad line is reported, `FILE:LINE: reason`.
    pub fn parse_file(text: &str, source: &str) -> Result<InterfaceMap, Vec<String>> {
        let mut map = InterfaceMap::new();
        let mut errors = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line_text = line.split(['#', '!']).next().unwrap_or("").trim();
            if line_text.is_empty() {
                continue;
            }
            let entry = match line_text.split_whitespace().collect::<Vec<_>>().as_slice() {
                [one] => one.to_string(),
                [ios, linux] => format!("{ios}={linux}"),
                _ => {
                    errors.push(format!(
                        "{source}:{}: expected `IOS LINUX` or `IOS=LINUX`",
                        i + 1
                    ));
                    continue;
                }
            };
            if let Err(e) = map.add(&entry) {
                errors.push(format!("{source}:{}: {e}", i + 1));
            }
        }
        if errors.is_empty() {
            Ok(map)
        } else {
            Err(errors)
        }
    }

    /// The Linux name of `name`: its own entry, else a pattern for its type, else (for a
    /// subinterface with `encapsulation dot1Q VLAN`) the parent's name `.VLAN`.
    pub fn resolve(&self, name: &IosName, dot1q: Option<u16>) -> Result<Mapped, String> {
        if let Some(l) = self.exact.get(name) {
            return Ok(Mapped::Exact(l.clone()));
        }
        if let Some(l) = self.pattern(name) {
            return l.map(Mapped::Pattern);
        }
        if name.sub.is_some() {
            let parent = name.parent();
            let parent_linux = match self.exact.get(&parent) {
                Some(l) => Some(l.clone()),
                None => self.pattern(&parent).transpose()?,
            };
            if let (Some(parent_linux), Some(vlan)) = (parent_linux, dot1q) {
                let linux = format!("{parent_linux}.{vlan}");
                values::interface_name(&linux).map_err(|e| {
                    format!("{name} would be {linux} (the parent's name and the VLAN id): {e}; map it explicitly")
                })?;
                return Ok(Mapped::Vlan {
                    linux,
                    parent: parent_linux,
                    vlan,
                });
            }
        }
        Err(format!(
            "{name} is not in the interface map (add --map {name}=LINUX-NAME)"
        ))
    }

    /// A pattern's name for `name`, when its type has one.
    fn pattern(&self, name: &IosName) -> Option<Result<String, String>> {
        let template = self.patterns.get(&name.kind)?;
        let number = match &name.sub {
            Some(s) => format!("{}.{s}", name.unit),
            None => name.unit.clone(),
        };
        let linux = template.replace('*', &number);
        Some(values::interface_name(&linux).map_err(|e| {
            format!(
                "{name} maps to {linux} by the pattern {}*={template}: {e}",
                name.kind
            )
        }))
    }
}

fn insert<K: Ord + fmt::Debug>(
    map: &mut BTreeMap<K, String>,
    key: K,
    linux: String,
    entry: &str,
) -> Result<(), String> {
    match map.get(&key) {
        Some(old) if *old != linux => Err(format!("map entry `{entry}`: already mapped to {old}")),
        _ => {
            map.insert(key, linux);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> String {
        IosName::parse(s).unwrap().to_string()
    }

    #[test]
    fn abbreviations_normalise_to_the_running_config_spelling() {
        assert_eq!(name("Gi0/1"), "GigabitEthernet0/1");
        assert_eq!(name("gig 1/0/24"), "GigabitEthernet1/0/24");
        assert_eq!(name("GigabitEthernet0/0.100"), "GigabitEthernet0/0.100");
        assert_eq!(name("Fa0/1"), "FastEthernet0/1");
        assert_eq!(name("Te1/1/1"), "TenGigabitEthernet1/1/1");
        assert_eq!(name("Twe1/0/1"), "TwentyFiveGigE1/0/1");
        assert_eq!(name("Tw1/0/1"), "TwoGigabitEthernet1/0/1");
        assert_eq!(name("Hu1/0/49"), "HundredGigE1/0/49");
        assert_eq!(name("Po1"), "Port-channel1");
        assert_eq!(name("port-channel 12"), "Port-channel12");
        assert_eq!(name("vl10"), "Vlan10");
        assert_eq!(name("Lo0"), "Loopback0");
        assert_eq!(name("Eth1/1"), "Ethernet1/1");
        // Unknown types are kept as written.
        assert_eq!(name("Virtual-Template1"), "Virtual-Template1");
    }

    #[test]
    fn bad_and_ambiguous_names_say_why() {
        let e = IosName::parse("F0/1").unwrap_err();
        assert!(e.contains("ambiguous") && e.contains("FastEthernet"), "{e}");
        assert!(IosName::parse("eth")
            .unwrap_err()
            .contains("not an IOS interface name"));
        assert!(IosName::parse("Gi0//1").is_err());
        assert!(IosName::parse("Gi0/1.").is_err());
    }

    #[test]
    fn map_resolves_exact_pattern_and_vlan_subinterfaces() {
        let mut m = InterfaceMap::new();
        m.add("Gi0/1=eth1").unwrap();
        m.add("GigabitEthernet0/2 = wan0").unwrap();
        m.add("Vlan*=vlan*").unwrap();
        m.add("Gi0/1.300=guest").unwrap();
        let r = |s: &str, q| m.resolve(&IosName::parse(s).unwrap(), q);
        assert_eq!(
            r("GigabitEthernet0/1", None),
            Ok(Mapped::Exact("eth1".into()))
        );
        assert_eq!(r("Gi0/2", None), Ok(Mapped::Exact("wan0".into())));
        assert_eq!(r("Vlan110", None), Ok(Mapped::Pattern("vlan110".into())));
        assert_eq!(
            r("Gi0/1.100", Some(100)),
            Ok(Mapped::Vlan {
                linux: "eth1.100".into(),
                parent: "eth1".into(),
                vlan: 100
            })
        );
        assert_eq!(r("Gi0/1.300", Some(300)), Ok(Mapped::Exact("guest".into())));
        let e = r("Gi0/3", None).unwrap_err();
        assert_eq!(e, "GigabitEthernet0/3 is not in the interface map (add --map GigabitEthernet0/3=LINUX-NAME)");
        // A subinterface without encapsulation has no VLAN to derive a name from.
        assert!(r("Gi0/1.200", None).is_err());
    }

    #[test]
    fn map_entries_are_checked() {
        let mut m = InterfaceMap::new();
        assert!(m.add("Gi0/1").unwrap_err().contains("IOS=LINUX"));
        assert!(m
            .add("Gi0/1=eth/1")
            .unwrap_err()
            .contains("not a Linux interface name"));
        assert!(m.add("Gi0/1=averyveryverylongname").is_err());
        assert!(m.add("Vlan*=vlan").unwrap_err().contains("one `*`"));
        m.add("Gi0/1=eth1").unwrap();
        m.add("GigabitEthernet0/1=eth1").unwrap();
        assert!(m
            .add("Gi0/1=eth2")
            .unwrap_err()
            .contains("already mapped to eth1"));
    }

    #[test]
    fn map_file_reports_every_bad_line() {
        let text = "# uplinks\nGi0/1 eth1\nGi0/2=eth2 ! comment\nbogus\nGi0/3 a b\n";
        let errs = InterfaceMap::parse_file(text, "map.txt").unwrap_err();
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(errs[0].starts_with("map.txt:4: "), "{errs:?}");
        assert!(errs[1].starts_with("map.txt:5: "), "{errs:?}");
        let ok = InterfaceMap::parse_file("Gi0/1 eth1\nVlan* vlan*\n", "m").unwrap();
        assert_eq!(
            ok.resolve(&IosName::parse("Vlan20").unwrap(), None),
            Ok(Mapped::Pattern("vlan20".into()))
        );
    }
}
