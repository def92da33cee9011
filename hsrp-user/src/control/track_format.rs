//! `hsrpd status --track`: the tracked objects as IOS `show track` prints them, or their
//! JSON.

use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use super::{query, Snapshot, TrackStatus, DEFAULT_SOCKET};

/// Entry point of `hsrpd status --track [--json]`.
pub fn status_tracks(json: bool, socket: Option<PathBuf>) -> Result<ExitCode> {
    let socket = socket.unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET));
    let snap = query(&socket)?;
    let text = if json {
        serde_json::to_string_pretty(&snap.tracks)? + "\n"
    } else {
        show_track(&snap)
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// `hh:mm:ss` as IOS prints the time since a change.
fn hms(s: f64) -> String {
    let s = s.max(0.0) as u64;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

fn state_word(state: &str) -> &'static str {
    match state {
        "up" => "Up",
        "down" => "Down",
        _ => "Unknown",
    }
}

fn one(t: &TrackStatus, out: &mut String) {
    let _ = writeln!(out, "Track {}", t.object);
    let _ = writeln!(out, "  {}", t.kind);
    let _ = write!(out, "  State is {}", state_word(&t.state));
    if let Some(p) = &t.pending {
        let _ = write!(
            out,
            ", delayed {} ({:.1} secs remaining)",
            if p.up { "Up" } else { "Down" },
            p.in_ms as f64 / 1000.0
        );
    }
    out.push('\n');
    let plural = if t.changes == 1 { "" } else { "s" };
    match t.last_change_s {
        Some(s) => {
            let _ = writeln!(
                out,
                "    {} change{plural}, last change {}",
                t.changes,
                hms(s)
            );
        }
        None => {
            let _ = writeln!(out, "    {} change{plural}", t.changes);
        }
    }
    if t.delay_up_s > 0 || t.delay_down_s > 0 {
        let _ = writeln!(
            out,
            "  Delay up {} secs, down {} secs",
            t.delay_up_s, t.delay_down_s
        );
    }
    if !t.tracked_by.is_empty() {
        let _ = writeln!(out, "  Tracked by:");
        for g in &t.tracked_by {
            let _ = writeln!(out, "    HSRP {} {} ({})", g.interface, g.group, g.action);
        }
    }
}

/// Every object, in number order.
pub fn show_track(snap: &Snapshot) -> String {
    let mut out = String::new();
    if snap.tracks.is_empty() {
        out.push_str("No tracked objects configured\n");
    }
    for t in &snap.tracks {
        one(t, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::{TrackPending, TrackedBy};

    #[test]
    fn prints_what_show_track_prints() {
        let snap = Snapshot {
            tracks: vec![
                TrackStatus {
                    object: 1,
                    kind: "Interface eth1 line-protocol".into(),
                    state: "down".into(),
                    changes: 3,
                    last_change_s: Some(3725.4),
                    delay_up_s: 10,
                    delay_down_s: 0,
                    pending: Some(TrackPending {
                        up: true,
                        in_ms: 4500,
                    }),
                    tracked_by: vec![TrackedBy {
                        interface: "lan0".into(),
                        group: 1,
                        action: "decrement 60".into(),
                    }],
                },
                TrackStatus {
                    object: 2,
                    kind: "Script /bin/check".into(),
                    state: "unknown".into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        assert_eq!(
            show_track(&snap),
            "Track 1\n  Interface eth1 line-protocol\n  State is Down, delayed Up (4.5 secs remaining)\n    \
             3 changes, last change 01:02:05\n  Delay up 10 secs, down 0 secs\n  Tracked by:\n    \
             HSRP lan0 1 (decrement 60)\nTrack 2\n  Script /bin/check\n  State is Unknown\n    0 changes\n"
        );
        assert_eq!(
            show_track(&Snapshot::default()),
            "No tracked objects configured\n"
        );
    }
}
