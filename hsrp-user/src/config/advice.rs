//! Warnings of `hsrpd check` about the system around a valid configuration: settings that
//! do not make the file wrong but make the gateway fail at its job. Pure: the caller reads
//! the facts ([`SystemFacts`]) from the kernel.

use super::model::{Config, Family};

/// What the warnings look at, as read from the current network namespace (`None`: could
/// not be read, no warning).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SystemFacts {
    /// `net.ipv4.ip_forward`.
    pub ipv4_forwarding: Option<bool>,
    /// `net.ipv6.conf.all.forwarding`.
    pub ipv6_forwarding: Option<bool>,
    /// Per HSRP interface, the effective `rp_filter`: the larger of `conf/all` and
    /// `conf/IF` (the kernel's rule).
    pub rp_filter: Vec<(String, Option<u8>)>,
    /// Whether this hsrpd embeds its XDP object.
    pub xdp_object: bool,
}

/// One line per problem, without prefix.
pub fn warnings(config: &Config, facts: &SystemFacts) -> Vec<String> {
    let mut out = Vec::new();
    if !facts.xdp_object {
        out.push(
            "this hsrpd was built without its XDP object (HSRP_ALLOW_NO_XDP=1): `hsrpd run` \
             cannot load the data plane; build with `cargo xtask build` or install the package"
                .to_string(),
        );
    }
    let has = |family| config.groups().any(|(_, g)| g.family == family);
    if has(Family::Ipv4) && facts.ipv4_forwarding == Some(false) {
        out.push(
            "net.ipv4.ip_forward is 0: the Active router would answer for the virtual IP but \
             the kernel would not route what XDP hands it (sysctl -w net.ipv4.ip_forward=1)"
                .to_string(),
        );
    }
    if has(Family::Ipv6) && facts.ipv6_forwarding == Some(false) {
        out.push(
            "net.ipv6.conf.all.forwarding is 0: IPv6 traffic to the virtual router would not \
             be routed (sysctl -w net.ipv6.conf.all.forwarding=1)"
                .to_string(),
        );
    }
    for (iface, rp) in &facts.rp_filter {
        if *rp == Some(1) && has_ipv4_group(config, iface) {
            out.push(format!(
                "{iface}: rp_filter is 1 (strict): traffic whose return path runs through the \
                 other router (two Active groups sharing the load, asymmetric routes after a \
                 takeover) is dropped; use 2 (loose) or 0 \
                 (sysctl -w net.ipv4.conf.{iface}.rp_filter=2 and net.ipv4.conf.all.rp_filter=2)"
            ));
        }
    }
    out
}

fn has_ipv4_group(config: &Config, iface: &str) -> bool {
    config
        .groups()
        .any(|(i, g)| i.name == iface && g.family == Family::Ipv4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        crate::config::parse(
            "interface eth0\n standby version 2\n standby 1 ip 10.0.0.1\n \
             standby 2 ipv6 autoconfig\ninterface eth1\n standby version 2\n standby 3 ipv6 autoconfig\n",
            "t.conf",
        )
        .unwrap()
    }

    #[test]
    fn a_sound_system_gives_no_warning() {
        let facts = SystemFacts {
            ipv4_forwarding: Some(true),
            ipv6_forwarding: Some(true),
            rp_filter: vec![("eth0".into(), Some(2)), ("eth1".into(), Some(1))],
            xdp_object: true,
        };
        // eth1 has IPv6 groups only: rp_filter does not apply to them.
        assert_eq!(warnings(&config(), &facts), Vec::<String>::new());
    }

    #[test]
    fn each_problem_is_named() {
        let facts = SystemFacts {
            ipv4_forwarding: Some(false),
            ipv6_forwarding: Some(false),
            rp_filter: vec![("eth0".into(), Some(1)), ("eth1".into(), None)],
            xdp_object: false,
        };
        let w = warnings(&config(), &facts);
        assert_eq!(w.len(), 4, "{w:#?}");
        assert!(w[0].starts_with("this hsrpd was built without its XDP object"));
        assert!(w[1].starts_with("net.ipv4.ip_forward is 0"));
        assert!(w[2].starts_with("net.ipv6.conf.all.forwarding is 0"));
        assert!(w[3].starts_with("eth0: rp_filter is 1 (strict)"));
    }

    #[test]
    fn unreadable_facts_give_no_warning() {
        let facts = SystemFacts {
            xdp_object: true,
            ..SystemFacts::default()
        };
        assert!(warnings(&config(), &facts).is_empty());
    }
}
