//! The BFD lines of the configuration (`bfd interval`, `[no] standby bfd`,
//! `[no] standby bfd all-interfaces`): IOS semantics (peering on by default where BFD is
//! configured, the interface's own line wins over the global one) and syntax errors that
//! name the problem and the line.

use std::time::Duration;

use hsrp_user::bfd::SessionConfig;
use hsrp_user::config;

const GROUP: &str = "interface eth0\n ip address 10.0.0.2 255.255.255.0\n standby 1 ip 10.0.0.1\n";

fn errors(text: &str) -> Vec<String> {
    match config::parse(text, "b.conf") {
        Ok(_) => Vec::new(),
        Err(e) => e.lines(),
    }
}

fn peering(text: &str) -> Option<SessionConfig> {
    let c = config::parse(text, "b.conf").unwrap_or_else(|e| panic!("{text}\n{e}"));
    c.interfaces[0].bfd
}

const FAST: SessionConfig = SessionConfig {
    desired_min_tx: Duration::from_millis(50),
    required_min_rx: Duration::from_millis(60),
    detect_mult: 3,
};

#[test]
fn peering_follows_ios_defaults_and_overrides() {
    let interval = " bfd interval 50 min_rx 60 multiplier 3\n";
    // No BFD on the interface: no peering, whatever `standby bfd` says.
    assert_eq!(peering(GROUP), None);
    assert_eq!(peering(&format!("{GROUP} standby bfd\n")), None);
    // BFD configured: peering on by default.
    assert_eq!(peering(&format!("{GROUP}{interval}")), Some(FAST));
    assert_eq!(
        peering(&format!("{GROUP}{interval} standby bfd\n")),
        Some(FAST)
    );
    // Off on the interface, or everywhere.
    assert_eq!(
        peering(&format!("{GROUP}{interval} no standby bfd\n")),
        None
    );
    assert_eq!(
        peering(&format!("no standby bfd all-interfaces\n{GROUP}{interval}")),
        None
    );
    // The interface's own line wins over the global one.
    assert_eq!(
        peering(&format!(
            "no standby bfd all-interfaces\n{GROUP}{interval} standby bfd\n"
        )),
        Some(FAST)
    );
    assert_eq!(
        peering(&format!(
            "standby bfd all-interfaces\n{GROUP}{interval} no standby bfd\n"
        )),
        None
    );
}

#[test]
fn syntax_errors_name_line_and_problem() {
    let cases = [
        (
            format!("{GROUP} bfd interval 9 min_rx 50 multiplier 3\n"),
            "b.conf:4: bfd interval 9 min_rx 50 multiplier 3: bfd interval must be 10-9999",
        ),
        (
            format!("{GROUP} bfd interval 50 min_rx 50 multiplier 99\n"),
            "b.conf:4: bfd interval 50 min_rx 50 multiplier 99: bfd multiplier must be 3-50",
        ),
        (
            format!("{GROUP} bfd interval 50 min_rx 50\n"),
            "b.conf:4: bfd interval 50 min_rx 50: incomplete command: bfd interval MS min_rx MS multiplier N",
        ),
        (
            format!("{GROUP} bfd interval 50 min_rx 50 multiplier 3\n bfd interval 60 min_rx 50 multiplier 3\n"),
            "b.conf:5: bfd interval 60 min_rx 50 multiplier 3: bfd interval already set to a different value at line 4",
        ),
        (
            format!("{GROUP} standby bfd\n no standby bfd\n"),
            "b.conf:5: no standby bfd: standby bfd already set to a different value at line 4",
        ),
        (
            format!("{GROUP} standby bfd all-interfaces\n"),
            "b.conf:4: standby bfd all-interfaces: `standby bfd all-interfaces` is a global command (do not indent it)",
        ),
        (
            format!("{GROUP} no standby bfd now\n"),
            "b.conf:4: no standby bfd now: unexpected `now`",
        ),
        (
            format!("standby bfd\n{GROUP}"),
            "b.conf:1: standby bfd: `standby` belongs inside an `interface` block (indent it)",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(errors(&text), [want], "{text}");
    }
}

/// The example at the top of docs/bfd.md parses, with peering on at 50 ms x 3.
#[test]
fn docs_example_parses() {
    let path = format!("{}/../docs/bfd.md", env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(&path).unwrap();
    let start = doc
        .find("```\n! BFD on eth0")
        .expect("example in docs/bfd.md")
        + 4;
    let len = doc[start..].find("```").unwrap();
    let c = config::parse(&doc[start..start + len], "bfd.md").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        c.interfaces[0].bfd,
        Some(SessionConfig {
            desired_min_tx: Duration::from_millis(50),
            required_min_rx: Duration::from_millis(50),
            detect_mult: 3,
        })
    );
}
