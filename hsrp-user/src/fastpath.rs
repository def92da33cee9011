//! Whether the XDP fast path may forward, decided from the netfilter hooks of the
//! namespace (pure: no I/O; `daemon::fast_path` reads the hooks and writes the result).
//!
//! XDP forwards a frame before netfilter runs, so a firewall, NAT, conntrack, marks or a
//! rate limit on the router would silently not apply to traffic through the VIP. The
//! rule: with no hook that can see forwarded IPv4/IPv6 traffic the fast path forwards;
//! with any such hook every frame goes to the kernel path. Conservative on purpose: a
//! hook counts whatever it contains (an empty base chain, conntrack alone, a legacy
//! iptables table), because telling harmless hooks from harmful ones would mean
//! evaluating rulesets. The hooks that can see forwarded traffic: IPv4 and IPv6
//! prerouting, forward and postrouting (nftables `ip`, `ip6` and `inet` chains,
//! iptables-nft and legacy iptables all register there), and netdev ingress/egress on
//! any interface other than loopback (`netdev` chains, `inet` ingress chains). Bridge
//! and ARP hooks do not count: a routed frame does not traverse them.
//!
//! The hooks come from three kernel sources, merged (`daemon::fast_path`): the nftables
//! base chains (nfnetlink chain dump: nftables and iptables-nft), the legacy x_tables
//! tables of the namespace, and, where the kernel has it (CONFIG_NETFILTER_NETLINK_HOOK),
//! the netfilter hook dump, which also lists BPF netfilter programs and any other
//! registered function.

use crate::net::nfhooks::{
    HookOwner, HookQuery, NfHook, NFPROTO_INET, NFPROTO_IPV4, NFPROTO_IPV6, NFPROTO_NETDEV,
    NF_INET_FORWARD, NF_INET_LOCAL_IN, NF_INET_LOCAL_OUT, NF_INET_POST_ROUTING,
    NF_INET_PRE_ROUTING, NF_NETDEV_EGRESS, NF_NETDEV_INGRESS,
};

use crate::accepted_flow::{qualify, Ruleset};
pub use crate::dataplane::fwd_mode::ForwardMode;

/// The `fast-path` configuration line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Setting {
    /// Decide from the hooks (the default).
    #[default]
    Auto,
    /// Always forward in XDP, even over netfilter rules (warned about loudly).
    On,
    /// Always hand forwarded frames to the kernel.
    Off,
}

impl Setting {
    pub fn as_str(self) -> &'static str {
        match self {
            Setting::Auto => "auto",
            Setting::On => "on",
            Setting::Off => "off",
        }
    }
}

/// The decision and why, as `hsrpd status` and the log say it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub mode: ForwardMode,
    pub reason: String,
    /// `fast-path on` while hooks that netfilter would apply exist: traffic through the
    /// VIP bypasses them (the daemon warns).
    pub forced_over_hooks: bool,
}

impl Decision {
    /// "fast path: REASON" / "kernel path: REASON" / "accepted-flow path: REASON".
    pub fn describe(&self) -> String {
        format!("{}: {}", self.mode.as_str(), self.reason)
    }
}

/// The hook dumps to ask for, given the namespace's interface names.
pub fn hook_queries(links: &[String]) -> Vec<HookQuery> {
    let mut q = Vec::new();
    for family in [NFPROTO_IPV4, NFPROTO_IPV6] {
        for hooknum in [NF_INET_PRE_ROUTING, NF_INET_FORWARD, NF_INET_POST_ROUTING] {
            q.push(HookQuery {
                family,
                hooknum,
                dev: None,
            });
        }
    }
    for link in links.iter().filter(|l| l.as_str() != "lo") {
        for hooknum in [NF_NETDEV_INGRESS, NF_NETDEV_EGRESS] {
            q.push(HookQuery {
                family: NFPROTO_NETDEV,
                hooknum,
                dev: Some(link.clone()),
            });
        }
    }
    q
}

/// The decision for `setting` given the hooks found (or why they could not be read),
/// without the accepted-flow path.
pub fn decide(setting: Setting, hooks: Result<&[NfHook], &str>) -> Decision {
    decide_with(setting, hooks, None)
}

