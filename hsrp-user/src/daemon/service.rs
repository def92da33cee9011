//! Talking to the service manager (systemd `Type=notify`): `READY=1` once every group
//! runs, `WATCHDOG=1` from the event loop at half the watchdog timeout, `STOPPING=1` at
//! the start of a graceful stop. Without `NOTIFY_SOCKET` all of it is a no-op.

use std::time::Duration;

use log::{debug, warn};

use crate::net::{self, Notifier};

pub(super) struct ServiceManager {
    notifier: Option<Notifier>,
    /// How often the loop pings the watchdog (half its timeout), when there is one.
    watchdog_period: Option<Duration>,
}

impl ServiceManager {
    pub(super) fn from_env() -> ServiceManager {
        let notifier = match Notifier::from_env() {
            Ok(n) => n,
            Err(e) => {
                warn!("NOTIFY_SOCKET: {e}; not notifying the service manager");
                None
            }
        };
        let watchdog_period = notifier
            .as_ref()
            .and(net::watchdog_timeout())
            .map(|t| t / 2);
        ServiceManager {
            notifier,
            watchdog_period,
        }
    }

    pub(super) fn watchdog_period(&self) -> Option<Duration> {
        self.watchdog_period
    }

    pub(super) fn ready(&self, status: &str) {
        self.send(&format!("READY=1\nSTATUS={status}"));
    }

    pub(super) fn watchdog(&self) {
        self.send("WATCHDOG=1");
    }

    pub(super) fn stopping(&self) {
        self.send("STOPPING=1\nSTATUS=stopping: handing over");
    }

    fn send(&self, message: &str) {
        if let Some(n) = &self.notifier {
            if let Err(e) = n.notify(message) {
                debug!("service manager notification failed: {e}");
            }
        }
    }
}
