//! The BFD lines of the configuration (`bfd interval`, `[no] standby bfd`,
//! `[no] standby bfd all-interfaces`): syntax errors name the problem and the line; every
//! valid line that would turn HSRP BFD peering on is refused as not implemented (the
//! daemon runs no BFD sessions yet); the `no` forms are accepted, as they ask for exactly
//! what happens.

use hsrp_user::config;

const GROUP: &str = "interface eth0\n ip address 10.0.0.2 255.255.255.0\n standby 1 ip 10.0.0.1\n";

fn errors(text: &str) -> Vec<String> {
    match config::parse(text, "b.conf") {
        Ok(_) => Vec::new(),
        Err(e) => e.lines(),
    }
}

#[test]
fn enabling_lines_are_refused_as_not_implemented() {
    let cases = [
        (
            format!("{GROUP} bfd interval 50 min_rx 50 multiplier 3\n"),
            "b.conf:4: bfd interval 50 min_rx 50 multiplier 3: BFD peering is not implemented yet",
        ),
        (
            format!("{GROUP} standby bfd\n"),
            "b.conf:4: standby bfd: BFD peering is not implemented yet",
        ),
        (
            format!("standby bfd all-interfaces\n{GROUP}"),
            "b.conf:1: standby bfd all-interfaces: BFD peering is not implemented yet",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(errors(&text), [want], "{text}");
    }
}

#[test]
fn no_forms_are_accepted() {
    let text = format!("no standby bfd all-interfaces\n{GROUP} no standby bfd\n");
    let c = config::parse(&text, "b.conf").expect("the `no` forms are accepted");
    assert_eq!(c.interfaces.len(), 1);
}

#[test]
fn syntax_errors_name_line_and_problem() {
    let cases = [
        (
            format!("{GROUP} bfd interval 20 min_rx 50 multiplier 3\n"),
            "b.conf:4: bfd interval 20 min_rx 50 multiplier 3: bfd interval must be 50-9999",
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
