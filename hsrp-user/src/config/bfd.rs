//! The BFD lines of the IOS syntax, for HSRP BFD peering:
//!
//! - `bfd interval MS min_rx MS multiplier N` (interface): the BFD session parameters;
//! - `standby bfd` / `no standby bfd` (interface): HSRP BFD peering on this interface;
//! - `standby bfd all-interfaces` / `no standby bfd all-interfaces` (global).
//!
//! As in IOS, HSRP BFD peering is on by default wherever BFD is configured on the
//! interface; `no standby bfd` turns it off on one interface, `no standby bfd
//! all-interfaces` everywhere, and an interface's own `standby bfd` line wins over the
//! global one.

use std::time::Duration;

use super::parse::{Drafts, InterfaceDraft};
use super::values;

/// The ranges of `bfd interval` / `min_rx` (milliseconds) and `multiplier`. IOS stops
/// at 50 ms; hsrpd goes down to 10 ms, as FRR does: the daemon's timers have 1 ms
/// resolution and the jitter is computed in nanoseconds, so a 10 ms interval is sent every
/// 7.5-10 ms. Measured cost and stability at 10 ms x 3 are in `docs/bfd.md`.
pub(crate) const INTERVAL_MS: (u32, u32) = (10, 9999);
pub(crate) const MULTIPLIER: (u32, u32) = (3, 50);

/// `bfd interval MS min_rx MS multiplier N`, checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BfdInterval {
    pub tx: Duration,
    pub min_rx: Duration,
    pub multiplier: u8,
}

const USAGE: &str = "incomplete command: bfd interval MS min_rx MS multiplier N";

/// Parses `bfd interval MS min_rx MS multiplier N` (`toks[0]` is `bfd`).
pub(crate) fn interval(toks: &[&str]) -> Result<BfdInterval, String> {
    let words: Vec<String> = toks.iter().map(|t| t.to_ascii_lowercase()).collect();
    match words.get(1).map(String::as_str) {
        Some("interval") => {}
        Some(_) => {
            return Err(format!(
                "unsupported bfd command `bfd {}` (only bfd interval MS min_rx MS multiplier N)",
                toks[1]
            ))
        }
        None => return Err(USAGE.into()),
    }
    let (lo, hi) = INTERVAL_MS;
    let tx = values::number(toks.get(2).ok_or(USAGE)?, lo, hi, "bfd interval")?;
    if words.get(3).map(String::as_str) != Some("min_rx") {
        return Err(toks.get(3).map_or(USAGE.into(), |t| {
            format!("expected `min_rx` after the interval, found `{t}`")
        }));
    }
    let rx = values::number(toks.get(4).ok_or(USAGE)?, lo, hi, "bfd min_rx")?;
    if words.get(5).map(String::as_str) != Some("multiplier") {
        return Err(toks.get(5).map_or(USAGE.into(), |t| {
            format!("expected `multiplier` after min_rx, found `{t}`")
        }));
    }
    let (mlo, mhi) = MULTIPLIER;
    let mult = values::number(toks.get(6).ok_or(USAGE)?, mlo, mhi, "bfd multiplier")?;
    if let Some(extra) = toks.get(7) {
        return Err(format!("unexpected `{extra}`"));
    }
    Ok(BfdInterval {
        tx: Duration::from_millis(tx.into()),
        min_rx: Duration::from_millis(rx.into()),
        multiplier: mult as u8,
    })
}

/// What a `[no] standby bfd [all-interfaces]` line says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StandbyBfd {
    pub enable: bool,
    pub all_interfaces: bool,
}

/// Parses `standby bfd [all-interfaces]` after an optional `no` (`toks` starts at
/// `standby`).
pub(crate) fn standby_bfd(toks: &[&str], negated: bool) -> Result<StandbyBfd, String> {
    let all_interfaces = match toks.get(2).map(|t| t.to_ascii_lowercase()).as_deref() {
        None => false,
        Some("all-interfaces") => true,
        Some(_) => return Err(format!("unexpected `{}`", toks[2])),
    };
    let n = if all_interfaces { 3 } else { 2 };
    if let Some(extra) = toks.get(n) {
        return Err(format!("unexpected `{extra}`"));
    }
    Ok(StandbyBfd {
        enable: !negated,
        all_interfaces,
    })
}

