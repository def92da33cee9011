//! SIGHUP: re-read the configuration and apply it to the running groups. A file that does
//! not load (syntax, values, system check) changes nothing: the error is logged with its
//! `FILE:LINE` and the running configuration stays. Groups are matched by (interface,
//! group, family): changed ones are reconfigured in place (`fsm::Group::reconfigure`
//! restarts them only when their identity — VIP, vMAC, version — changes), removed ones
//! resign and leave the data plane, new ones start. Adding or removing whole interfaces
//! needs a restart (the data plane attachment and sockets are per interface).

use std::collections::{BTreeSet, HashMap};

use anyhow::{bail, Result};
use log::{error, info};
use tokio::sync::mpsc;

use super::groups::{self, GroupKey};
use super::Daemon;
use crate::config::{self, Config};
use crate::control::ops::Refused;
use crate::fsm::{Event, GroupConfig};

/// A configuration read on the aux runtime: the file's load result.
type LoadResult = Result<Config, config::LoadError>;

/// The channel loaded configurations come back to the loop on.
pub(super) struct Loaded {
    tx: mpsc::UnboundedSender<LoadResult>,
    pub(super) rx: mpsc::UnboundedReceiver<LoadResult>,
}

impl Default for Loaded {
    fn default() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Loaded { tx, rx }
    }
}

impl Daemon {
    /// SIGHUP: reads and checks the file on the aux runtime (file system, parsing, the
    /// system's interfaces), so the loop goes on serving timers meanwhile; the result
    /// comes back to [`Daemon::reload`]. Two SIGHUPs in a row are applied in order.
    pub(super) fn begin_reload(&self) {
        info!("SIGHUP: reloading {}", self.config_path.display());
        let path = self.config_path.clone();
        let tx = self.loaded.tx.clone();
        self.aux.spawn(async move {
            let _ = tx.send(config::load(&path));
        });
    }

    /// Applies a configuration read by [`Daemon::begin_reload`], or logs why not.
    pub(super) async fn reload(&mut self, loaded: LoadResult) {
        let _ = self.apply_loaded(loaded).await;
    }

    /// `hsrpd reload`: reads the file (on the loop: the operator waits for the answer)
    /// and reports the outcome, a summary or every error (one `FILE:LINE: TEXT: reason`
    /// line each) when the running configuration stays.
    pub(super) async fn reload_reporting(&mut self) -> Result<String, Refused> {
        info!("reloading {} (hsrpd reload)", self.config_path.display());
        let loaded = config::load(&self.config_path);
        self.apply_loaded(loaded).await
    }

    /// Applies a loaded configuration, logged, with its outcome.
    async fn apply_loaded(&mut self, loaded: LoadResult) -> Result<String, Refused> {
        let path = self.config_path.display().to_string();
        let new = match loaded {
            Ok(c) => c,
            Err(e) => {
                // As for `hsrpd run`: the file's fault, not the system's.
                let config = matches!(
                    e,
                    config::LoadError::Read { .. } | config::LoadError::Invalid(_)
                );
                let mut lines: Vec<String> = e.to_string().lines().map(str::to_string).collect();
                lines.push(format!(
                    "reload of {path} failed: the running configuration stays in effect"
                ));
                for line in &lines {
                    error!("{line}");
                }
                return Err(Refused {
                    message: lines.join("\n"),
                    config,
                });
            }
        };
        let plan = match self.plan(&new) {
            Ok(p) => p,
            Err(e) => {
                let msg = format!(
                    "reload of {path} refused: {e:#}; the running configuration stays in effect"
                );
                error!("{msg}");
                return Err(msg.into());
            }
        };
        // Before anything else changes, so a refused real-time setting refuses it all.
        let wanted = self.realtime.wanted(new.realtime);
        if let Err(e) = self.set_realtime(wanted) {
            let msg = format!(
                "reload of {path} refused: {e:#}; the running configuration stays in effect"
            );
            error!("{msg}");
            return Err(msg.into());
        }
        // Group indices change below (`GroupTable::remove`) until indexed again.
        self.apply(new, plan).await;
        self.reindex();
        self.rekey().await;
        self.sync_followers().await;
        self.operator_after_reload().await;
        let msg = format!("reloaded {path}: {} group(s)", self.groups.len());
        info!("{msg}");
        Ok(msg)
    }

    /// Checks the whole new configuration against the running daemon before anything
    /// changes, so a reload is all or nothing.
    fn plan(&self, new: &Config) -> Result<Vec<(usize, GroupKey, GroupConfig)>> {
        let old: Vec<&str> = self.ifaces.iter().map(|i| i.cfg.name.as_str()).collect();
        let now: Vec<&str> = new.interfaces.iter().map(|i| i.name.as_str()).collect();
        if old != now {
            bail!(
                "the interfaces changed ({} -> {}); restart hsrpd to add or remove interfaces",
                old.join(", "),
                now.join(", ")
            );
        }
        let mut plan = Vec::new();
        for (i, cfg) in new.interfaces.iter().enumerate() {
            let info = &self.ifaces[i].info;
            for spec in &cfg.groups {
                let gc = groups::group_config(cfg, spec, info.mac);
                let local = groups::local_ip(cfg, spec, info)?;
                gc.validate(local)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", cfg.name))?;
                plan.push((i, GroupKey::of(cfg, spec), gc));
            }
        }
        Ok(plan)
    }

