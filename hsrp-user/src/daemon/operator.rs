//! The operator's side of the running daemon: every state change goes to the notify
//! program (`notify`) and the events stream (`control::events`); operator commands from
//! the control socket (`control::ops`) are carried out here, between two events of the
//! loop.
//!
//! Maintenance without loss: `resign` of an Active group with a known Standby hands over
//! as a graceful stop does (the state machine drains, see `fsm::group::drain`); the loop
//! never waits for it: it is a deadline like the groups' other timers.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::IpAddr;

use log::{info, warn};

use super::groups::GroupKey;
use super::notify::{Hook, Notifier};
use super::Daemon;
use crate::config::operator::OperatorSettings;
use crate::control::events::{now_ms, Event as Published, EventBus};
use crate::control::ops::{Command, CommandRequest, Refused, Target, TrackForce};
use crate::fsm::{Event, PeerRole, RouterInfo};
use crate::proto::{State, Version};

/// What the daemon keeps for the operator.
pub(super) struct Operator {
    pub bus: EventBus,
    notifier: Option<Notifier>,
    /// State changes so far (`seq` of events, HSRPD_SEQ of the notify program).
    seq: u64,
    /// Track objects forced by `hsrpd control track N up|down`.
    forced: BTreeMap<u32, bool>,
    /// Local routes of `accept` groups now in the kernel (ifindex, VIP), see `accept`.
    pub accept_routes: BTreeSet<(u32, IpAddr)>,
}

impl Operator {
    pub fn new(settings: &OperatorSettings) -> Operator {
        Operator {
            bus: EventBus::default(),
            notifier: settings.notify.as_ref().map(Notifier::new),
            seq: 0,
            forced: BTreeMap::new(),
            accept_routes: BTreeSet::new(),
        }
    }

    /// Lets queued notify runs finish (bounded) at a clean stop.
    pub async fn finish(&mut self) {
        if let Some(n) = self.notifier.take() {
            n.finish().await;
        }
    }

    /// A reload may set, change or remove the notify program.
    fn reconfigure(&mut self, settings: &OperatorSettings) {
        match (&settings.notify, &self.notifier) {
            (Some(spec), Some(n)) if n.is(spec) => {}
            (Some(spec), _) => {
                info!(
                    "notify program: {} (timeout {} s)",
                    spec.program, spec.timeout_s
                );
                // The old queues finish on their own once their senders are gone.
                self.notifier = Some(Notifier::new(spec));
            }
            (None, Some(_)) => {
                info!("notify program removed");
                self.notifier = None;
            }
            (None, None) => {}
        }
    }
}

fn state_name(s: State) -> String {
    s.name().to_string()
}

impl Daemon {
    /// The Active or Standby router heard for a group changed: the events stream and the
    /// log hear of it (the notify program is for this router's own state changes).
    pub(super) fn peer_changed(
        &mut self,
        gi: usize,
        role: PeerRole,
        from: Option<IpAddr>,
        to: Option<IpAddr>,
    ) {
        let g = &self.groups[gi];
        let who = |a: Option<IpAddr>| a.map_or("none".to_string(), |a| a.to_string());
        info!(
            "{}: {} router {} -> {}",
            g.key,
            role.name(),
            who(from),
            who(to)
        );
        self.operator.bus.publish(&Published::Peer {
            time_ms: now_ms(),
            interface: g.key.iface.clone(),
            group: g.key.group,
            family: if g.key.ipv6 { "ipv6" } else { "ipv4" },
            role: role.name(),
            from: from.map(|a| a.to_string()),
            to: to.map(|a| a.to_string()),
        });
    }