/// `[no] standby bfd` inside an interface block (`toks` starts at `standby`): on or off.
pub(crate) fn interface_standby_bfd(toks: &[&str], negated: bool) -> Result<bool, String> {
    let s = standby_bfd(toks, negated)?;
    if s.all_interfaces {
        return Err("`standby bfd all-interfaces` is a global command (do not indent it)".into());
    }
    Ok(s.enable)
}

/// The effective peering of one interface: its `bfd interval` if peering is on there.
pub(crate) fn peering(ifc: &InterfaceDraft, drafts: &Drafts) -> Option<crate::bfd::SessionConfig> {
    let (interval, _) = ifc.bfd_interval?;
    let on = ifc
        .standby_bfd
        .or(drafts.standby_bfd_all)
        .is_none_or(|(on, _)| on);
    on.then_some(crate::bfd::SessionConfig {
        desired_min_tx: interval.tx,
        required_min_rx: interval.min_rx,
        detect_mult: interval.multiplier,
    })
}

/// True for a top-level `[no] standby bfd all-interfaces` (any other `standby` line at the
/// top level is a misplaced interface command).
pub(crate) fn is_global_standby_bfd(toks: &[&str]) -> bool {
    let words: Vec<String> = toks.iter().map(|t| t.to_ascii_lowercase()).collect();
    let rest = if words.first().map(String::as_str) == Some("no") {
        &words[1..]
    } else {
        &words[..]
    };
    rest.len() >= 3 && rest[0] == "standby" && rest[1] == "bfd" && rest[2] == "all-interfaces"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Vec<&str> {
        s.split_whitespace().collect()
    }

    #[test]
    fn interval_parses_ios_syntax() {
        assert_eq!(
            interval(&t("bfd interval 50 min_rx 60 multiplier 3")),
            Ok(BfdInterval {
                tx: Duration::from_millis(50),
                min_rx: Duration::from_millis(60),
                multiplier: 3
            })
        );
        // The floor, below IOS's 50 ms (FRR's 10 ms).
        assert_eq!(
            interval(&t("bfd interval 10 min_rx 10 multiplier 3")).map(|i| (i.tx, i.min_rx)),
            Ok((Duration::from_millis(10), Duration::from_millis(10)))
        );
        assert_eq!(
            interval(&t("BFD Interval 9999 MIN_RX 9999 Multiplier 50")).map(|i| i.multiplier),
            Ok(50)
        );
    }

    #[test]
    fn interval_errors_name_the_problem() {
        let cases = [
            ("bfd", USAGE.to_string()),
            ("bfd interval 50", USAGE.to_string()),
            (
                "bfd interval 9 min_rx 50 multiplier 3",
                "bfd interval must be 10-9999".into(),
            ),
            (
                "bfd interval 50 min_rx 10000 multiplier 3",
                "bfd min_rx must be 10-9999".into(),
            ),
            (
                "bfd interval 50 min_rx 50 multiplier 2",
                "bfd multiplier must be 3-50".into(),
            ),
            (
                "bfd interval 50 max_rx 50 multiplier 3",
                "expected `min_rx` after the interval, found `max_rx`".into(),
            ),
            (
                "bfd interval 50 min_rx 50 mult 3",
                "expected `multiplier` after min_rx, found `mult`".into(),
            ),
            (
                "bfd interval 50 min_rx 50 multiplier 3 x",
                "unexpected `x`".into(),
            ),
            (
                "bfd echo",
                "unsupported bfd command `bfd echo` (only bfd interval MS min_rx MS multiplier N)"
                    .into(),
            ),
        ];
        for (line, want) in cases {
            assert_eq!(interval(&t(line)), Err(want), "{line}");
        }
    }

    #[test]
    fn standby_bfd_forms() {
        assert_eq!(
            standby_bfd(&t("standby bfd"), false),
            Ok(StandbyBfd {
                enable: true,
                all_interfaces: false
            })
        );
        assert_eq!(
            standby_bfd(&t("standby bfd all-interfaces"), true),
            Ok(StandbyBfd {
                enable: false,
                all_interfaces: true
            })
        );
        assert_eq!(
            standby_bfd(&t("standby bfd everywhere"), false),
            Err("unexpected `everywhere`".into())
        );
        assert_eq!(interface_standby_bfd(&t("standby bfd"), true), Ok(false));
        assert_eq!(interface_standby_bfd(&t("standby bfd"), false), Ok(true));
    }
}
