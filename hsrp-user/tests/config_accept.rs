//! `standby G accept` (services on the virtual IP): accepted on IPv4 groups with a
//! configured virtual IP and on IPv6 groups, refused with a reason elsewhere.

use hsrp_user::config;

fn errors(text: &str) -> Vec<String> {
    match config::parse(text, "t.conf") {
        Ok(_) => Vec::new(),
        Err(e) => e.lines(),
    }
}

#[test]
fn accept_on_an_ipv4_group() {
    let c = config::parse(
        "interface eth0\n standby 1 ip 10.0.0.1\n standby 1 accept\n standby 2 ip 10.0.0.2\n",
        "t.conf",
    )
    .unwrap();
    let accept: Vec<(u16, bool)> = c.groups().map(|(_, g)| (g.group, g.accept)).collect();
    assert_eq!(accept, [(1, true), (2, false)]);
}

#[test]
fn accept_on_an_ipv6_group() {
    let c = config::parse(
        "interface eth0\n standby version 2\n standby 6 ipv6 autoconfig\n standby 6 accept\n \
         standby 6 ipv6 2001:db8::1/64\n standby 7 ipv6 autoconfig\n",
        "t.conf",
    )
    .unwrap();
    let accept: Vec<(u16, bool)> = c.groups().map(|(_, g)| (g.group, g.accept)).collect();
    assert_eq!(accept, [(6, true), (7, false)]);
}

#[test]
fn accept_is_refused_where_it_cannot_work() {
    assert_eq!(
        errors("interface eth0\n standby 1 ip\n standby 1 accept\n"),
        ["t.conf:3: standby 1 accept: `accept` needs a configured virtual IP (standby G ip A.B.C.D)"]
    );
    assert_eq!(
        errors("interface eth0\n standby 1 ip 10.0.0.1\n standby 1 accept now\n"),
        ["t.conf:3: standby 1 accept now: unexpected `now`"]
    );
}