/// The decision for `setting` given the hooks found and, when the accepted-flow path is
/// available, the nftables ruleset (or why it could not be read): with hooks on forwarded
/// traffic that all accept established flows first (`accepted_flow::qualify`), the
/// accepted-flow path instead of the kernel path.
pub fn decide_with(
    setting: Setting,
    hooks: Result<&[NfHook], &str>,
    ruleset: Option<Result<&Ruleset, String>>,
) -> Decision {
    let relevant: Option<Vec<&NfHook>> = hooks
        .as_ref()
        .ok()
        .map(|h| h.iter().filter(|h| sees_forwarded(h)).collect());
    match (setting, hooks, relevant) {
        (Setting::Off, _, _) => Decision {
            mode: ForwardMode::Kernel,
            reason: "`fast-path off` in the configuration".into(),
            forced_over_hooks: false,
        },
        (Setting::On, _, Some(found)) if !found.is_empty() => Decision {
            mode: ForwardMode::Fast,
            reason: format!(
                "`fast-path on` in the configuration, BYPASSING netfilter: {}",
                summary(&found)
            ),
            forced_over_hooks: true,
        },
        (Setting::On, Err(e), _) => Decision {
            mode: ForwardMode::Fast,
            reason: format!("`fast-path on` in the configuration (netfilter hooks unknown: {e})"),
            forced_over_hooks: false,
        },
        (Setting::On, Ok(_), _) => Decision {
            mode: ForwardMode::Fast,
            reason: "`fast-path on` in the configuration; no netfilter hook on forwarded traffic"
                .into(),
            forced_over_hooks: false,
        },
        (Setting::Auto, Err(e), _) => Decision {
            mode: ForwardMode::Kernel,
            reason: format!("cannot read the netfilter hooks ({e})"),
            forced_over_hooks: false,
        },
        (Setting::Auto, Ok(_), Some(found)) if !found.is_empty() => {
            let seen = format!("netfilter sees forwarded traffic: {}", summary(&found));
            let qualified = ruleset.map(|rs| rs.and_then(|rs| qualify(&found, rs)));
            match qualified {
                Some(Ok(why)) => Decision {
                    mode: ForwardMode::AcceptedFlow,
                    reason: why,
                    forced_over_hooks: false,
                },
                Some(Err(why)) => Decision {
                    mode: ForwardMode::Kernel,
                    reason: format!("{seen} (no accepted-flow path: {why})"),
                    forced_over_hooks: false,
                },
                None => Decision {
                    mode: ForwardMode::Kernel,
                    reason: seen,
                    forced_over_hooks: false,
                },
            }
        }
        (Setting::Auto, Ok(_), _) => Decision {
            mode: ForwardMode::Fast,
            reason: "no netfilter hook on forwarded traffic".into(),
            forced_over_hooks: false,
        },
    }
}

/// Whether `h` can see a forwarded IPv4/IPv6 frame (the queries ask only for such hooks;
/// this also guards against answers for other hooks).
fn sees_forwarded(h: &NfHook) -> bool {
    if h.dev.as_deref() == Some("lo") {
        return false; // forwarded traffic never crosses loopback
    }
    if matches!(h.owner, HookOwner::XTables { .. }) {
        return true; // a legacy table: its hooks are not listed one by one
    }
    match h.family {
        NFPROTO_IPV4 | NFPROTO_IPV6 | NFPROTO_INET => matches!(
            h.hooknum,
            NF_INET_PRE_ROUTING | NF_INET_FORWARD | NF_INET_POST_ROUTING | NF_INET_INGRESS
        ),
        NFPROTO_NETDEV => true,
        _ => false,
    }
}

/// NF_INET_INGRESS: an `inet` chain on a device's ingress.
const NF_INET_INGRESS: u32 = 5;

/// "inet filter/forward on ipv4 forward, iptable_nat_do_chain on ipv4 postrouting, ... (+N
/// more)": the first three, then a count.
fn summary(found: &[&NfHook]) -> String {
    const SHOWN: usize = 3;
    let mut parts: Vec<String> = Vec::new();
    for h in found {
        let d = describe(h);
        if !parts.contains(&d) {
            parts.push(d);
        }
    }
    let more = parts.len().saturating_sub(SHOWN);
    parts.truncate(SHOWN);
    let mut s = parts.join(", ");
    if more > 0 {
        s.push_str(&format!(" (+{more} more)"));
    }
    s
}