    /// A group changed state: the notify program and the events stream hear of it.
    pub(super) fn state_changed(&mut self, gi: usize, from: State, to: State, reason: &str) {
        let seq = self.operator.seq;
        self.operator.seq += 1;
        let g = &self.groups[gi];
        let time_ms = now_ms();
        let family = if g.key.ipv6 { "ipv6" } else { "ipv4" };
        let vips: Vec<String> = g.vips.iter().map(|v| v.to_string()).collect();
        self.operator.bus.publish(&Published::State {
            time_ms,
            seq,
            interface: g.key.iface.clone(),
            group: g.key.group,
            family,
            from: state_name(from),
            to: state_name(to),
            reason: reason.to_string(),
            vips: vips.clone(),
        });
        if let Some(n) = &mut self.operator.notifier {
            let hook = Hook {
                iface: g.key.iface.clone(),
                group: g.key.group,
                family,
                version: match g.fsm.config().version {
                    Version::V1 => 1,
                    Version::V2 => 2,
                },
                from: state_name(from),
                to: state_name(to),
                reason: reason.to_string(),
                vips,
                vmac: g.vmac.to_string(),
                name: g.spec.name.clone(),
                seq,
                time_ms,
            };
            n.notify(&g.key, hook);
        }
    }

    /// Whether a track change from the system is to be ignored because the operator
    /// forced the object; publishes it otherwise.
    pub(super) fn track_masked(&self, object: u32, up: bool) -> bool {
        if let Some(forced) = self.operator.forced.get(&object) {
            info!(
                "track {object} is now {} (ignored: forced {} by the operator)",
                if up { "up" } else { "down" },
                if *forced { "up" } else { "down" }
            );
            return true;
        }
        self.operator.bus.publish(&Published::Track {
            time_ms: now_ms(),
            object,
            up,
        });
        false
    }

    /// Carries out one operator command and answers it; the events stream hears of it.
    pub(super) async fn on_command(&mut self, req: CommandRequest) {
        let command = req.command.to_string();
        let result = self.command(req.command).await;
        match &result {
            Ok(r) => info!("control: {command}: {}", r.replace('\n', "; ")),
            Err(e) => warn!(
                "control: {command} refused: {}",
                e.message.replace('\n', "; ")
            ),
        }
        self.operator.bus.publish(&Published::Control {
            time_ms: now_ms(),
            command,
            ok: result.is_ok(),
            result: match &result {
                Ok(r) => r.clone(),
                Err(e) => e.message.clone(),
            },
        });
        let _ = req.reply.send(result);
    }

    async fn command(&mut self, command: Command) -> Result<String, Refused> {
        match command {
            Command::Resign(t) => {
                let mut out = String::new();
                for gi in self.targets(&t)? {
                    let _ = writeln!(out, "{}", self.resign(gi).await);
                }
                Ok(out.trim_end().to_string())
            }
            Command::Release(t) => {
                let mut out = String::new();
                for gi in self.targets(&t)? {
                    let g = &self.groups[gi];
                    let (name, was) = (label(&g.key), g.fsm.in_maintenance());
                    if was {
                        self.feed(gi, Event::Maintenance(false)).await;
                        let _ = writeln!(out, "{name}: released ({})", self.groups[gi].fsm.state());
                    } else {
                        let _ = writeln!(out, "{name}: not in maintenance");
                    }
                }
                self.advertise().await;
                Ok(out.trim_end().to_string())
            }
            Command::Priority(t, p) => {
                let mut out = String::new();
                for gi in self.targets(&t)? {
                    self.feed(gi, Event::PriorityOverride(p)).await;
                    let g = &self.groups[gi];
                    let _ = writeln!(
                        out,
                        "{}: priority {} ({}; configured {})",
                        label(&g.key),
                        g.fsm.priority(),
                        match p {
                            Some(p) =>
                                format!("set to {p} until `priority ... default` or a restart"),
                            None => "configured value restored".into(),
                        },
                        g.spec.priority
                    );
                }
                self.advertise().await;
                Ok(out.trim_end().to_string())
            }
            Command::Track(object, force) => Ok(self.force_track(object, force).await?),
            Command::Reload => self.reload_reporting().await,
        }
    }

