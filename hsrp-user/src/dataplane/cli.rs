//! `hsrpd load --iface IF` / `hsrpd unload --iface IF`: the data plane alone, for
//! inspection with bpftool. `load` attaches, pins the maps and the link under
//! /sys/fs/bpf/hsrpd and exits, leaving the program running; `unload` detaches it.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Result};

use super::loader::{ifindex, link_pin_path, unpin_link, Dataplane, LoadOptions, DEFAULT_PIN_DIR};

pub fn load(iface: &str) -> Result<ExitCode> {
    // Check the name before touching the system (no bpffs mount for a typo).
    ifindex(iface)?;
    let dir = Path::new(DEFAULT_PIN_DIR);
    if link_pin_path(dir, iface).exists() {
        bail!(
            "the data plane is already loaded on {iface} ({}); `hsrpd unload --iface {iface}` \
             first",
            link_pin_path(dir, iface).display()
        );
    }
    // Another interface loaded earlier: feed the same maps rather than replacing them.
    let share = dir.is_dir()
        && std::fs::read_dir(dir)?
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("link_"));
    let mut dp = Dataplane::load(&LoadOptions {
        pin_dir: Some(dir.to_path_buf()),
        share_pinned_maps: share,
    })?;
    let mode = dp.attach(iface)?;
    let link = dp.pin_link(iface)?;
    println!(
        "{iface}: XDP data plane attached in {mode} mode; link pinned at {}",
        link.display()
    );
    let mut maps: Vec<String> = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("link_"))
        .collect();
    maps.sort();
    for map in maps {
        println!("  bpftool map dump pinned {}/{map}", dir.display());
    }
    println!("detach with: hsrpd unload --iface {iface}");
    Ok(ExitCode::SUCCESS)
}

pub fn unload(iface: &str) -> Result<ExitCode> {
    let dir = Path::new(DEFAULT_PIN_DIR);
    if !unpin_link(dir, iface)? {
        bail!(
            "no data plane pinned for {iface} (no {}): was it loaded with `hsrpd load --iface \
             {iface}`?",
            link_pin_path(dir, iface).display()
        );
    }
    println!("{iface}: XDP data plane detached");
    Ok(ExitCode::SUCCESS)
}
