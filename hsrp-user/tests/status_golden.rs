//! The status interfaces scripts read, pinned by golden files: `hsrpd status --json` (with
//! `schema_version`), the text of `hsrpd status` and `--detail`, and `--format prometheus`
//! (also parsed by the Prometheus project's own Python parser), for a fixed snapshot.
//! A change to any of them shows up here as a diff; regenerate on purpose with
//! `HSRP_UPDATE_GOLDEN=1 cargo test -p hsrp-user --test status_golden`, and raise
//! `SCHEMA_VERSION` when a JSON field changes meaning or disappears (docs/status.md).

use std::path::PathBuf;

use hsrp_user::control::format::{brief, detail};
use hsrp_user::control::snapshot::SCHEMA_VERSION;
use hsrp_user::control::{
    ControlCounters, DataplaneCounters, GroupStatus, InterfaceStatus, PeerStatus, Snapshot,
    TimerLateness, TrackStatus, TrackedBy,
};
use hsrp_user::proto::State;

fn group(group: u16, state: State) -> GroupStatus {
    GroupStatus {
        interface: "eth0".into(),
        group,
        version: 2,
        state,
        state_changes: 2,
        last_change_s: 83.4,
        last_change_reason: "active timer expired (hold 750 ms)".into(),
        virtual_ip: Some("192.168.1.254".parse().unwrap()),
        secondary_ips: vec!["192.168.2.254".parse().unwrap()],
        virtual_mac: format!("0000.0c9f.f{group:03x}"),
        priority: 150,
        configured_priority: 150,
        preempt: true,
        preempt_delay_s: Some(30),
        hello_ms: 250,
        hold_ms: 750,
        timers_learned: false,
        next_hello_ms: Some(112),
        authentication: "md5 key-string".into(),
        auth_failures: 1,
        maintenance: false,
        temporary_priority: None,
        active: Some(PeerStatus {
            address: None,
            priority: 150,
            expires_in_ms: None,
        }),
        standby: Some(PeerStatus {
            address: Some("192.168.1.3".parse().unwrap()),
            priority: 100,
            expires_in_ms: Some(600),
        }),
        name: Some("lan".into()),
        dataplane: Some(DataplaneCounters {
            forwarded: 1000,
            forwarded_from_cache: 990,
            accepted_flow: 400,
            slow_path: 3,
            dropped_not_active: 4,
            arp_answered: 2,
            arp_dropped: 1,
            nd_answered: 0,
            nd_dropped: 0,
            echo_answered: 5,
            aborted: 1,
        }),
    }
}

fn snapshot() -> Snapshot {
    let mut init = group(2, State::Initial);
    init.active = None;
    init.standby = None;
    init.dataplane = None;
    init.name = None;
    Snapshot {
        schema_version: SCHEMA_VERSION,
        pid: 4242,
        config: "/etc/hsrpd/hsrpd.conf".into(),
        uptime_s: 3600.5,
        interfaces: vec![InterfaceStatus {
            name: "eth0".into(),
            ifindex: 2,
            xdp_mode: "native".into(),
            up: true,
            control: Some(ControlCounters {
                passed: 14400,
                malformed: 3,
                rate_limited: 7,
            }),
        }],
        groups: vec![group(1, State::Active), init],
        nexthop_cache: "on".into(),
        forwarding: "fast path: no netfilter hook sees forwarded traffic".into(),
        bfd: Vec::new(),
        bfd_dropped: Default::default(),
        bfd_totals: Default::default(),
        timer_lateness: Some(TimerLateness {
            wakeups: 28800,
            p50_ms: 0.05,
            p99_ms: 0.25,
            max_ms: 1.5,
        }),
        tracks: vec![TrackStatus {
            object: 1,
            kind: "Interface eth1 line-protocol".into(),
            state: "up".into(),
            changes: 2,
            last_change_s: Some(120.0),
            delay_up_s: 0,
            delay_down_s: 5,
            pending: None,
            tracked_by: vec![TrackedBy {
                interface: "eth0".into(),
                group: 1,
                action: "decrement 20".into(),
            }],
        }],
    }
}