    /// The groups a target names; an error when it names none or is ambiguous.
    fn targets(&self, t: &Target) -> Result<Vec<usize>, String> {
        match t {
            Target::All => Ok((0..self.groups.len()).collect()),
            Target::Group { iface, group } => {
                let found: Vec<usize> = (0..self.groups.len())
                    .filter(|&gi| {
                        let k = &self.groups[gi].key;
                        k.group == *group && iface.as_ref().is_none_or(|i| *i == k.iface)
                    })
                    .collect();
                let mut ifaces: Vec<&str> = found
                    .iter()
                    .map(|&gi| self.groups[gi].key.iface.as_str())
                    .collect();
                ifaces.sort_unstable();
                ifaces.dedup();
                match (found.is_empty(), ifaces.len()) {
                    (true, _) => Err(format!("no group {t} is configured")),
                    (false, 1) => Ok(found),
                    _ => Err(format!(
                        "group {group} is on {}: say which (IFACE GROUP)",
                        ifaces.join(" and ")
                    )),
                }
            }
        }
    }

    /// Maintenance for one group: an Active with a known Standby hands over without loss.
    async fn resign(&mut self, gi: usize) -> String {
        let now = self.now();
        let g = &self.groups[gi];
        let name = label(&g.key);
        if g.fsm.in_maintenance() {
            return format!("{name}: already in maintenance");
        }
        let was = g.fsm.state();
        let standby = match g.fsm.status(now).standby {
            Some(RouterInfo::Peer { ip, .. }) => Some(ip),
            _ => None,
        };
        self.feed(gi, Event::Maintenance(true)).await;
        self.advertise().await;
        // A restart ends maintenance (docs/operations.md says why): the operator is told.
        const UNTIL: &str = "maintenance until `release` or a restart";
        match (was, standby) {
            (State::Active, Some(s)) => {
                format!("{name}: Active -> Init ({UNTIL}), handing over to {s}")
            }
            (State::Active, None) => {
                format!("{name}: Active -> Init ({UNTIL}); no Standby was known")
            }
            (s, _) => format!("{name}: {s} -> Init ({UNTIL})"),
        }
    }

    /// `track N up|down|auto`: the groups tracking N see the forced (or again the real)
    /// state, and system changes of N are ignored while it is forced.
    async fn force_track(&mut self, object: u32, force: TrackForce) -> Result<String, String> {
        if !self.config.tracks.contains_key(&object) {
            return Err(format!("track object {object} is not configured"));
        }
        let up = match force {
            TrackForce::Up => {
                self.operator.forced.insert(object, true);
                true
            }
            TrackForce::Down => {
                self.operator.forced.insert(object, false);
                false
            }
            TrackForce::Auto => {
                self.operator.forced.remove(&object);
                self.tracker.is_up(object)
            }
        };
        self.operator.bus.publish(&Published::Track {
            time_ms: now_ms(),
            object,
            up,
        });
        let mut n = 0;
        for gi in 0..self.groups.len() {
            if self.groups[gi]
                .fsm
                .config()
                .tracks
                .iter()
                .any(|t| t.object == object)
            {
                self.feed(gi, Event::Track { object, up }).await;
                n += 1;
            }
        }
        self.advertise().await;
        let state = if up { "up" } else { "down" };
        Ok(match force {
            TrackForce::Auto => {
                format!("track {object}: back to its real state ({state}); {n} group(s) track it")
            }
            _ => format!(
                "track {object}: forced {state} until `track {object} auto`; {n} group(s) track it"
            ),
        })
    }

    /// After a reload: the notify program may have changed, and the reload re-read the
    /// tracked objects' real states: forced ones are forced again.
    pub(super) async fn operator_after_reload(&mut self) {
        let settings = self.config.operator.clone();
        self.operator.reconfigure(&settings);
        for gi in 0..self.groups.len() {
            self.accept_sync(gi);
        }
        let forced: Vec<(u32, bool)> = self.operator.forced.iter().map(|(o, u)| (*o, *u)).collect();
        for (object, up) in forced {
            if !self.config.tracks.contains_key(&object) {
                self.operator.forced.remove(&object);
                continue;
            }
            for gi in 0..self.groups.len() {
                if self.groups[gi]
                    .fsm
                    .config()
                    .tracks
                    .iter()
                    .any(|t| t.object == object)
                {
                    self.feed(gi, Event::Track { object, up }).await;
                }
            }
        }
    }
}

fn label(k: &GroupKey) -> String {
    format!(
        "{} grp {}{}",
        k.iface,
        k.group,
        if k.ipv6 { " (IPv6)" } else { "" }
    )
}
