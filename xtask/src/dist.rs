//! `cargo xtask dist`: a release `hsrpd` (XDP object embedded), its man pages and shell
//! completions, and a Debian package, in `target/dist/`.
//!
//! The package is built with `dpkg-deb --build` from a tree staged here rather than with
//! cargo-deb: the staging is a page of code, needs nothing beyond dpkg (present on every
//! Debian machine), and keeps every path, mode and maintainer script visible in this file.
//! cargo-deb would add a tool to install and one more configuration language for the same
//! result.
//!
//! Generated at dist time: `hsrpd(8)` and one `hsrpd-SUBCOMMAND(8)` per subcommand plus
//! bash/zsh/fish completions, all by `hsrpd generate-docs` from the clap definitions (so
//! they match `--help`); `hsrpd.conf(5)` from docs/configuration.md by [`crate::mdroff`].
//! Kept in the repository: `dist/hsrpd.service`, `dist/hsrpd.conf` (the example conffile),
//! `dist/debian/` (copyright, maintainer scripts).
//!
//! File times are set to the last commit's time (or `SOURCE_DATE_EPOCH`) and man pages are
//! compressed with `gzip -n`, so two builds of one commit give the same package contents.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::build::{build_ebpf, ebpf_object};
use crate::mdroff;
use crate::util::{cargo, probe, run, say, workspace_root};

const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Who the package names as its maintainer, unless `HSRP_DEB_MAINTAINER` says otherwise:
/// the workspace's `authors` entry (one entry, name and address).
const DEFAULT_MAINTAINER: &str = env!("CARGO_PKG_AUTHORS");

/// Where `cargo xtask dist` puts its output.
pub fn dist_dir() -> PathBuf {
    workspace_root().join("target/dist")
}

/// Builds everything and returns the path of the .deb (also printed on stdout, alone, so
/// scripts and tests can take it).
pub fn dist() -> Result<PathBuf> {
    crate::bootstrap::ensure_toolchain()?;
    say("building the XDP object");
    build_ebpf()?;
    say("building hsrpd (release)");
    run(cargo(None).args(["build", "--release", "-p", "hsrp-user", "--bin", "hsrpd"]))?;
    let root = workspace_root();
    let binary = root.join("target/release/hsrpd");
    let out = dist_dir();
    let stage = out.join("stage");
    let generated = out.join("generated");
    for dir in [&stage, &generated] {
        if dir.exists() {
            fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
        }
    }
    run(Command::new(&binary).arg("generate-docs").arg(&generated))?;
    // The installed page points at the installed examples, not the source tree's.
    let configuration = read(&root.join("docs/configuration.md"))?
        .replace("`docs/examples/*.conf`", "`/usr/share/doc/hsrpd/examples/`");
    let conf5 = mdroff::convert(
        &configuration,
        &mdroff::Page {
            name: "hsrpd.conf",
            section: "5",
            summary: "configuration file of hsrpd, the HSRP gateway",
            source: &format!("hsrpd {VERSION}"),
            manual: "File Formats Manual",
        },
    );
    write(&generated.join("man/hsrpd.conf.5"), conf5.as_bytes())?;

    let epoch = source_date_epoch()?;
    let arch = probe(Command::new("dpkg").arg("--print-architecture"))
        .map(|s| s.trim().to_string())
        .context("dpkg --print-architecture failed: `cargo xtask dist` needs dpkg (Debian)")?;
    stage_tree(&stage, &binary, &generated, epoch)?;
    let depends = shared_library_depends(&out, &stage.join("usr/sbin/hsrpd"))?;
    write_control(&stage, &arch, &depends)?;
    normalise_times(&stage, epoch)?;

    let deb = out.join(format!("hsrpd_{VERSION}_{arch}.deb"));
    run(Command::new("dpkg-deb")
        .args(["--root-owner-group", "-Zxz", "--build"])
        .arg(&stage)
        .arg(&deb)
        .env("SOURCE_DATE_EPOCH", epoch.to_string()))?;
    say(format!(
        "XDP object {} embedded; package {}",
        ebpf_object().display(),
        deb.display()
    ));
    println!("{}", deb.display());
    Ok(deb)
}

