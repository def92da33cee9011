//! Keeps `HSRP_FWD_MODE` right for the namespace's netfilter hooks: reads them
//! (`net::nfhooks`: nftables base chains, legacy x_tables tables, and the hook dump where
//! the kernel has one) at start, after every nftables change notification, and every
//! [`RECHECK_INTERVAL`] (legacy iptables and interfaces created later send us nothing),
//! decides (`fastpath::decide_with`: fast path, kernel path, or the accepted-flow path when
//! the nftables ruleset accepts established flows first) and writes the map when the mode
//! changes, logging each change with its reason. It also drives the flow keeper
//! (`accepted_flows`): conntrack events, the refresh pass every [`RECHECK_INTERVAL`], and
//! emptying the flow map whenever the ruleset changes (the kernel path until the new
//! ruleset is read and qualifies again).
//!
//! The first decision is written before any group can be Active (the daemon starts it
//! before creating the groups), so no frame is forwarded past rules that were there
//! first. A change of rules while running takes effect after the notification (the kernel
//! sends it when the transaction commits) plus [`SETTLE`].

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use log::{info, warn};
use tokio::io::unix::AsyncFd;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::accepted_flows::FlowKeeper;
use crate::dataplane::flows::FlowMap;
use crate::dataplane::fwd_mode::{ForwardMode, FwdModeMap};
use crate::fastpath::{decide, decide_with, hook_queries, Decision, Setting};
use crate::net::nfhooks::{
    dump_hooks, dump_nft_base_chains, hook_dump_unsupported, xtables_tables, NftablesEvents,
};
use crate::net::nftrules::dump_ruleset;

/// Re-read the hooks this often without a notification (legacy x_tables, new links).
pub const RECHECK_INTERVAL: Duration = Duration::from_secs(1);
/// Wait after a notification before reading: one `nft -f` commits many objects.
const SETTLE: Duration = Duration::from_millis(10);

/// The running keeper; dropping it stops the task (the map keeps its last value).
pub struct FastPathKeeper {
    task: JoinHandle<()>,
    status: Arc<Mutex<String>>,
    setting: watch::Sender<Setting>,
}