    async fn apply(&mut self, new: Config, plan: Vec<(usize, GroupKey, GroupConfig)>) {
        let keep: BTreeSet<&GroupKey> = plan.iter().map(|(_, k, _)| k).collect();
        // Removed groups: resign (if Active) and leave the data plane.
        let mut gi = 0;
        while gi < self.groups.len() {
            if keep.contains(&self.groups[gi].key) {
                gi += 1;
                continue;
            }
            info!("{}: removed from the configuration", self.groups[gi].key);
            self.feed(gi, Event::Shutdown).await;
            let g = self.groups.remove(gi);
            self.uninstall(g.iface, g.vmac);
        }
        for iface in &mut self.ifaces {
            if let Some(c) = new.interfaces.iter().find(|c| c.name == iface.cfg.name) {
                iface.cfg = c.clone();
            }
        }
        self.tracker = crate::track::Tracker::new(&new.tracks);
        self.bfd.follow_fast_path(new.fast_path);
        if let Some(keeper) = &self.dp.fast_path {
            keeper.set_setting(new.fast_path);
        }
        self.config = new;
        self.configure_bfd();
        self.refresh_tracks().await;
        self.probes.restart(&self.tracker, &self.config.ip_slas);

        // Lookups by key, built once: a reload stays linear in the number of groups.
        let specs: HashMap<GroupKey, usize> = self
            .config
            .interfaces
            .iter()
            .flat_map(|c| {
                c.groups
                    .iter()
                    .enumerate()
                    .map(|(k, s)| (GroupKey::of(c, s), k))
            })
            .collect();
        let running: HashMap<GroupKey, usize> = self
            .groups
            .iter()
            .enumerate()
            .map(|(gi, g)| (g.key.clone(), gi))
            .collect();
        for (i, key, gc) in plan {
            let Some(spec) = specs
                .get(&key)
                .map(|&k| self.config.interfaces[i].groups[k].clone())
            else {
                continue;
            };
            match running.get(&key) {
                Some(&gi) => self.reconfigure(gi, gc, spec).await,
                None => match self.new_group(i, &self.config.interfaces[i], spec) {
                    Ok(g) => {
                        let version = g.fsm.config().version;
                        if let Err(e) = self.install(i, g.key.group, version, g.vmac, &g.vips) {
                            error!("{key}: {e:#}");
                            continue;
                        }
                        info!("{key}: added");
                        let gi = self.groups.push(g);
                        if self.ifaces[i].up {
                            self.feed(gi, Event::InterfaceUp).await;
                        }
                    }
                    Err(e) => error!("{key}: {e:#}"),
                },
            }
        }
        self.advertise().await;
    }

    /// One existing group gets its new configuration.
    async fn reconfigure(&mut self, gi: usize, gc: GroupConfig, spec: crate::config::GroupSpec) {
        let now = self.now();
        let old_auth = self.groups[gi].fsm.config().auth.clone();
        match self.groups.reconfigure(gi, now, gc) {
            Ok(actions) => self.execute(gi, actions).await,
            Err(e) => {
                error!("{}: {e}", self.groups[gi].key);
                return;
            }
        }
        self.groups[gi].auths = groups::accepted_auths(&self.config, &spec);
        self.keep_old_key(gi, old_auth, spec.key_timeout_s, now);
        let vmac = self.groups[gi].fsm.virtual_mac();
        let vips = spec.virtual_ips();
        self.groups[gi].spec = spec;
        if vmac != self.groups[gi].vmac || vips != self.groups[gi].vips {
            // A new identity: the reconfigure above restarted the group (so it is not
            // Active), and the data plane entries follow.
            let (iface, group, old_vmac) = (
                self.groups[gi].iface,
                self.groups[gi].key.group,
                self.groups[gi].vmac,
            );
            self.uninstall(iface, old_vmac);
            let version = self.groups[gi].fsm.config().version;
            if let Err(e) = self.install(iface, group, version, vmac, &vips) {
                error!("{} grp {group}: {e:#}", self.groups[gi].key.iface);
            }
            self.groups[gi].vmac = vmac;
            self.groups[gi].vips = vips;
        }
        // Re-sync tracked objects: idempotent for objects the group already knew.
        let tracks: Vec<u32> = self.groups[gi]
            .fsm
            .config()
            .tracks
            .iter()
            .map(|t| t.object)
            .collect();
        for object in tracks {
            let up = self.tracker.is_up(object);
            self.feed(gi, Event::Track { object, up }).await;
        }
    }
}
