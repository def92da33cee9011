//! `hsrpd run --metrics-listen`: two daemons serve `GET /metrics`, which the reference
//! parser (Python `prometheus_client`) reads back with the per-group state, priority and
//! counters of each router; other paths get 404; garbage, oversized heads and a
//! slowloris are answered or closed within the connection deadline while the daemon
//! keeps its role, sends its hellos on time (the Standby never takes over) and serves
//! the next scrape.

use std::time::Duration;

use hsrp_tests::lab::{router_config, Lab, LabOptions, VIP};
use hsrp_tests::lab_traffic::wait_hsrpd_roles;
use hsrp_tests::Netns;
use hsrp_user::control::metrics_http::{DEADLINE, MAX_CONNECTIONS};
use hsrp_user::proto::State;
use serde_json::Value;

/// Hold 300 ms: a hello thread blocked by a scraper would make the Standby take over.
const TIMERS: &str = "timers msec 100 msec 300";
/// Where each router's daemon serves metrics (in its own namespace).
const LISTEN: &str = "127.0.0.1:9712";

/// Runs a Python script in `ns` and returns its stdout.
fn python(ns: &Netns, script: &str) -> String {
    // Debian's Python, which has python3-prometheus-client (`cargo xtask setup`).
    let mut c = ns.command("/usr/bin/python3");
    c.arg("-c").arg(script);
    let out = c.output().expect("running python3");
    assert!(
        out.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Scrapes `/metrics` and parses it with prometheus_client: every sample as
/// `[family type, sample name, labels, value]`; fails on a parse error or a status other
/// than 200 with the exposition content type.
fn scrape(ns: &Netns) -> Vec<(String, String, Value, f64)> {
    let out = python(
        ns,
        &format!(
            "import json, urllib.request\n\
             from prometheus_client.parser import text_string_to_metric_families\n\
             r = urllib.request.urlopen('http://{LISTEN}/metrics', timeout=3)\n\
             assert r.status == 200, r.status\n\
             ct = r.headers['Content-Type']\n\
             assert ct == 'text/plain; version=0.0.4; charset=utf-8', ct\n\
             out = []\n\
             for f in text_string_to_metric_families(r.read().decode()):\n\
             \x20   for s in f.samples:\n\
             \x20       out.append([f.type, s.name, s.labels, s.value])\n\
             print(json.dumps(out))\n"
        ),
    );
    let rows: Vec<(String, String, Value, f64)> = serde_json::from_str(&out).unwrap();
    assert!(!rows.is_empty());
    rows
}

/// The value of the sample `name` whose labels include `labels`.
fn value(rows: &[(String, String, Value, f64)], name: &str, labels: &[(&str, &str)]) -> f64 {
    let hits: Vec<f64> = rows
        .iter()
        .filter(|(_, n, l, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.get(*k).and_then(Value::as_str) == Some(*v))
        })
        .map(|r| r.3)
        .collect();
    assert_eq!(hits.len(), 1, "{name} {labels:?}: {hits:?}");
    hits[0]
}

fn type_of(rows: &[(String, String, Value, f64)], name: &str) -> String {
    rows.iter().find(|r| r.1 == name).unwrap().0.clone()
}

const GROUP: [(&str, &str); 3] = [("interface", "lan0"), ("group", "1"), ("version", "2")];

fn state(rows: &[(String, String, Value, f64)], state: &str) -> f64 {
    let mut labels = GROUP.to_vec();
    labels.push(("state", state));
    value(rows, "hsrpd_group_state", &labels)
}

/// r1 (priority 150) Active and r2 (100) Standby, both serving `GET /metrics` on
/// [`LISTEN`] in their namespaces; a host on the LAN.
fn metrics_lab() -> Lab {
    let mut lab = Lab::new(LabOptions {
        routers: 2,
        host: true,
        server: false,
        xdp_on_switch: true,
    })
    .expect("building the lab");
    lab.hsrpd_args = vec!["--metrics-listen".into(), LISTEN.into()];
    lab.start_hsrpd(1, &router_config(2, &[(1, VIP, 150, true)], TIMERS))
        .unwrap();
    lab.start_hsrpd(2, &router_config(2, &[(1, VIP, 100, true)], TIMERS))
        .unwrap();
    wait_hsrpd_roles(&lab, 1, 2, Duration::from_secs(5)).unwrap();
    assert!(
        lab.log(1)
            .contains(&format!("metrics: http://{LISTEN}/metrics")),
        "{}",
        lab.log(1)
    );
    lab
}

/// The bound on how long a bad client keeps a connection: the connection deadline plus a
/// second for a loaded 2-core machine.
fn bound() -> f64 {
    (DEADLINE + Duration::from_secs(1)).as_secs_f64()
}

/// After the bad clients: the same roles, no state change since `changes` was scraped,
/// scrapes still served, and a clean stop.
fn assert_undisturbed(mut lab: Lab, changes: f64) {
    assert_eq!(lab.first_group(1), Some((State::Active, 150)));
    assert_eq!(lab.first_group(2).map(|g| g.0), Some(State::Standby));
    let again = scrape(&lab.router(1).ns);
    assert_eq!(
        value(&again, "hsrpd_group_state_changes_total", &GROUP),
        changes
    );
    assert_eq!(state(&again, "Active"), 1.0);
    let status = lab
        .stop_hsrpd(1, libc::SIGTERM, Duration::from_secs(10))
        .unwrap();
    assert_eq!(status.code(), Some(0), "{}", lab.log(1));
}

fn state_changes(lab: &Lab) -> f64 {
    value(
        &scrape(&lab.router(1).ns),
        "hsrpd_group_state_changes_total",
        &GROUP,
    )
}

#[test]
fn the_metrics_parse_with_prometheus_client_and_agree_with_status() {
    let lab = metrics_lab();
    // Traffic the data-plane counters must show: ARP and echo for the VIP, answered by
    // r1's XDP program.
    let host = lab.host.as_ref().unwrap();
    host.exec("ip neigh flush dev hlan0").unwrap();
    host.exec(&format!("ping -c 2 -i 0.2 -W 1 {VIP}")).unwrap();

    let r1 = scrape(&lab.router(1).ns);
    let r2 = scrape(&lab.router(2).ns);
    assert_eq!(state(&r1, "Active"), 1.0);
    assert_eq!(state(&r1, "Standby"), 0.0);
    assert_eq!(state(&r2, "Standby"), 1.0);
    assert_eq!(state(&r2, "Active"), 0.0);
    assert_eq!(type_of(&r1, "hsrpd_group_state"), "gauge");
    assert_eq!(value(&r1, "hsrpd_group_priority", &GROUP), 150.0);
    assert_eq!(value(&r2, "hsrpd_group_priority", &GROUP), 100.0);
    assert_eq!(value(&r1, "hsrpd_up", &[]), 1.0);
    // The counters agree with what `hsrpd status` says (the roles are settled).
    let snap = lab.status(1).unwrap();
    let changes = value(&r1, "hsrpd_group_state_changes_total", &GROUP);
    assert_eq!(changes, snap.groups[0].state_changes as f64);
    assert!(changes >= 1.0, "{changes}");
    assert_eq!(type_of(&r1, "hsrpd_group_state_changes_total"), "counter");
    assert_eq!(value(&r1, "hsrpd_group_auth_failures_total", &GROUP), 0.0);
    let mut answered = GROUP.to_vec();
    answered.push(("result", "answered"));
    assert!(value(&r1, "hsrpd_group_arp_requests_total", &answered) >= 1.0);
    assert_eq!(value(&r2, "hsrpd_group_arp_requests_total", &answered), 0.0);
    assert!(value(&r1, "hsrpd_group_echo_requests_answered_total", &GROUP) >= 2.0);
    // r2's hellos passed r1's XDP filter.
    let passed = value(
        &r1,
        "hsrpd_control_frames_total",
        &[("interface", "lan0"), ("verdict", "passed")],
    );
    assert!(passed >= 1.0, "{passed}");
}

#[test]
fn wrong_paths_methods_and_garbage_get_their_answer_within_the_deadline() {
    let lab = metrics_lab();
    let changes = state_changes(&lab);
    let ns = &lab.router(1).ns;
    let codes = python(
        ns,
        &format!(
            "import urllib.request, urllib.error\n\
             for path, method in (('/', 'GET'), ('/metrics/x', 'GET'), ('/metrics', 'POST')):\n\
             \x20   try:\n\
             \x20       urllib.request.urlopen(urllib.request.Request('http://{LISTEN}' + path, method=method, data=b'' if method == 'POST' else None), timeout=3)\n\
             \x20       print(200)\n\
             \x20   except urllib.error.HTTPError as e:\n\
             \x20       print(e.code)\n"
        ),
    );
    assert_eq!(
        codes.split_whitespace().collect::<Vec<_>>(),
        ["404", "404", "405"]
    );

    // Garbage, an oversized head, and 1 MiB without a line end: each gets its answer or
    // is closed, within the deadline.
    let (ip, port) = LISTEN.split_once(':').unwrap();
    let hostile = python(
        ns,
        &format!(
            "import socket, time\n\
             def ask(data):\n\
             \x20   s = socket.create_connection(('{ip}', {port}), timeout=10)\n\
             \x20   start = time.time()\n\
             \x20   try:\n\
             \x20       s.sendall(data)\n\
             \x20       got = s.recv(64)\n\
             \x20   except OSError:\n\
             \x20       got = b'reset'\n\
             \x20   while True:\n\
             \x20       try:\n\
             \x20           if not s.recv(65536): break\n\
             \x20       except OSError:\n\
             \x20           break\n\
             \x20   print(got.split(b'\\r\\n')[0].decode(errors='replace'), '|', round(time.time() - start, 2))\n\
             ask(bytes(range(256)) * 4 + b'\\r\\n\\r\\n')\n\
             ask(b'GET /metrics HTTP/1.1\\r\\nX: ' + b'a' * 20000 + b'\\r\\n\\r\\n')\n\
             ask(b'\\x00' * (1 << 20))\n"
        ),
    );
    let lines: Vec<(&str, f64)> = hostile
        .lines()
        .map(|l| {
            let (status, secs) = l.split_once(" | ").unwrap();
            (status, secs.parse().unwrap())
        })
        .collect();
    assert_eq!(lines[0].0, "HTTP/1.1 400 Bad Request", "{hostile}");
    assert_eq!(
        lines[1].0, "HTTP/1.1 431 Request Header Fields Too Large",
        "{hostile}"
    );
    assert!(
        ["HTTP/1.1 431 Request Header Fields Too Large", "reset"].contains(&lines[2].0),
        "{hostile}"
    );
    let bound = bound();
    for (status, secs) in &lines {
        assert!(*secs <= bound, "{status} took {secs} s: {hostile}");
    }

    assert_undisturbed(lab, changes);
}

#[test]
fn slow_clients_beyond_the_limit_are_closed_and_hellos_never_wait() {
    let lab = metrics_lab();
    let changes = state_changes(&lab);
    let ns = &lab.router(1).ns;
    let (ip, port) = LISTEN.split_once(':').unwrap();
    let bound = bound();
    // Slowloris: more connections than are served at once, each sending its head a byte
    // at a time. Every one is closed within the deadline (those beyond the limit at
    // once), and meanwhile r1 stays Active: its hellos never waited.
    let n = MAX_CONNECTIONS + 4;
    let slow = python(
        ns,
        &format!(
            "import socket, select, time\n\
             start = time.time()\n\
             socks = []\n\
             for i in range({n}):\n\
             \x20   s = socket.create_connection(('{ip}', {port}), timeout=2)\n\
             \x20   s.sendall(b'GET /metrics HTTP/1.1\\r\\n')\n\
             \x20   socks.append(s)\n\
             alive = set(socks)\n\
             ends = []\n\
             while alive and time.time() - start < 15:\n\
             \x20   r, _, _ = select.select(list(alive), [], [], 0.2)\n\
             \x20   for s in list(alive):\n\
             \x20       gone = False\n\
             \x20       if s in r:\n\
             \x20           try:\n\
             \x20               gone = not s.recv(100)\n\
             \x20           except OSError:\n\
             \x20               gone = True\n\
             \x20       if not gone:\n\
             \x20           try:\n\
             \x20               s.send(b'X')\n\
             \x20           except OSError:\n\
             \x20               gone = True\n\
             \x20       if gone:\n\
             \x20           alive.discard(s)\n\
             \x20           ends.append(time.time() - start)\n\
             print(len(ends), len(alive), round(max(ends), 2))\n"
        ),
    );
    let words: Vec<&str> = slow.split_whitespace().collect();
    assert_eq!(words[0], n.to_string(), "{slow}");
    assert_eq!(words[1], "0", "{slow}");
    let last: f64 = words[2].parse().unwrap();
    assert!(
        last <= bound,
        "the last slow connection ended after {last} s"
    );

    assert_undisturbed(lab, changes);
}