fn describe(h: &NfHook) -> String {
    let hook = hook_name(h);
    match &h.owner {
        HookOwner::Nftables {
            family,
            table,
            chain,
        } => format!(
            "nftables chain {} {table} {chain} on {hook}",
            family_name(*family)
        ),
        HookOwner::Bpf => format!("BPF netfilter program on {hook}"),
        HookOwner::XTables { table } => {
            format!("legacy iptables table {} {table}", family_name(h.family))
        }
        HookOwner::Other if h.function.is_empty() => format!("a hook on {hook}"),
        HookOwner::Other => format!("{} on {hook}", h.function),
    }
}

fn hook_name(h: &NfHook) -> String {
    match h.family {
        _ if h.family == NFPROTO_NETDEV || h.hooknum == NF_INET_INGRESS && h.dev.is_some() => {
            let dir = if h.hooknum == NF_NETDEV_EGRESS {
                "egress"
            } else {
                "ingress"
            };
            format!("{} {dir}", h.dev.as_deref().unwrap_or("?"))
        }
        f => {
            let hook = match h.hooknum {
                NF_INET_PRE_ROUTING => "prerouting",
                NF_INET_LOCAL_IN => "input",
                NF_INET_FORWARD => "forward",
                NF_INET_LOCAL_OUT => "output",
                NF_INET_POST_ROUTING => "postrouting",
                _ => "hook ?",
            };
            format!("{} {hook}", family_name(f))
        }
    }
}

