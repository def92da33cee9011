//! Hostile input, command-line half (the broken-config table is hsrp-user/tests/config_errors.rs):
//! bad command lines and bad files give the exact error line and exit status, never a panic
//! and never a change to the system (every case fails before hsrpd touches anything).

use std::fs;
use std::process::Command;

use hsrp_tests::{hsrpd_bin, unique};

/// (arguments, exit status, first line of stderr). `{dir}` is a scratch directory holding
/// `bad.conf` (priority out of range on line 2) and `junk.pcap` (not a capture).
const CASES: &[(&[&str], i32, &str)] = &[
    (&["frobnicate"], 2, "error: unrecognized subcommand 'frobnicate'"),
    (
        &["run", "-c", "{dir}/bad.conf", "--socket", "{dir}/s", "--bogus"],
        2,
        "error: unexpected argument '--bogus' found",
    ),
    (
        &["run", "-c", "{dir}/missing.conf", "--socket", "{dir}/s"],
        78,
        "hsrpd: error: cannot read {dir}/missing.conf: No such file or directory (os error 2)",
    ),
    (
        &["run", "-c", "{dir}/bad.conf", "--socket", "{dir}/s"],
        78,
        "hsrpd: error: {dir}/bad.conf:2: standby 1 priority 300: priority must be 1-255",
    ),
    (
        &["check", "-c", "{dir}/missing.conf"],
        78,
        "hsrpd: error: check: cannot read {dir}/missing.conf: No such file or directory (os error 2)",
    ),
    (
        &["check", "-c", "{dir}/bad.conf"],
        78,
        "{dir}/bad.conf:2: standby 1 priority 300: priority must be 1-255",
    ),
    (
        &["status", "--socket", "{dir}/nobody.sock"],
        1,
        "hsrpd: error: cannot reach hsrpd at {dir}/nobody.sock (is it running? `hsrpd run -c FILE`): No such file or directory (os error 2)",
    ),
    (
        &["status", "--json", "--socket", "{dir}/nobody.sock"],
        1,
        "hsrpd: error: cannot reach hsrpd at {dir}/nobody.sock (is it running? `hsrpd run -c FILE`): No such file or directory (os error 2)",
    ),
    (
        &["decode", "{dir}/missing.pcap"],
        1,
        "hsrpd: error: cannot open {dir}/missing.pcap: No such file or directory (os error 2)",
    ),
    (
        &["decode", "{dir}/junk.pcap"],
        1,
        "hsrpd: error: {dir}/junk.pcap: not a pcap or pcapng file (magic [69, 6e, 74, 65])",
    ),
];

#[test]
fn bad_command_lines_give_their_exact_error_and_status() {
    let dir = std::env::temp_dir().join(unique("hsrpt-cli"));
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join("bad.conf"),
        "interface eth0\n standby 1 priority 300\n",
    )
    .unwrap();
    fs::write(dir.join("junk.pcap"), "interface eth0\n").unwrap();
    let d = dir.display().to_string();
    let mut failures = Vec::new();
    for (args, status, first) in CASES {
        let args: Vec<String> = args.iter().map(|a| a.replace("{dir}", &d)).collect();
        let want = first.replace("{dir}", &d);
        let out = Command::new(hsrpd_bin()).args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let got = stderr.lines().next().unwrap_or("");
        if out.status.code() != Some(*status) || got != want || stderr.contains("panicked") {
            failures.push(format!(
                "hsrpd {}: exit {:?} (want {status}), stderr:\n{stderr}\nwant first line: {want}",
                args.join(" "),
                out.status.code()
            ));
        }
    }
    let _ = fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
