//! Key chains with lifetimes (`send-lifetime` / `accept-lifetime`): the wall clock decides
//! which key signs a group's messages and which keys its receiver accepts. Re-read at every
//! lifetime edge, and at least once a minute so a stepped clock is noticed.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use log::{info, warn};

use super::Daemon;
use crate::fsm::Time;
use crate::proto::Auth;

/// The longest wait between two readings of the wall clock while lifetimes are in use.
const RECHECK: Duration = Duration::from_secs(60);

/// Seconds since the Unix epoch (fractional).
fn wall_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

impl Daemon {
    /// Applies the keys valid now to every group signed with a key chain that has
    /// lifetimes, and schedules the next look (`key_deadline`).
    pub(super) async fn rekey(&mut self) {
        let wall = wall_now();
        let t = wall as u64;
        let now = self.now();
        let mut next: Option<u64> = None;
        for gi in 0..self.groups.len() {
            let Some(chain) = self.groups[gi]
                .spec
                .key_chain
                .as_ref()
                .and_then(|n| self.config.key_chains.get(n))
                .filter(|c| c.has_lifetimes())
                .cloned()
            else {
                continue;
            };
            next = next.into_iter().chain(chain.next_change_after(t)).min();
            let send = chain.send_key_at(t).map(|(key_id, k)| Auth::Md5 {
                key: k.to_vec(),
                key_id,
            });
            let label = format!("{}", self.groups[gi].key);
            let current = self.groups[gi].fsm.config().auth.clone();
            let signing = match send {
                Some(auth) if auth != current => {
                    if let Auth::Md5 { key_id, .. } = &auth {
                        info!(
                            "{label}: key chain {}: now sending with key {key_id}",
                            chain.name
                        );
                    }
                    let mut cfg = self.groups[gi].fsm.config().clone();
                    cfg.auth = auth.clone();
                    match self.groups.reconfigure(gi, now, cfg) {
                        Ok(actions) => self.execute(gi, actions).await,
                        Err(e) => warn!("{label}: {e}"),
                    }
                    auth
                }
                Some(auth) => auth,
                None => {
                    // Deviation: rather than send unsigned, keep the last key (and say so).
                    warn!(
                        "{label}: key chain {} has no key valid for sending now; still sending with the last one",
                        chain.name
                    );
                    current
                }
            };
            let mut auths = vec![signing];
            for (key_id, k) in chain.accept_keys_at(t) {
                let a = Auth::Md5 {
                    key: k.to_vec(),
                    key_id,
                };
                if !auths.contains(&a) {
                    auths.push(a);
                }
            }
            if let Some((old, _)) = &self.groups[gi].old_key {
                if !auths.contains(old) {
                    auths.push(old.clone());
                }
            }
            self.groups[gi].auths = auths;
        }
        self.key_deadline = next.map(|edge| {
            let wait = Duration::from_secs_f64((edge as f64 - wall).max(0.0)).min(RECHECK);
            now + wait
        });
        if self.key_deadline.is_none() && self.uses_key_lifetimes() {
            self.key_deadline = Some(now + RECHECK);
        }
        // Previous keys kept by `key-string ... timeout`.
        let old_keys = self
            .groups
            .iter()
            .filter_map(|g| g.old_key.as_ref().map(|k| k.1));
        self.key_deadline = self.key_deadline.into_iter().chain(old_keys).min();
    }

    fn uses_key_lifetimes(&self) -> bool {
        self.groups.iter().any(|g| {
            g.spec
                .key_chain
                .as_ref()
                .and_then(|n| self.config.key_chains.get(n))
                .is_some_and(|c| c.has_lifetimes())
        })
    }

    /// Re-reads the keys when their deadline has come, and drops the previous keys whose
    /// `timeout` is over.
    pub(super) async fn key_timers(&mut self, now: Time) {
        if self.key_deadline.is_none_or(|t| t > now) {
            return;
        }
        for g in self.groups.iter_mut() {
            if let Some((old, _)) = g.old_key.take_if(|(_, until)| *until <= now) {
                g.auths.retain(|a| *a != old);
                info!(
                    "{}: the previous key is no longer accepted (key-string timeout over)",
                    g.key
                );
            }
        }
        self.rekey().await;
    }

    /// After a reload changed group `gi`'s key from `old` with `key-string ... timeout S`:
    /// the old key stays accepted for S seconds.
    pub(super) fn keep_old_key(&mut self, gi: usize, old: Auth, timeout_s: Option<u16>, now: Time) {
        let g = &mut self.groups[gi];
        let (Some(s), Auth::Md5 { .. }) = (timeout_s.filter(|s| *s > 0), &old) else {
            return;
        };
        if g.auths.contains(&old) {
            return; // not a change
        }
        info!(
            "{}: key changed; the previous key is still accepted for {s} s",
            g.key
        );
        g.auths.push(old.clone());
        g.old_key = Some((old, now + Duration::from_secs(s.into())));
    }
}
