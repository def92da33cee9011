//! What `hsrpd` writes on stderr, through the built binary (no privileges needed: each case
//! fails before touching the system): the sd-daemon priority prefix when stderr is the
//! journal (`JOURNAL_STREAM` names its device and inode) and none otherwise; exit 78 for a
//! configuration error; no key in any message.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("hsrpd-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        Dir(d)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Runs hsrpd with stderr into a file; `journal`: with JOURNAL_STREAM naming that file.
fn run(dir: &Dir, args: &[&str], journal: bool) -> (Option<i32>, String) {
    let err_path = dir.0.join("stderr");
    let err = fs::File::create(&err_path).unwrap();
    let meta = fs::metadata(&err_path).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hsrpd"));
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err)
        .env_remove("JOURNAL_STREAM");
    if journal {
        cmd.env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()));
    }
    let status = cmd.status().unwrap();
    (status.code(), fs::read_to_string(&err_path).unwrap())
}

const KEYED_BAD_CONFIG: &str = "interface eth0\n standby 1 ip 10.0.0.1\n \
     standby 1 authentication md5 key-string 7 TOPSECRETKEY\n standby 1 priority 300\n";

#[test]
fn run_with_a_bad_config_exits_78_without_the_key_and_with_the_journal_prefix() {
    let dir = Dir::new("stderr-run");
    let conf = dir.0.join("bad.conf");
    fs::write(&conf, KEYED_BAD_CONFIG).unwrap();
    let c = conf.to_str().unwrap();
    let sock = dir.0.join("s.sock");
    let args = ["run", "-c", c, "--socket", sock.to_str().unwrap()];

    let (code, stderr) = run(&dir, &args, true);
    assert_eq!(code, Some(78), "{stderr}");
    assert!(!stderr.contains("TOPSECRETKEY"), "{stderr}");
    assert_eq!(
        stderr.lines().next().unwrap(),
        format!(
            "<3>hsrpd: error: {c}:3: standby 1 authentication md5 key-string 7 <redacted>: \
             encrypted (type 7) key-strings are not supported; give the key in clear text"
        )
    );

    // Not the journal (a JOURNAL_STREAM naming another file does not count): no prefix.
    let (code, stderr) = run(&dir, &args, false);
    assert_eq!(code, Some(78));
    assert!(stderr.starts_with("hsrpd: error: "), "{stderr}");
    assert!(!stderr.contains("TOPSECRETKEY"), "{stderr}");
}

#[test]
fn check_of_a_keyed_bad_config_exits_78_without_the_key() {
    let dir = Dir::new("stderr-check");
    let conf = dir.0.join("bad.conf");
    fs::write(&conf, KEYED_BAD_CONFIG).unwrap();
    let (code, stderr) = run(&dir, &["check", "-c", conf.to_str().unwrap()], false);
    assert_eq!(code, Some(78), "{stderr}");
    assert!(!stderr.contains("TOPSECRETKEY"), "{stderr}");
    assert!(stderr.contains("key-string 7 <redacted>"), "{stderr}");
    assert!(stderr.contains("priority must be 1-255"), "{stderr}");
}

#[test]
fn decode_key_file_errors_name_the_file() {
    let dir = Dir::new("stderr-decode");
    let missing = dir.0.join("nokey");
    let (code, stderr) = run(
        &dir,
        &["decode", "x.pcap", "--key-file", missing.to_str().unwrap()],
        false,
    );
    assert_eq!(code, Some(1));
    assert_eq!(
        stderr.trim(),
        format!(
            "hsrpd: error: cannot read the key file {}: No such file or directory (os error 2)",
            missing.display()
        )
    );
    let (code, stderr) = run(
        &dir,
        &["decode", "x.pcap", "--key", "a", "--key-file", "f"],
        false,
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("cannot be used with"), "{stderr}");
}

#[test]
fn log_level_flag_accepts_levels_and_refuses_others() {
    let dir = Dir::new("stderr-level");
    let (code, stderr) = run(&dir, &["--log-level", "loud", "check"], false);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("invalid value 'loud' for '--log-level <LEVEL>'"),
        "{stderr}"
    );
}
