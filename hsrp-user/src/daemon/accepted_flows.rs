//! Keeps `HSRP_FLOWS` equal to the flows conntrack holds as established (those
//! `accepted_flow::admission` admits) while the accepted-flow path is on, and keeps
//! conntrack truthful about them.
//!
//! - Admission: from conntrack's events (new, update, destroy) and a dump when the path
//!   turns on. Before a flow's keys go into the map its entry is updated: its timeout set
//!   to the configured one for its state (the flow just carried a packet) and, for TCP,
//!   window tracking made liberal in both directions, as the kernel's own flowtable does:
//!   conntrack will not see the segments XDP forwards, and must not call the FIN or RST
//!   that closes the connection out of window.
//! - Removal: on destroy, and on an update that no longer admits the flow (TCP leaving
//!   ESTABLISHED: the FIN went through the kernel), and when the path turns off (the map
//!   is emptied: `daemon::fast_path` writes the mode first).
//! - Refresh: every [`super::fast_path::RECHECK_INTERVAL`], each flow XDP forwarded
//!   anything of since the last pass gets its timeout set again; a flow it forwarded
//!   nothing of whose entry is about to expire leaves the map (the kernel decides whether
//!   it lives on). Lost events (the socket overran) empty the map and read the table again.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use log::{debug, warn};
use tokio::io::unix::AsyncFd;

use crate::accepted_flow::{
    admission, CtEntry, CtTuple, TimeoutKind, EXPIRY_MARGIN_S, MIN_TIMEOUT_S,
};
use crate::dataplane::flows::FlowMap;
use crate::net::ctnetlink::{timeout, Conntrack, CtEvent, CtEvents};

/// Datagrams read per wake-up at most (each holds one or a few events).
const EVENT_BATCH: usize = 256;

/// One admitted flow.
struct Admitted {
    kind: TimeoutKind,
    /// What the program had forwarded of it at the last pass.
    packets: u64,
    /// When its conntrack entry expires unless refreshed.
    expires: Instant,
}

/// The flows on the fast path and the sockets that keep them.
pub struct FlowKeeper {
    map: FlowMap,
    ct: Conntrack,
    events: AsyncFd<CtEvents>,
    admitted: HashMap<CtTuple, Admitted>,
    on: bool,
    /// The last drain stopped at its limit: more events are queued (the socket's
    /// readiness was already consumed).
    pending: bool,
}

impl FlowKeeper {
    /// Subscribes to conntrack's events (before any dump, so nothing falls between) and
    /// empties the map. Off until [`FlowKeeper::enable`].
    pub fn open(mut map: FlowMap) -> Result<FlowKeeper> {
        let events = CtEvents::subscribe()?;
        // SAFETY: CtEvents owns its socket for its whole life and always returns the same
        // descriptor; it closes it only when dropped.
        let events = unsafe { AsyncFd::register(events) }.map_err(|e| {
            anyhow!(
                "polling the conntrack event socket: {}",
                std::io::Error::from(e)
            )
        })?;
        map.clear()?;
        Ok(FlowKeeper {
            map,
            ct: Conntrack::open()?,
            events,
            admitted: HashMap::new(),
            on: false,
            pending: false,
        })
    }

    /// Turns admission on: empties the map, then admits every established flow of the
    /// table. The caller writes the accepted-flow mode after this returns.
    pub fn enable(&mut self) -> Result<()> {
        self.flush()?;
        self.on = true;
        // The dump below covers what is queued (an overrun too).
        let _ = self.events.get_ref().drain(usize::MAX);
        self.pending = false;
        let entries = self.ct.dump()?;
        let now = Instant::now();
        for e in &entries {
            self.admit(e, now)?;
        }
        debug!(
            "accepted-flow path on: {} flows admitted",
            self.admitted.len()
        );
        Ok(())
    }

    /// Turns admission off and empties the map (the caller wrote another mode first).
    pub fn disable(&mut self) -> Result<()> {
        self.on = false;
        self.flush()
    }

    fn flush(&mut self) -> Result<()> {
        self.admitted.clear();
        self.map.clear()
    }

    /// Waits until conntrack events are queued.
    pub async fn readable(&self) -> Result<()> {
        if self.pending {
            return Ok(());
        }
        let mut guard = self.events.readable().await?;
        guard.clear_ready();
        Ok(())
    }

    /// Applies the queued events (discards them while off).
    pub fn handle_events(&mut self) -> Result<()> {
        let Ok((events, more)) = self.events.get_ref().drain(EVENT_BATCH) else {
            warn!("conntrack events were lost; re-reading the conntrack table");
            self.pending = false;
            return if self.on { self.enable() } else { Ok(()) };
        };
        self.pending = more;
        if !self.on {
            return Ok(());
        }
        let now = Instant::now();
        for ev in events {
            match ev {
                CtEvent::New(e) | CtEvent::Update(e) => self.admit(&e, now)?,
                CtEvent::Destroy(e) => self.remove(&e.orig)?,
            }
        }
        Ok(())
    }

    /// Admits `e`'s flow, updates an admitted one, or removes one that no longer
    /// qualifies.
    fn admit(&mut self, e: &CtEntry, now: Instant) -> Result<()> {
        let kind = match admission(e) {
            Ok(kind) => kind,
            Err(_) => return self.remove(&e.orig),
        };
        if let Some(a) = self.admitted.get_mut(&e.orig) {
            a.kind = kind;
            if let Some(t) = e.timeout {
                a.expires = now + Duration::from_secs(t.into());
            }
            return Ok(());
        }
        let Some(secs) = timeout(kind).filter(|t| *t >= MIN_TIMEOUT_S) else {
            return Ok(()); // a timeout the refresh cannot keep: the kernel keeps the flow
        };
        if !self.ct.refresh(&e.orig, secs)? {
            return Ok(()); // gone meanwhile
        }
        self.map.insert(&e.orig)?;
        self.admitted.insert(
            e.orig,
            Admitted {
                kind,
                packets: 0,
                expires: now + Duration::from_secs(secs.into()),
            },
        );
        Ok(())
    }

    fn remove(&mut self, orig: &CtTuple) -> Result<()> {
        if self.admitted.remove(orig).is_some() {
            self.map.remove(orig)?;
        }
        Ok(())
    }

    /// One refresh pass (see the module documentation).
    pub fn refresh(&mut self, now: Instant) -> Result<()> {
        if !self.on {
            return Ok(());
        }
        let margin = Duration::from_secs(EXPIRY_MARGIN_S.into());
        let mut gone = Vec::new();
        for (orig, a) in self.admitted.iter_mut() {
            let packets = self.map.packets(orig);
            if packets != a.packets {
                a.packets = packets;
                let secs = timeout(a.kind).unwrap_or(0);
                if secs >= MIN_TIMEOUT_S && self.ct.refresh(orig, secs)? {
                    a.expires = now + Duration::from_secs(secs.into());
                    continue;
                }
                gone.push(*orig);
            } else if a.expires.saturating_duration_since(now) < margin {
                gone.push(*orig);
            }
        }
        for orig in gone {
            self.remove(&orig)?;
        }
        Ok(())
    }

    /// Flows on the fast path now.
    pub fn admitted(&self) -> usize {
        self.admitted.len()
    }
}