fn golden(name: &str, got: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var("HSRP_UPDATE_GOLDEN").is_ok_and(|v| v == "1") {
        std::fs::write(&path, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (HSRP_UPDATE_GOLDEN=1 writes it)", path.display()));
    assert_eq!(got, want, "{name} differs from its golden file");
}

#[test]
fn status_json_matches_its_golden_file() {
    let json = serde_json::to_string_pretty(&snapshot()).unwrap() + "\n";
    golden("status.json", &json);
    // The spellings the text output uses, and the version first.
    assert!(json.starts_with("{\n  \"schema_version\": 1,"), "{json}");
    assert!(json.contains("\"state\": \"Init\""), "{json}");
    assert!(json.contains("\"state\": \"Active\""), "{json}");
    // It reads back (old spellings too: "Initial" from a daemon before schema 1).
    let back: Snapshot = serde_json::from_str(&json).unwrap();
    assert_eq!(back, snapshot());
    let old: State = serde_json::from_str("\"Initial\"").unwrap();
    assert_eq!(old, State::Initial);
}

#[test]
fn status_text_matches_its_golden_files() {
    let snap = snapshot();
    golden("status-brief.txt", &brief(&snap));
    golden("status-detail.txt", &detail(&snap));
    assert!(brief(&snap).contains(" Init "), "{}", brief(&snap));
}

#[test]
fn prometheus_text_matches_its_golden_file_and_parses() {
    let text = hsrp_user::control::prometheus::render(&snapshot());
    golden("status.prom", &text);
    // The reference parser (Debian: python3-prometheus-client, installed by
    // `cargo xtask setup`) reads every family back; print type, name, labels, value.
    let script = r#"
import sys
from prometheus_client.parser import text_string_to_metric_families
for f in text_string_to_metric_families(sys.stdin.read()):
    for s in f.samples:
        labels = ",".join(k + "=" + v for k, v in sorted(s.labels.items()))
        print(f.type, s.name, labels, repr(float(s.value)))
"#;
    // The system interpreter: the parser comes from the Debian package, which a python3
    // earlier on PATH (pyenv, a venv) would not see.
    let mut child = std::process::Command::new("/usr/bin/python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("/usr/bin/python3 (apt-get install python3 python3-prometheus-client)");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the Prometheus parser refused the text (is python3-prometheus-client installed?): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = parsed.lines().collect();
    let has = |want: &str| assert!(lines.contains(&want), "{want:?} not in:\n{parsed}");
    has("gauge hsrpd_group_state group=1,interface=eth0,state=Active,version=2 1.0");
    has("gauge hsrpd_group_state group=2,interface=eth0,state=Init,version=2 1.0");
    has("gauge hsrpd_group_state group=1,interface=eth0,state=Standby,version=2 0.0");
    has("gauge hsrpd_group_priority group=1,interface=eth0,version=2 150.0");
    has("counter hsrpd_group_state_changes_total group=1,interface=eth0,version=2 2.0");
    has("counter hsrpd_group_auth_failures_total group=1,interface=eth0,version=2 1.0");
    has("counter hsrpd_group_forwarded_frames_total group=1,interface=eth0,version=2 1000.0");
    has("counter hsrpd_group_arp_requests_total group=1,interface=eth0,result=dropped,version=2 1.0");
    has("counter hsrpd_control_frames_total interface=eth0,verdict=rate_limited 7.0");
    has("gauge hsrpd_timer_lateness_seconds quantile=0.99 0.00025");
    // Every sample of the text was read: one parsed line per sample line.
    let samples = text.lines().filter(|l| !l.starts_with('#')).count();
    assert_eq!(lines.len(), samples, "{parsed}");
    // Group 2 has no data-plane counters: no series rather than zeros.
    assert!(!parsed.contains("hsrpd_group_forwarded_frames_total group=2"));
}