/// The nftables family keyword of `f` ("inet", "ip", ...).
pub(crate) fn family_name(f: u8) -> &'static str {
    match f {
        NFPROTO_INET => "inet",
        NFPROTO_IPV4 => "ip",
        NFPROTO_IPV6 => "ip6",
        NFPROTO_NETDEV => "netdev",
        7 => "bridge",
        3 => "arp",
        _ => "?",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(family: u8, hooknum: u32, dev: Option<&str>, owner: HookOwner) -> NfHook {
        NfHook {
            family,
            hooknum,
            dev: dev.map(str::to_owned),
            priority: 0,
            function: match owner {
                HookOwner::Other => "iptable_filter_hook".into(),
                _ => "nft_do_chain_inet".into(),
            },
            module: String::new(),
            owner,
        }
    }

    fn chain(family: u8, table: &str, chain: &str) -> HookOwner {
        HookOwner::Nftables {
            family,
            table: table.into(),
            chain: chain.into(),
        }
    }

    #[test]
    fn no_hooks_means_the_fast_path() {
        let d = decide(Setting::Auto, Ok(&[]));
        assert_eq!(d.mode, ForwardMode::Fast);
        assert_eq!(
            d.describe(),
            "fast path: no netfilter hook on forwarded traffic"
        );
        assert!(!d.forced_over_hooks);
    }

    #[test]
    fn any_forward_prerouting_postrouting_or_netdev_hook_means_the_kernel_path() {
        let cases = [
            hook(
                NFPROTO_IPV4,
                NF_INET_FORWARD,
                None,
                chain(NFPROTO_INET, "t", "fwd"),
            ),
            hook(
                NFPROTO_IPV6,
                NF_INET_FORWARD,
                None,
                chain(NFPROTO_IP6, "t", "f"),
            ),
            hook(
                NFPROTO_IPV4,
                NF_INET_PRE_ROUTING,
                None,
                chain(NFPROTO_IPV4, "nat", "pre"),
            ),
            hook(
                NFPROTO_IPV4,
                NF_INET_POST_ROUTING,
                None,
                chain(NFPROTO_IPV4, "nat", "post"),
            ),
            hook(NFPROTO_IPV4, NF_INET_FORWARD, None, HookOwner::Other),
            hook(NFPROTO_IPV6, NF_INET_PRE_ROUTING, None, HookOwner::Bpf),
            hook(
                NFPROTO_NETDEV,
                NF_NETDEV_INGRESS,
                Some("lan0"),
                chain(NFPROTO_NETDEV, "n", "i"),
            ),
            hook(
                NFPROTO_NETDEV,
                NF_NETDEV_EGRESS,
                Some("up0"),
                chain(NFPROTO_NETDEV, "n", "e"),
            ),
        ];
        for h in cases {
            let d = decide(Setting::Auto, Ok(std::slice::from_ref(&h)));
            assert_eq!(d.mode, ForwardMode::Kernel, "{h:?}");
            assert!(
                d.reason.starts_with("netfilter sees forwarded traffic: "),
                "{d:?}"
            );
        }
    }

    const NFPROTO_IP6: u8 = NFPROTO_IPV6;

    #[test]
    fn the_reason_names_the_chains_and_counts_the_rest() {
        let hooks = [
            hook(
                NFPROTO_IPV4,
                NF_INET_FORWARD,
                None,
                chain(NFPROTO_INET, "fw", "forward"),
            ),
            hook(
                NFPROTO_IPV6,
                NF_INET_FORWARD,
                None,
                chain(NFPROTO_INET, "fw", "forward"),
            ),
            hook(
                NFPROTO_IPV4,
                NF_INET_POST_ROUTING,
                None,
                chain(NFPROTO_IPV4, "nat", "post"),
            ),
            hook(NFPROTO_IPV4, NF_INET_PRE_ROUTING, None, HookOwner::Other),
            hook(
                NFPROTO_NETDEV,
                NF_NETDEV_EGRESS,
                Some("up0"),
                HookOwner::Bpf,
            ),
        ];
        let d = decide(Setting::Auto, Ok(&hooks));
        assert_eq!(
            d.describe(),
            "kernel path: netfilter sees forwarded traffic: nftables chain inet fw forward on \
             ip forward, nftables chain inet fw forward on ip6 forward, nftables chain ip nat \
             post on ip postrouting (+2 more)"
        );
    }

    #[test]
    fn chains_from_the_ruleset_dump_and_legacy_tables_count() {
        // The nftables chain dump reports an inet chain once, with the inet family.
        let inet = hook(
            NFPROTO_INET,
            NF_INET_FORWARD,
            None,
            chain(NFPROTO_INET, "fw", "f"),
        );
        let d = decide(Setting::Auto, Ok(std::slice::from_ref(&inet)));
        assert_eq!(
            d.describe(),
            "kernel path: netfilter sees forwarded traffic: nftables chain inet fw f on inet \
             forward"
        );
        let ingress = hook(
            NFPROTO_INET,
            5,
            Some("lan0"),
            chain(NFPROTO_INET, "fw", "in"),
        );
        let d = decide(Setting::Auto, Ok(std::slice::from_ref(&ingress)));
        assert!(
            d.reason
                .ends_with("nftables chain inet fw in on lan0 ingress"),
            "{d:?}"
        );
        let legacy = NfHook {
            owner: HookOwner::XTables {
                table: "raw".into(),
            },
            ..hook(NFPROTO_IPV6, NF_INET_FORWARD, None, HookOwner::Other)
        };
        let d = decide(Setting::Auto, Ok(std::slice::from_ref(&legacy)));
        assert_eq!(
            d.describe(),
            "kernel path: netfilter sees forwarded traffic: legacy iptables table ip6 raw"
        );
        let inet_input = hook(
            NFPROTO_INET,
            NF_INET_LOCAL_IN,
            None,
            chain(NFPROTO_INET, "t", "i"),
        );
        assert_eq!(
            decide(Setting::Auto, Ok(std::slice::from_ref(&inet_input))).mode,
            ForwardMode::Fast
        );
    }

    #[test]
    fn loopback_and_local_hooks_do_not_count() {
        let hooks = [
            hook(
                NFPROTO_NETDEV,
                NF_NETDEV_INGRESS,
                Some("lo"),
                chain(NFPROTO_NETDEV, "n", "i"),
            ),
            hook(
                NFPROTO_IPV4,
                NF_INET_LOCAL_IN,
                None,
                chain(NFPROTO_INET, "t", "in"),
            ),
            hook(
                NFPROTO_IPV4,
                NF_INET_LOCAL_OUT,
                None,
                chain(NFPROTO_INET, "t", "out"),
            ),
            hook(7, NF_INET_FORWARD, None, chain(7, "br", "f")),
        ];
        assert_eq!(decide(Setting::Auto, Ok(&hooks)).mode, ForwardMode::Fast);
    }

    #[test]
    fn unreadable_hooks_mean_the_kernel_path_unless_forced() {
        let d = decide(Setting::Auto, Err("Operation not supported"));
        assert_eq!(d.mode, ForwardMode::Kernel);
        assert!(d.reason.contains("Operation not supported"), "{d:?}");
        assert_eq!(decide(Setting::On, Err("x")).mode, ForwardMode::Fast);
    }

    #[test]
    fn the_configuration_overrides() {
        let h = [hook(
            NFPROTO_IPV4,
            NF_INET_FORWARD,
            None,
            chain(NFPROTO_INET, "t", "f"),
        )];
        let on = decide(Setting::On, Ok(&h));
        assert_eq!(on.mode, ForwardMode::Fast);
        assert!(on.forced_over_hooks);
        assert!(
            on.reason
                .contains("BYPASSING netfilter: nftables chain inet t f"),
            "{on:?}"
        );
        let on_clean = decide(Setting::On, Ok(&[]));
        assert_eq!(on_clean.mode, ForwardMode::Fast);
        assert!(!on_clean.forced_over_hooks);
        for hooks in [&h[..], &[]] {
            let off = decide(Setting::Off, Ok(hooks));
            assert_eq!(off.mode, ForwardMode::Kernel);
            assert_eq!(off.reason, "`fast-path off` in the configuration");
        }
    }

    #[test]
    fn queries_cover_both_families_and_every_interface_but_loopback() {
        let q = hook_queries(&["lo".into(), "lan0".into(), "up0".into()]);
        assert_eq!(q.len(), 6 + 4);
        assert!(q.iter().all(|q| q.dev.as_deref() != Some("lo")));
        assert!(q.contains(&HookQuery {
            family: NFPROTO_NETDEV,
            hooknum: NF_NETDEV_EGRESS,
            dev: Some("up0".into())
        }));
        assert!(q.contains(&HookQuery {
            family: NFPROTO_IPV6,
            hooknum: NF_INET_POST_ROUTING,
            dev: None
        }));
    }

    /// `inet fw forward` starting with `ct state established,related accept` (parsed
    /// expressions as `net::nftrules` gives them), or with a drop before it.
    fn stateful(ct_first: bool) -> crate::accepted_flow::Ruleset {
        use crate::accepted_flow::{tests::ct_accept, Expr, NftChain, NftRule, Ruleset};
        let ct = ct_accept(false);
        let drop = vec![Expr::Other("payload".into()), Expr::Verdict(0)];
        let rule = |exprs| NftRule {
            family: NFPROTO_INET,
            table: "fw".into(),
            chain: "forward".into(),
            exprs,
        };
        let rules = if ct_first {
            vec![rule(ct), rule(drop)]
        } else {
            vec![rule(drop), rule(ct)]
        };
        Ruleset {
            chains: vec![NftChain {
                family: NFPROTO_INET,
                table: "fw".into(),
                name: "forward".into(),
                hook: Some((NF_INET_FORWARD, 0)),
                kind: "filter".into(),
                policy: Some(0),
            }],
            rules,
        }
    }

    #[test]
    fn a_qualifying_ruleset_means_the_accepted_flow_path_and_only_in_auto() {
        let h = [hook(
            NFPROTO_INET,
            NF_INET_FORWARD,
            None,
            chain(NFPROTO_INET, "fw", "forward"),
        )];
        let rs = stateful(true);
        let d = decide_with(Setting::Auto, Ok(&h), Some(Ok(&rs)));
        assert_eq!(d.mode, ForwardMode::AcceptedFlow);
        assert!(
            d.describe().starts_with(
                "accepted-flow path: every netfilter hook on forwarded traffic accepts \
                 established flows first (1 nftables chain)"
            ),
            "{d:?}"
        );
        let d = decide_with(Setting::Auto, Ok(&h), Some(Ok(&stateful(false))));
        assert_eq!(d.mode, ForwardMode::Kernel);
        assert_eq!(
            d.describe(),
            "kernel path: netfilter sees forwarded traffic: nftables chain inet fw forward on \
             inet forward (no accepted-flow path: chain inet fw forward does not start with \
             `ct state established,related accept`)"
        );
        let d = decide_with(Setting::Auto, Ok(&h), Some(Err("no flow map".into())));
        assert_eq!(d.mode, ForwardMode::Kernel);
        assert!(
            d.reason.ends_with("(no accepted-flow path: no flow map)"),
            "{d:?}"
        );
        assert_eq!(
            decide_with(Setting::Off, Ok(&h), Some(Ok(&rs))).mode,
            ForwardMode::Kernel
        );
        assert_eq!(
            decide_with(Setting::On, Ok(&h), Some(Ok(&rs))).mode,
            ForwardMode::Fast
        );
        // No hooks: the fast path, whatever the ruleset.
        assert_eq!(
            decide_with(Setting::Auto, Ok(&[]), Some(Ok(&rs))).mode,
            ForwardMode::Fast
        );
    }
}