impl FastPathKeeper {
    /// Decides once and writes the map (before returning), then keeps it in a task on
    /// `aux` (the flows' netlink and map work never delays a hello). Must be called inside
    /// a tokio runtime, in the data plane's network namespace. Without `flows` (or when
    /// conntrack's events cannot be had) the accepted-flow path is never chosen.
    pub async fn start(
        map: FwdModeMap,
        flows: Option<FlowMap>,
        setting: Setting,
        aux: &tokio::runtime::Handle,
    ) -> Result<FastPathKeeper> {
        let status = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = watch::channel(setting);
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let shown = status.clone();
        // The sockets are registered with the runtime that polls them: made on `aux`.
        let task = aux.spawn(async move {
            match Keeper::open(map, flows, setting, shown).await {
                Ok(keeper) => {
                    let _ = ready_tx.send(Ok(()));
                    keeper.run(rx).await;
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            }
        });
        ready_rx
            .await
            .context("the fast path keeper stopped before deciding")??;
        Ok(FastPathKeeper {
            task,
            status,
            setting: tx,
        })
    }

    /// "fast path: REASON" or "kernel path: REASON".
    pub fn status(&self) -> String {
        self.status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A reloaded configuration's `fast-path` setting (applied at the next check, at once).
    pub fn set_setting(&self, setting: Setting) {
        self.setting.send_replace(setting);
    }
}

impl Drop for FastPathKeeper {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The task's state: the mode map, the flow keeper (or why there is none), the nftables
/// notifications, the decision in force.
struct Keeper {
    map: FwdModeMap,
    flows: std::result::Result<FlowKeeper, String>,
    nft: Option<AsyncFd<NftablesEvents>>,
    current: Decision,
    status: Arc<Mutex<String>>,
}

impl Keeper {
    /// Subscribes to the notifications, opens the flow keeper, decides once and writes
    /// the map.
    async fn open(
        mut map: FwdModeMap,
        flows: Option<FlowMap>,
        setting: Setting,
        status: Arc<Mutex<String>>,
    ) -> Result<Keeper> {
        let nft =
            match NftablesEvents::subscribe() {
                // SAFETY: NftablesEvents owns its netlink socket for its whole life and
                // always returns that same descriptor; it closes it only when dropped.
                Ok(e) => Some(unsafe { AsyncFd::register(e) }.map_err(|e| {
                    anyhow::anyhow!("polling the nfnetlink socket: {}", io_error(e))
                })?),
                Err(e) => {
                    warn!(
                        "no nftables change notifications ({e}): netfilter hooks are re-read \
                     every {RECHECK_INTERVAL:?} only"
                    );
                    None
                }
            };
        let mut flows = match flows.map(FlowKeeper::open) {
            Some(Ok(f)) => Ok(f),
            Some(Err(e)) => Err(format!("conntrack unavailable: {e:#}")),
            None => Err("no flow map".to_owned()),
        };
        if let Err(e) = &flows {
            warn!(
                "no accepted-flow path ({e}): under a stateful ruleset every frame goes to \
                 the kernel"
            );
        }
        let mut decision = evaluate(setting, flows.as_ref().err().cloned()).await;
        if let Err(e) = apply(&mut map, flows.as_mut().ok(), None, &decision) {
            if decision.mode != ForwardMode::AcceptedFlow {
                return Err(e);
            }
            // Conntrack would not let us admit the flows: the kernel path, for good.
            warn!("accepted-flow path unavailable: {e:#}");
            flows = Err(format!("conntrack unavailable: {e:#}"));
            decision = evaluate(setting, flows.as_ref().err().cloned()).await;
            apply(&mut map, None, None, &decision)?;
        }
        *status.lock().unwrap_or_else(|e| e.into_inner()) = decision.describe();
        Ok(Keeper {
            map,
            flows,
            nft,
            current: decision,
            status,
        })
    }

    async fn run(mut self, mut setting: watch::Receiver<Setting>) {
        let mut tick = tokio::time::interval(RECHECK_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if let Ok(f) = &mut self.flows {
                        if let Err(e) = f.refresh(Instant::now()) {
                            self.lose_flows(e);
                        }
                    }
                    self.show();
                }
                changed = setting.changed() => {
                    if changed.is_err() {
                        return; // the keeper is gone
                    }
                }
                ready = readable(&self.nft) => {
                    self.ruleset_changed(ready).await;
                }
                ready = flow_events(&self.flows) => {
                    let handled = ready.and_then(|()| match &mut self.flows {
                        Ok(f) => f.handle_events(),
                        Err(_) => Ok(()),
                    });
                    if let Err(e) = handled {
                        self.lose_flows(e);
                    }
                    continue; // the rules did not change
                }
            }
            let now = *setting.borrow();
            let decision = evaluate(now, self.flows.as_ref().err().cloned()).await;
            if decision != self.current {
                let old = self.current.clone();
                let flows = self.flows.as_mut().ok();
                if let Err(e) = apply(&mut self.map, flows, Some(&old), &decision) {
                    if decision.mode == ForwardMode::AcceptedFlow {
                        self.lose_flows(e); // the next pass decides without it
                    } else {
                        warn!("{e:#}");
                    }
                    continue;
                }
                self.current = decision;
                self.show();
            }
        }
    }

    /// Publishes the decision for `hsrpd status`, with the number of flows on the fast
    /// path in accepted-flow mode.
    fn show(&self) {
        let mut line = self.current.describe();
        if let (ForwardMode::AcceptedFlow, Ok(f)) = (self.current.mode, &self.flows) {
            let n = f.admitted();
            let s = if n == 1 { "" } else { "s" };
            line.push_str(&format!(" ({n} flow{s} in XDP now)"));
        }
        *self.status.lock().unwrap_or_else(|e| e.into_inner()) = line;
    }

    /// A ruleset change was notified: flows admitted under the old rules leave the fast
    /// path at once (the kernel path until the rules are read again), then the caller
    /// decides anew.
    async fn ruleset_changed(&mut self, ready: Result<()>) {
        match ready {
            Ok(()) => {
                if self.current.mode == ForwardMode::AcceptedFlow {
                    let interim = Decision {
                        mode: ForwardMode::Kernel,
                        reason: "the ruleset changed; reading it again".into(),
                        forced_over_hooks: false,
                    };
                    let old = self.current.clone();
                    match apply(
                        &mut self.map,
                        self.flows.as_mut().ok(),
                        Some(&old),
                        &interim,
                    ) {
                        Ok(()) => self.current = interim,
                        Err(e) => warn!("{e:#}"),
                    }
                }
                tokio::time::sleep(SETTLE).await;
            }
            Err(e) => {
                // Without the socket, the periodic check remains.
                warn!(
                    "nftables notifications failed ({e:#}); re-reading the hooks every \
                     {RECHECK_INTERVAL:?} only"
                );
                self.nft = None;
            }
        }
        if let Some(Err(e)) = self.nft.as_ref().map(|ev| ev.get_ref().drain()) {
            // A socket that keeps failing would wake us at once, again and again.
            warn!("{e}; re-reading the hooks every {RECHECK_INTERVAL:?} only");
            self.nft = None;
        }
    }

    /// The flow keeper failed: the accepted-flow path is off for good (kernel path), the
    /// mode written before the map is left as it is.
    fn lose_flows(&mut self, e: anyhow::Error) {
        warn!("accepted-flow path stopped: {e:#}");
        if self.current.mode == ForwardMode::AcceptedFlow {
            if let Err(e) = self.map.set(ForwardMode::Kernel) {
                warn!("{e:#}");
            }
            self.current.mode = ForwardMode::Kernel;
        }
        if let Ok(f) = &mut self.flows {
            let _ = f.disable();
        }
        self.flows = Err(format!("stopped after an error: {e:#}"));
    }
}

/// Waits until conntrack events are queued (never, without a flow keeper).
async fn flow_events(flows: &std::result::Result<FlowKeeper, String>) -> Result<()> {
    match flows {
        Ok(f) => f.readable().await,
        Err(_) => std::future::pending().await,
    }
}

/// Waits until the notification socket is readable (never, without one).
async fn readable(events: &Option<AsyncFd<NftablesEvents>>) -> Result<()> {
    match events {
        Some(ev) => {
            let mut guard = ev.readable().await.context("nfnetlink socket")?;
            guard.clear_ready();
            Ok(())
        }
        None => std::future::pending().await,
    }
}

/// Reads the hooks and, when some see forwarded traffic and the accepted-flow path is
/// available (`no_flows` says why not), the ruleset (off the event loop: a few blocking
/// netlink round trips), and decides.
async fn evaluate(setting: Setting, no_flows: Option<String>) -> Decision {
    let read = tokio::task::spawn_blocking(move || {
        let mut hooks = dump_nft_base_chains().map_err(|e| e.to_string())?;
        hooks.extend(xtables_tables());
        let links = link_names();
        match dump_hooks(&hook_queries(&links)) {
            Ok(more) => hooks.extend(more),
            // Without the hook dump the two sources above remain (BPF netfilter programs
            // are then not seen; see docs/security.md).
            Err(e) if hook_dump_unsupported(&e) => {}
            Err(e) => return Err(e.to_string()),
        }
        let ruleset = match no_flows {
            _ if hooks.is_empty() || setting != Setting::Auto => None,
            Some(why) => Some(Err(why)),
            None => Some(dump_ruleset().map_err(|e| format!("cannot read the ruleset: {e}"))),
        };
        Ok((hooks, ruleset))
    })
    .await
    .unwrap_or_else(|e| Err(format!("hook reader failed: {e}")));
    match &read {
        Ok((hooks, ruleset)) => {
            let rs = ruleset.as_ref().map(|r| r.as_ref().map_err(Clone::clone));
            decide_with(setting, Ok(hooks), rs)
        }
        Err(e) => decide(setting, Err(e.as_str())),
    }
}

/// Writes the decision when the mode changes, and logs every change of mode or reason.
/// Into the accepted-flow path: the flows are admitted before the mode is written; out of
/// it: the mode is written before the flows are removed. Either way no frame meets a map
/// filled under another ruleset.
fn apply(
    map: &mut FwdModeMap,
    flows: Option<&mut FlowKeeper>,
    old: Option<&Decision>,
    new: &Decision,
) -> Result<()> {
    let was_accepted = old.map(|o| o.mode) == Some(ForwardMode::AcceptedFlow);
    if old.map(|o| o.mode) != Some(new.mode) {
        match (new.mode, flows) {
            (ForwardMode::AcceptedFlow, Some(f)) => {
                if let Err(e) = f.enable() {
                    map.set(ForwardMode::Kernel)?;
                    return Err(e);
                }
                map.set(new.mode)?;
            }
            (ForwardMode::AcceptedFlow, None) => map.set(ForwardMode::Kernel)?,
            (mode, f) => {
                map.set(mode)?;
                if let (true, Some(f)) = (was_accepted, f) {
                    f.disable()?;
                }
            }
        }
    }
    if new.forced_over_hooks {
        warn!(
            "DATA PLANE BYPASSES THE FIREWALL: {} — frames through the virtual IP skip these \
             rules (set `fast-path auto` to obey them)",
            new.describe()
        );
    } else if new.mode == ForwardMode::Kernel {
        info!("forwarding through the kernel: {}", new.describe());
    } else if new.mode == ForwardMode::AcceptedFlow {
        info!("forwarding established flows in XDP: {}", new.describe());
    } else {
        info!("forwarding in XDP: {}", new.describe());
    }
    Ok(())
}

/// Every interface name of the namespace (none if they cannot be listed).
fn link_names() -> Vec<String> {
    crate::net::interfaces()
        .map(|links| links.into_iter().map(|l| l.name).collect())
        .unwrap_or_default()
}

fn io_error(e: tokio::io::unix::AsyncFdRegisterError<NftablesEvents>) -> std::io::Error {
    e.into()
}
