//! `hsrpd check -c FILE` through the built binary: exit 0 on the docs/examples configurations in a
//! namespace whose eth0/eth1 match them, exit 78 (EX_CONFIG) with the exact error lines on stderr
//! otherwise, and nothing in the namespace changed by checking.

use std::path::PathBuf;
use std::process::{Command, Output};

use hsrp_tests::{hsrpd_bin, require_root, unique, workspace_root, Netns};

fn example(name: &str) -> String {
    workspace_root()
        .join("docs/examples")
        .join(name)
        .display()
        .to_string()
}

/// A temporary config file, removed on drop.
struct TempConf(PathBuf);

impl TempConf {
    fn new(text: &str) -> Self {
        let path = std::env::temp_dir().join(format!("{}.conf", unique("hsrpd-check-")));
        std::fs::write(&path, text).unwrap();
        TempConf(path)
    }
    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempConf {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn check_in(ns: &Netns, path: &str) -> Output {
    ns.command(hsrpd_bin().to_str().unwrap())
        .args(["check", "-c", path])
        .output()
        .expect("run hsrpd check")
}

fn stderr_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::to_string)
        .collect()
}

/// A namespace shaped like the examples: eth0 192.168.1.1/24 and eth1 (veths, since this
/// kernel has no dummy driver), forwarding on as on a router (so `check` has nothing to warn
/// about).
fn lab() -> Netns {
    require_root();
    let ns = Netns::new("cfg").unwrap();
    ns.exec(
        "ip link add eth0 type veth peer name p0 && ip link add eth1 type veth peer name p1 \
         && ip addr add 192.168.1.1/24 dev eth0 && ip link set eth0 up && ip link set eth1 up \
         && sysctl -qw net.ipv4.ip_forward=1",
    )
    .unwrap();
    ns
}

#[test]
fn the_three_examples_pass_check_and_checking_changes_nothing() {
    let ns = lab();
    let before = ns
        .exec("ip -d link show; ip addr show; ls -A /sys/fs/bpf")
        .unwrap();
    for (name, summary) in [
        (
            "basic.conf",
            "OK: 1 interface(s), 1 group(s), 0 track object(s), 0 key chain(s)",
        ),
        (
            "tracking.conf",
            "OK: 1 interface(s), 1 group(s), 1 track object(s), 0 key chain(s)",
        ),
        (
            "load-balancing.conf",
            "OK: 1 interface(s), 2 group(s), 0 track object(s), 0 key chain(s)",
        ),
    ] {
        let path = example(name);
        let out = check_in(&ns, &path);
        assert!(
            out.status.success(),
            "{name}: exit {:?}, stderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            format!("{path}: {summary}")
        );
        assert!(out.stderr.is_empty(), "{name}: unexpected stderr");
    }
    let after = ns
        .exec("ip -d link show; ip addr show; ls -A /sys/fs/bpf")
        .unwrap();
    assert_eq!(before, after, "hsrpd check must not change the system");
}