/// Lays out the package's files under `stage`, with their modes.
fn stage_tree(stage: &Path, binary: &Path, generated: &Path, epoch: u64) -> Result<()> {
    let root = workspace_root();
    let doc = stage.join("usr/share/doc/hsrpd");

    // The binary, stripped of its symbol table (the embedded XDP object is data and stays).
    let sbin = stage.join("usr/sbin/hsrpd");
    mkdir(sbin.parent().expect("has a parent"))?;
    run(Command::new("strip")
        .args(["--strip-unneeded", "--remove-section=.comment", "-o"])
        .arg(&sbin)
        .arg(binary))?;
    set_mode(&sbin, 0o755)?;

    install(
        &root.join("dist/hsrpd.service"),
        &stage.join("lib/systemd/system/hsrpd.service"),
        0o644,
    )?;
    install(
        &root.join("dist/hsrpd.conf"),
        &stage.join("etc/hsrpd/hsrpd.conf"),
        0o644,
    )?;

    // Man pages, compressed as Debian policy wants.
    for entry in read_dir(&generated.join("man"))? {
        let name = file_name(&entry);
        let section = name.rsplit('.').next().unwrap_or("8");
        let to = stage.join(format!("usr/share/man/man{section}/{name}.gz"));
        gzip(&entry, &to)?;
    }

    let completions = generated.join("completions");
    for (from, to) in [
        ("hsrpd.bash", "usr/share/bash-completion/completions/hsrpd"),
        ("_hsrpd", "usr/share/zsh/vendor-completions/_hsrpd"),
        (
            "hsrpd.fish",
            "usr/share/fish/vendor_completions.d/hsrpd.fish",
        ),
    ] {
        install(&completions.join(from), &stage.join(to), 0o644)?;
    }

    install(
        &root.join("dist/debian/lintian-overrides"),
        &stage.join("usr/share/lintian/overrides/hsrpd"),
        0o644,
    )?;
    install(
        &root.join("dist/debian/copyright"),
        &doc.join("copyright"),
        0o644,
    )?;
    let changelog = changelog(epoch)?;
    let plain = stage.join("changelog.tmp");
    write(&plain, changelog.as_bytes())?;
    gzip(&plain, &doc.join("changelog.gz"))?;
    fs::remove_file(&plain)?;
    install(&root.join("README.md"), &doc.join("README.md"), 0o644)?;
    for entry in read_dir(&root.join("docs"))? {
        if file_name(&entry).ends_with(".md") {
            install(&entry, &doc.join(file_name(&entry)), 0o644)?;
        }
    }
    for entry in read_dir(&root.join("docs/examples"))? {
        install(&entry, &doc.join("examples").join(file_name(&entry)), 0o644)?;
    }

    let debian = stage.join("DEBIAN");
    for script in ["postinst", "prerm", "postrm"] {
        install(
            &root.join("dist/debian").join(script),
            &debian.join(script),
            0o755,
        )?;
    }
    write(&debian.join("conffiles"), b"/etc/hsrpd/hsrpd.conf\n")?;
    set_mode(&debian.join("conffiles"), 0o644)?;
    write_md5sums(stage)?;
    Ok(())
}

/// `DEBIAN/control`, with the shared-library dependencies dpkg-shlibdeps found.
fn write_control(stage: &Path, arch: &str, depends: &str) -> Result<()> {
    let maintainer =
        std::env::var("HSRP_DEB_MAINTAINER").unwrap_or_else(|_| DEFAULT_MAINTAINER.into());
    let installed_kib = du_kib(stage)?;
    let control = format!(
        "Package: hsrpd\n\
         Version: {VERSION}\n\
         Architecture: {arch}\n\
         Maintainer: {maintainer}\n\
         Installed-Size: {installed_kib}\n\
         Depends: {depends}, init-system-helpers (>= 1.54~)\n\
         Recommends: bpftool\n\
         Section: net\n\
         Priority: optional\n\
         Description: Cisco-compatible HSRP gateway with an XDP data plane\n \
         hsrpd joins HSRP groups (versions 1 and 2, IPv4 and IPv6) with Cisco routers\n \
         or other hsrpd routers and takes over the virtual gateway when the Active\n \
         router fails. The control plane runs in userspace; the data plane is an XDP\n \
         program that forwards frames sent to the virtual MAC and answers ARP, ping\n \
         and neighbour solicitations for the virtual IP.\n"
    );
    let path = stage.join("DEBIAN/control");
    write(&path, control.as_bytes())?;
    set_mode(&path, 0o644)
}

/// The `Depends:` of the binary's shared libraries, from dpkg-shlibdeps (which wants a
/// `debian/control` in its working directory: a minimal one is written for it).
fn shared_library_depends(out: &Path, binary: &Path) -> Result<String> {
    let work = out.join("shlibdeps");
    write(
        &work.join("debian/control"),
        b"Source: hsrpd\n\nPackage: hsrpd\nArchitecture: any\n",
    )?;
    let mut c = Command::new("dpkg-shlibdeps");
    c.arg("-O").arg(format!("-e{}", binary.display()));
    c.current_dir(&work);
    let output = probe(&mut c).context(
        "dpkg-shlibdeps failed: install dpkg-dev (`apt-get install dpkg-dev`) and retry",
    )?;
    let depends = output
        .lines()
        .find_map(|l| l.strip_prefix("shlibs:Depends="))
        .context("dpkg-shlibdeps printed no shlibs:Depends")?
        .trim()
        .to_string();
    fs::remove_dir_all(&work).ok();
    Ok(depends)
}

