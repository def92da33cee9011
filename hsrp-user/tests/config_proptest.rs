//! Properties of the parser: no input panics it, every error points at a real line and
//! quotes it, and generated valid configurations parse to the values they were built from.

use hsrp_user::config::{self, Family};
use proptest::prelude::*;

/// Words of the grammar, so random lines reach deep into the parser, not just its first
/// `unknown command` branch.
const WORDS: &[&str] = &[
    "interface",
    "eth0",
    "eth1",
    "standby",
    "version",
    "1",
    "2",
    "0",
    "255",
    "256",
    "4095",
    "4096",
    "ip",
    "ipv6",
    "address",
    "10.0.0.1",
    "10.0.0.0",
    "255.255.255.0",
    "255.0.255.0",
    "secondary",
    "autoconfig",
    "fe80::1",
    "2001:db8::1/64",
    "2001:db8::/200",
    "priority",
    "preempt",
    "delay",
    "minimum",
    "reload",
    "sync",
    "timers",
    "msec",
    "15",
    "999",
    "3000",
    "track",
    "decrement",
    "shutdown",
    "line-protocol",
    "route",
    "10.0.0.0/8",
    "reachability",
    "authentication",
    "text",
    "md5",
    "key-string",
    "key-chain",
    "7",
    "key",
    "chain",
    "name",
    "mac-address",
    "0000.0c07.ac01",
    "ffff.ffff.ffff",
    "follow",
    "use-bia",
    "scope",
    "!",
    "#",
    "description",
    "timeout",
    "4294967296",
    "-1",
    "",
    "é",
    "\u{0}",
];

fn grammar_line() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["", " ", "  ", "\t"]),
        prop::collection::vec(prop::sample::select(WORDS.to_vec()), 0..8),
    )
        .prop_map(|(indent, words)| format!("{indent}{}", words.join(" ")))
}

fn check_errors_point_at_lines(text: &str) {
    if let Err(e) = config::parse(text, "p.conf") {
        assert!(!e.diagnostics.is_empty());
        let lines: Vec<&str> = text.lines().collect();
        for d in &e.diagnostics {
            if let Some(n) = d.line {
                assert!(n >= 1 && n <= lines.len(), "line {n} out of range");
                // The line as written, secrets (key-string, authentication text) redacted.
                assert_eq!(d.text, config::redact_secrets(lines[n - 1].trim()));
            }
            assert!(!d.reason.is_empty());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC*") {
        check_errors_point_at_lines(&text);
    }

    #[test]
    fn arbitrary_bytes_as_lossy_text_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check_errors_point_at_lines(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn grammar_word_soup_never_panics(lines in prop::collection::vec(grammar_line(), 0..40)) {
        check_errors_point_at_lines(&lines.join("\n"));
    }

    #[test]
    fn valid_generated_groups_parse_to_their_values(
        group in 0u16..=4095,
        priority in 1u8..=255,
        hello_ms in 15u32..=999,
        extra_hold in 0u32..=2000,
        host in 2u8..=250,
        preempt in any::<bool>(),
    ) {
        let hold_ms = (3 * hello_ms + extra_hold).min(3000);
        let preempt_line = if preempt { format!(" standby {group} preempt") } else { "!".into() };
        let text = [
            "interface eth0".to_string(),
            " ip address 10.1.1.1 255.255.255.0".into(),
            " standby version 2".into(),
            format!(" standby {group} ip 10.1.1.{host}"),
            format!(" standby {group} priority {priority}"),
            preempt_line,
            format!(" standby {group} timers msec {hello_ms} msec {hold_ms}"),
        ]
        .join("\n");
        let c = config::parse(&text, "g.conf").map_err(|e| TestCaseError::fail(e.to_string()))?;
        let g = &c.interfaces[0].groups[0];
        prop_assert_eq!(g.group, group);
        prop_assert_eq!(g.family, Family::Ipv4);
        prop_assert_eq!(g.vip, Some(std::net::Ipv4Addr::new(10, 1, 1, host)));
        prop_assert_eq!(g.priority, priority);
        prop_assert_eq!(g.preempt.is_some(), preempt);
        prop_assert_eq!((g.hello_ms(), g.hold_ms()), (hello_ms, hold_ms));
    }
}