#[test]
fn system_errors_exit_78_with_every_error_line() {
    let ns = lab();
    let conf = TempConf::new(
        "track 1 interface wan0 line-protocol\n\
         interface eth0\n ip address 192.168.1.2 255.255.255.0\n standby 1 ip 192.168.1.254\n standby 1 track 1\n\
         interface nosuch0\n standby 2 ip 10.0.0.1\n",
    );
    let out = check_in(&ns, conf.path());
    assert_eq!(out.status.code(), Some(78));
    let p = conf.path();
    assert_eq!(
        stderr_lines(&out),
        vec![
            format!("{p}:1: track 1 interface wan0 line-protocol: interface wan0 does not exist"),
            format!("{p}:3: ip address 192.168.1.2 255.255.255.0: eth0 has no address 192.168.1.2/24 (kernel has: 192.168.1.1/24)"),
            format!("{p}:6: interface nosuch0: interface nosuch0 does not exist"),
            format!("hsrpd: 3 error(s) in {p}"),
        ]
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn kernel_owned_vip_is_refused() {
    let ns = lab();
    ns.exec("ip addr add 192.168.1.254/24 dev eth0").unwrap();
    let out = check_in(&ns, &example("basic.conf"));
    assert_eq!(out.status.code(), Some(78));
    let p = example("basic.conf");
    assert_eq!(
        stderr_lines(&out)[0],
        format!("{p}:5: standby 1 ip 192.168.1.254: virtual IP 192.168.1.254 is an address of eth0 in the kernel; remove it (hsrpd answers for it itself)")
    );
}

// The two tests below need no privileges: parse errors stop before the system is read.

#[test]
fn syntax_errors_exit_78_with_every_error_line() {
    let conf = TempConf::new(
        "interface eth0\n standby 1 ip 10.0.0.1\n standby 1 priority 300\n standby 1 timers 3 3\n",
    );
    let out = Command::new(hsrpd_bin())
        .args(["check", "-c", conf.path()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let p = conf.path();
    assert_eq!(
        stderr_lines(&out),
        vec![
            format!("{p}:3: standby 1 priority 300: priority must be 1-255"),
            format!("{p}:4: standby 1 timers 3 3: hold time must be greater than hello time"),
            format!("hsrpd: 2 error(s) in {p}"),
        ]
    );
}

#[test]
fn missing_file_is_an_error_naming_the_file() {
    let out = Command::new(hsrpd_bin())
        .args(["check", "-c", "/nonexistent/hsrpd.conf"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot read /nonexistent/hsrpd.conf: No such file or directory"),
        "{err}"
    );
}

#[test]
fn online_check_warns_about_forwarding_and_strict_rp_filter_and_still_passes() {
    let ns = lab();
    ns.exec(
        "sysctl -qw net.ipv4.ip_forward=0 && sysctl -qw net.ipv4.conf.all.rp_filter=0 \
         && sysctl -qw net.ipv4.conf.eth0.rp_filter=1",
    )
    .unwrap();
    let path = example("basic.conf");
    let out = check_in(&ns, &path);
    assert_eq!(out.status.code(), Some(0), "{:?}", stderr_lines(&out));
    let warnings = stderr_lines(&out);
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    assert!(
        warnings[0].starts_with("hsrpd: warning: net.ipv4.ip_forward is 0"),
        "{warnings:#?}"
    );
    assert!(
        warnings[1].starts_with("hsrpd: warning: eth0: rp_filter is 1 (strict)"),
        "{warnings:#?}"
    );
    // Fixed: no warning.
    ns.exec("sysctl -qw net.ipv4.ip_forward=1 && sysctl -qw net.ipv4.conf.eth0.rp_filter=2")
        .unwrap();
    let out = check_in(&ns, &path);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stderr.is_empty(), "{:?}", stderr_lines(&out));
}

#[test]
fn offline_check_reads_nothing_from_the_system() {
    // Interface nosuch0 exists nowhere: offline, only the file is judged.
    let conf = TempConf::new("interface nosuch0\n standby 1 ip 10.0.0.1\n");
    let out = Command::new(hsrpd_bin())
        .args(["check", "--offline", "-c", conf.path()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", stderr_lines(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!(
            "{}: OK (offline): 1 interface(s), 1 group(s), 0 track object(s), 0 key chain(s)",
            conf.path()
        )
    );
    // Whole-file rules still apply offline.
    let conf = TempConf::new("interface nosuch0\n standby 1 ip 10.0.0.1\n standby 2 ip 10.0.0.1\n");
    let out = Command::new(hsrpd_bin())
        .args(["check", "--offline", "-c", conf.path()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    assert!(
        stderr_lines(&out)[0].contains("virtual IP 10.0.0.1 is already used"),
        "{:?}",
        stderr_lines(&out)
    );
}
