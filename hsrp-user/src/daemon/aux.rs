//! The daemon's two runtimes. The timer thread (the thread that calls `run`) runs the
//! loop: timers, hellos, received frames, netlink events, the state machines. The slow work
//! that must never make a hello wait runs on the `hsrpd-aux` thread instead: the status
//! socket (accepting, reading, JSON encoding, writing), the metrics endpoint
//! (`--metrics-listen`: HTTP parsing, rendering), the next-hop cache keeper (its
//! netlink dumps and map writes) and reading a configuration on SIGHUP. The loop only
//! exchanges messages with it. In real-time mode only the timer thread is real-time.

use anyhow::{Context, Result};
use tokio::runtime::Runtime;

use super::realtime::{MAX_BLOCKING_THREADS, THREAD_STACK};

/// Name of the slow-work thread (as `/proc/PID/task/*/comm` shows it).
pub const AUX_THREAD: &str = "hsrpd-aux";

/// Every thread a runtime starts (workers, blocking pool) holds only `keep`, the
/// capabilities the daemon keeps after start-up: these threads never need more (the data
/// plane is loaded and attached on the calling thread), and a thread started before the
/// calling thread drops its own (e.g. the blocking thread that reads the netfilter hooks
/// at start and every second after) would otherwise keep them all for good.
fn least_privilege(keep: &'static [u32]) -> impl Fn() + Send + Sync + 'static {
    move || {
        if let Err(e) = crate::privileges::drop_to(keep) {
            log::warn!("cannot drop a runtime thread's capabilities: {e}");
        }
    }
}

/// The loop's runtime, driven by the calling thread.
pub fn timer_runtime(keep: &'static [u32]) -> Result<Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .on_thread_start(least_privilege(keep))
        .enable_all()
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .thread_stack_size(THREAD_STACK)
        .build()
        .context("starting the tokio runtime")
}

/// The slow-work runtime: one worker thread of its own, at normal priority.
pub fn aux_runtime(keep: &'static [u32]) -> Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .on_thread_start(least_privilege(keep))
        .worker_threads(1)
        .thread_name(AUX_THREAD)
        .enable_all()
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .thread_stack_size(THREAD_STACK)
        .build()
        .context("starting the tokio runtime for slow work")
}