/// A Debian changelog with one entry for this version and commit.
fn changelog(epoch: u64) -> Result<String> {
    let maintainer =
        std::env::var("HSRP_DEB_MAINTAINER").unwrap_or_else(|_| DEFAULT_MAINTAINER.into());
    let date = probe(
        Command::new("date")
            .args(["-u", "-R", "-d"])
            .arg(format!("@{epoch}"))
            .env("LC_ALL", "C"),
    )
    .context("date -R failed")?;
    let commit = probe(
        Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .current_dir(workspace_root()),
    )
    .map(|s| s.trim().to_string())
    .unwrap_or_else(|| "unknown".into());
    Ok(format!(
        "hsrpd ({VERSION}) unstable; urgency=medium\n\n  \
         * Release {VERSION}, built from commit {commit}.\n\n \
         -- {maintainer}  {}\n",
        date.trim()
    ))
}

/// `SOURCE_DATE_EPOCH`, else the last commit's time: file times in the package.
fn source_date_epoch() -> Result<u64> {
    if let Ok(s) = std::env::var("SOURCE_DATE_EPOCH") {
        return s
            .trim()
            .parse()
            .with_context(|| format!("SOURCE_DATE_EPOCH={s:?} is not a number"));
    }
    let out = probe(
        Command::new("git")
            .args(["log", "-1", "--format=%ct"])
            .current_dir(workspace_root()),
    )
    .context("git log failed: set SOURCE_DATE_EPOCH outside a git checkout")?;
    out.trim()
        .parse()
        .with_context(|| format!("git log printed {out:?}"))
}

fn write_md5sums(stage: &Path) -> Result<()> {
    let mut files = Vec::new();
    walk(stage, &mut files)?;
    files.sort();
    let mut c = Command::new("md5sum");
    c.current_dir(stage);
    for f in &files {
        let rel = f.strip_prefix(stage).expect("under the stage");
        if !rel.starts_with("DEBIAN") && !rel.starts_with("etc") {
            c.arg(rel);
        }
    }
    let sums = probe(&mut c).context("md5sum failed")?;
    let path = stage.join("DEBIAN/md5sums");
    write(&path, sums.as_bytes())?;
    set_mode(&path, 0o644)
}

/// Every directory 0755 and every file at the source date, so the tar members do not
/// depend on the umask or on when the build ran.
fn normalise_times(stage: &Path, epoch: u64) -> Result<()> {
    let mut dirs = Vec::new();
    walk_dirs(stage, &mut dirs)?;
    for d in &dirs {
        set_mode(d, 0o755)?;
    }
    run(Command::new("find")
        .arg(stage)
        .args(["-exec", "touch", "-h", "-d"])
        .arg(format!("@{epoch}"))
        .args(["{}", "+"]))
}

fn du_kib(stage: &Path) -> Result<u64> {
    let mut files = Vec::new();
    walk(stage, &mut files)?;
    let bytes: u64 = files
        .iter()
        .filter(|f| !f.strip_prefix(stage).is_ok_and(|r| r.starts_with("DEBIAN")))
        .map(|f| fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum();
    Ok(bytes.div_ceil(1024))
}

fn gzip(from: &Path, to: &Path) -> Result<()> {
    let out = Command::new("gzip")
        .args(["-9", "-n", "-c"])
        .arg(from)
        .output()
        .context("cannot run gzip")?;
    if !out.status.success() {
        bail!("gzip {} failed", from.display());
    }
    write(to, &out.stdout)?;
    set_mode(to, 0o644)
}

fn install(from: &Path, to: &Path, mode: u32) -> Result<()> {
    mkdir(to.parent().expect("has a parent"))?;
    fs::copy(from, to)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    set_mode(to, mode)
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    mkdir(path.parent().expect("has a parent"))?;
    fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn mkdir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {mode:o} {}", path.display()))
}

fn read_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    Ok(entries)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    for entry in read_dir(dir)? {
        if entry.is_dir() {
            walk(&entry, files)?;
        } else {
            files.push(entry);
        }
    }
    Ok(())
}

fn walk_dirs(dir: &Path, dirs: &mut Vec<PathBuf>) -> Result<()> {
    dirs.push(dir.to_path_buf());
    for entry in read_dir(dir)? {
        if entry.is_dir() {
            walk_dirs(&entry, dirs)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_maintainer_is_one_named_address() {
        // Cargo joins several authors with ':', which a Maintainer: field cannot hold.
        assert!(!DEFAULT_MAINTAINER.contains(':'), "{DEFAULT_MAINTAINER}");
        let (name, rest) = DEFAULT_MAINTAINER.split_once(" <").unwrap();
        assert!(!name.is_empty());
        let address = rest.strip_suffix('>').unwrap();
        let (user, host) = address.split_once('@').unwrap();
        assert!(!user.is_empty() && host.contains('.'), "{address}");
        assert!(!host.ends_with(".invalid"), "a placeholder: {address}");
    }
}
