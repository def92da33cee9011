//! `cargo xtask dist` end to end: builds the package (a release build, then seconds), lists
//! it with `dpkg-deb -c`, unpacks it with `dpkg -x` into a scratch directory and checks
//! paths, modes, the conffile, the man pages and that the unpacked binary runs and names
//! the XDP object it embeds. And the guard of hsrp-user/build.rs: a host build without
//! the XDP object fails with the fix in its message.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is one level below the workspace")
        .to_path_buf()
}

fn output(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// Removes the scratch directory even when an assertion fails.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn dist_builds_a_package_with_every_file_in_place() {
    let stdout = output(Command::new(env!("CARGO_BIN_EXE_xtask")).arg("dist"));
    let deb = PathBuf::from(stdout.lines().last().expect("dist prints the package path"));
    assert!(
        deb.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("hsrpd_0.1.0_"),
        "{}",
        deb.display()
    );

    // Paths and modes, as dpkg will install them.
    let listing = output(Command::new("dpkg-deb").arg("-c").arg(&deb));
    let mode_of = |path: &str| -> String {
        let line = listing
            .lines()
            .find(|l| l.ends_with(&format!(" .{path}")))
            .unwrap_or_else(|| panic!("{path} is not in the package:\n{listing}"));
        let mut fields = line.split_whitespace();
        let mode = fields.next().unwrap().to_string();
        assert_eq!(fields.next(), Some("root/root"), "{line}");
        mode
    };
    assert_eq!(mode_of("/usr/sbin/hsrpd"), "-rwxr-xr-x");
    for file in [
        "/lib/systemd/system/hsrpd.service",
        "/etc/hsrpd/hsrpd.conf",
        "/usr/share/man/man8/hsrpd.8.gz",
        "/usr/share/man/man8/hsrpd-run.8.gz",
        "/usr/share/man/man8/hsrpd-check.8.gz",
        "/usr/share/man/man8/hsrpd-status.8.gz",
        "/usr/share/man/man8/hsrpd-decode.8.gz",
        "/usr/share/man/man8/hsrpd-load.8.gz",
        "/usr/share/man/man8/hsrpd-unload.8.gz",
        "/usr/share/man/man5/hsrpd.conf.5.gz",
        "/usr/share/bash-completion/completions/hsrpd",
        "/usr/share/zsh/vendor-completions/_hsrpd",
        "/usr/share/fish/vendor_completions.d/hsrpd.fish",
        "/usr/share/doc/hsrpd/copyright",
        "/usr/share/doc/hsrpd/changelog.gz",
        "/usr/share/doc/hsrpd/README.md",
        "/usr/share/doc/hsrpd/configuration.md",
        "/usr/share/doc/hsrpd/examples/basic.conf",
    ] {
        assert_eq!(mode_of(file), "-rw-r--r--", "{file}");
    }
    // The hidden internal subcommands have no pages.
    assert!(!listing.contains("hsrpd-sentinel"), "{listing}");
    assert!(!listing.contains("hsrpd-generate-docs"), "{listing}");

    let control = output(Command::new("dpkg-deb").arg("-f").arg(&deb));
    assert!(control.contains("Package: hsrpd\n"), "{control}");
    assert!(control.contains("Version: 0.1.0\n"), "{control}");
    // The workspace's authors entry, not a placeholder.
    if std::env::var_os("HSRP_DEB_MAINTAINER").is_none() {
        assert!(
            control.contains(&format!("Maintainer: {}\n", env!("CARGO_PKG_AUTHORS"))),
            "{control}"
        );
    }
    let depends = control
        .lines()
        .find_map(|l| l.strip_prefix("Depends: "))
        .expect("a Depends field");
    assert!(depends.contains("libc6 (>= "), "{depends}");
    let conffiles = output(
        Command::new("dpkg-deb")
            .arg("-I")
            .arg(&deb)
            .arg("conffiles"),
    );
    assert_eq!(conffiles, "/etc/hsrpd/hsrpd.conf\n");

    let scratch = Scratch(std::env::temp_dir().join(format!("hsrpd-dist-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&scratch.0);
    output(Command::new("dpkg").arg("-x").arg(&deb).arg(&scratch.0));
    let unpacked = |p: &str| scratch.0.join(p.trim_start_matches('/'));

    // The installed binary runs and names the object it embeds: the one xtask built.
    let version = output(Command::new(unpacked("/usr/sbin/hsrpd")).arg("--version"));
    let object = root().join("target/bpf/bpfel-unknown-none/release/hsrp");
    let sha = output(Command::new("sha256sum").arg(&object));
    assert_eq!(
        version,
        format!("hsrpd 0.1.0 (XDP object sha256:{})\n", &sha[..12])
    );

    let copyright = std::fs::read_to_string(unpacked("/usr/share/doc/hsrpd/copyright")).unwrap();
    assert!(copyright.starts_with(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
    ));
    assert!(copyright.contains("License: Expat or Apache-2.0\n"));

    let man = output(Command::new("zcat").arg(unpacked("/usr/share/man/man8/hsrpd.8.gz")));
    assert!(man.contains(".TH hsrpd 8"), "{man}");
    assert!(man.contains(".SH EXIT STATUS"), "{man}");
    assert!(man.contains("\\fB78\\fR"), "{man}");
    let conf5 = output(Command::new("zcat").arg(unpacked("/usr/share/man/man5/hsrpd.conf.5.gz")));
    assert!(conf5.contains(".TH HSRPD.CONF 5"), "{conf5}");
    assert!(conf5.contains(".SH GRAMMAR"), "{conf5}");
    assert!(conf5.contains(".TS"), "the defaults table: {conf5}");

    let bash =
        std::fs::read_to_string(unpacked("/usr/share/bash-completion/completions/hsrpd")).unwrap();
    assert!(bash.contains("complete -F _hsrpd"), "{bash}");

    // The example conffile starts nothing: every line is a comment.
    let conf = std::fs::read_to_string(unpacked("/etc/hsrpd/hsrpd.conf")).unwrap();
    assert!(conf.lines().all(|l| l.starts_with('!')), "{conf}");
    let unit = std::fs::read_to_string(unpacked("/lib/systemd/system/hsrpd.service")).unwrap();
    assert!(unit.contains("\nExecStart=/usr/sbin/hsrpd run "), "{unit}");
}

/// A host build that cannot find the XDP object stops, and says how to get one. In the
/// workspace's own target directory, whose dependencies are built already, so only the
/// build script runs (and fails); the next normal build re-runs it with the real object.
#[test]
fn host_build_without_the_xdp_object_fails_naming_the_fix() {
    let scratch = Scratch(std::env::temp_dir().join(format!("hsrpd-noxdp-{}", std::process::id())));
    let out = Command::new(env!("CARGO"))
        .current_dir(root())
        .args(["build", "-p", "hsrp-user", "--lib"])
        .env("HSRP_EBPF_OBJECT", scratch.0.join("no-such-object"))
        .env_remove("HSRP_ALLOW_NO_XDP")
        .output()
        .expect("cargo runs");
    assert!(
        !out.status.success(),
        "the build succeeded without an object"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no-such-object is missing"), "{stderr}");
    assert!(stderr.contains("cargo xtask build"), "{stderr}");
    assert!(stderr.contains("HSRP_ALLOW_NO_XDP=1"), "{stderr}");
}
