//! Real-time mode (`hsrpd realtime priority N` in the configuration, `hsrpd run
//! --realtime[=N]`): the thread that runs the groups' timers and sends the hellos is
//! scheduled SCHED_FIFO at priority N and the process's memory is locked, so neither a
//! busy CPU nor a page fault delays a hello. Off by default.
//!
//! The bounds that keep a real-time hsrpd from taking the machine (docs/configuration.md,
//! "Real-time mode"):
//! - Only the timer thread is real-time. The slow work (status socket, next-hop cache,
//!   configuration loading) runs on the `hsrpd-aux` thread at normal priority, and every
//!   thread or process started later falls back to normal scheduling
//!   (`SCHED_RESET_ON_FORK`).
//! - RLIMIT_RTTIME: a real-time thread that runs [`RTTIME_SOFT`] without once sleeping
//!   gets SIGXCPU; our handler then demotes the timer thread to normal scheduling (logged
//!   by [`watch_demotion`]; a SIGHUP reload promotes it again). Should that not stop it,
//!   the kernel kills the process at [`RTTIME_HARD`] (the sentinel then resigns the Active
//!   groups).
//! - The kernel's real-time throttling (`kernel.sched_rt_runtime_us`, 95 % of each CPU
//!   by default) leaves the rest of the machine a share of every CPU in any case.
//! - Locked memory: mlockall(MCL_CURRENT | MCL_FUTURE) locks what the process maps, so
//!   the set of threads is fixed and small (the timer thread, one aux worker, at most
//!   [`MAX_BLOCKING_THREADS`] blocking helpers per runtime, each with a [`THREAD_STACK`]
//!   stack) and glibc keeps at most [`MALLOC_ARENAS`] malloc arenas; the locked size is
//!   logged at start (`VmLck`).

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Duration;

use anyhow::{bail, Result};
use log::{error, info};

/// Priority of `--realtime` without a value: above every normal thread and the kernel's
/// softirq threads (normal priority), below the kernel's threaded interrupt handlers
/// (SCHED_FIFO 50), which must keep delivering our frames.
pub const DEFAULT_PRIORITY: u8 = 20;
/// CPU time a real-time thread may run without sleeping before SIGXCPU demotes it. A
/// wake-up of 1000 groups takes well under 10 ms; a reload apply of 1000 groups tens.
pub const RTTIME_SOFT: Duration = Duration::from_millis(500);
/// ... and before the kernel kills the process.
pub const RTTIME_HARD: Duration = Duration::from_millis(1000);
/// Blocking-pool threads per tokio runtime (nothing in the daemon uses the pool on the
/// hot path; bounded so the locked stacks are).
pub const MAX_BLOCKING_THREADS: usize = 2;
/// Stack of every thread the runtimes start.
pub const THREAD_STACK: usize = 512 * 1024;
/// glibc malloc arenas at most (each thread would otherwise get its own).
pub const MALLOC_ARENAS: i32 = 2;

/// The timer thread's id, for the SIGXCPU handler (0: not real-time).
static TIMER_TID: AtomicI32 = AtomicI32::new(0);
/// Set by the SIGXCPU handler when it demoted the timer thread.
static DEMOTED: AtomicBool = AtomicBool::new(false);

/// What the timer thread runs as now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Realtime {
    /// `--realtime[=N]`: wins over the configuration.
    pub cli: Option<u8>,
    /// The priority applied (None: normal scheduling).
    pub applied: Option<u8>,
}

impl Realtime {
    /// The priority in force for a configuration asking for `configured`.
    pub fn wanted(&self, configured: Option<u8>) -> Option<u8> {
        self.cli.or(configured)
    }

    /// Makes the calling thread (the timer thread) real-time at `wanted`, or normal
    /// again; nothing when already so (except after a demotion, which is undone).
    pub fn set(&mut self, wanted: Option<u8>) -> Result<()> {
        let demoted = DEMOTED.swap(false, Ordering::SeqCst);
        if wanted == self.applied && !demoted {
            return Ok(());
        }
        match wanted {
            Some(priority) => enable(priority)?,
            None => disable(),
        }
        self.applied = wanted;
        Ok(())
    }
}

/// Bounds the threads and arenas whose memory real-time mode would lock. Called before
/// any thread starts, whether or not real-time mode is on (so turning it on at a reload
/// finds the same bounded process).
pub fn bound_memory() {
    // SAFETY: mallopt only sets a glibc tunable.
    unsafe { libc::mallopt(libc::M_ARENA_MAX, MALLOC_ARENAS) };
}

fn errno_text(what: &str) -> String {
    format!("{what}: {}", std::io::Error::last_os_error())
}

fn rlimit_rttime(soft: u64, hard: u64) -> Result<()> {
    let lim = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: setrlimit reads the struct we pass.
    if unsafe { libc::setrlimit(libc::RLIMIT_RTTIME, &lim) } != 0 {
        bail!(errno_text("setrlimit(RLIMIT_RTTIME)"));
    }
    Ok(())
}

/// SIGXCPU: the timer thread ran RTTIME_SOFT without sleeping. Only async-signal-safe
/// work here: one system call and two atomics.
extern "C" fn on_sigxcpu(_: libc::c_int) {
    let tid = TIMER_TID.load(Ordering::SeqCst);
    if tid != 0 {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: sched_setscheduler is a plain system call on a thread of ours.
        unsafe { libc::sched_setscheduler(tid, libc::SCHED_OTHER, &param) };
        DEMOTED.store(true, Ordering::SeqCst);
    }
}

fn install_sigxcpu_handler() -> Result<()> {
    // SAFETY: a zeroed sigaction with a handler that only makes a system call and
    // touches atomics.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigxcpu as *const () as usize;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        if libc::sigaction(libc::SIGXCPU, &sa, std::ptr::null_mut()) != 0 {
            bail!(errno_text("installing the SIGXCPU handler"));
        }
    }
    Ok(())
}

fn gettid() -> i32 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() }
}

fn enable(priority: u8) -> Result<()> {
    if !(1..=99).contains(&priority) {
        bail!("real-time priority {priority} is out of range (1-99)");
    }
    install_sigxcpu_handler()?;
    rlimit_rttime(
        RTTIME_SOFT.as_micros() as u64,
        RTTIME_HARD.as_micros() as u64,
    )?;
    TIMER_TID.store(gettid(), Ordering::SeqCst);
    let param = libc::sched_param {
        sched_priority: i32::from(priority),
    };
    // SAFETY: pid 0 is the calling thread; `param` is read only.
    let rc = unsafe {
        libc::sched_setscheduler(0, libc::SCHED_FIFO | libc::SCHED_RESET_ON_FORK, &param)
    };
    if rc != 0 {
        let err = std::io::Error::last_os_error();
        TIMER_TID.store(0, Ordering::SeqCst);
        if err.raw_os_error() == Some(libc::EPERM) {
            bail!(
                "real-time priority {priority}: SCHED_FIFO is not permitted ({err}): hsrpd \
                 needs CAP_SYS_NICE or an RLIMIT_RTPRIO of at least {priority} (and, in a \
                 cgroup with the cpu controller, a real-time budget); leave real-time mode \
                 off or grant it"
            );
        }
        bail!("real-time priority {priority}: sched_setscheduler(SCHED_FIFO): {err}");
    }
    // SAFETY: mlockall takes flags only.
    if unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE) } != 0 {
        let err = std::io::Error::last_os_error();
        disable();
        bail!(
            "real-time mode: locking memory (mlockall) failed ({err}): hsrpd needs \
             CAP_IPC_LOCK or an RLIMIT_MEMLOCK above its size; leave real-time mode off \
             or grant it"
        );
    }
    info!(
        "real-time mode: timer thread {} SCHED_FIFO priority {priority}, memory locked ({}), \
         RLIMIT_RTTIME {} ms soft / {} ms hard",
        gettid(),
        locked_memory().unwrap_or_else(|| "VmLck unknown".into()),
        RTTIME_SOFT.as_millis(),
        RTTIME_HARD.as_millis()
    );
    Ok(())
}

/// Back to normal scheduling, memory unlocked.
fn disable() {
    TIMER_TID.store(0, Ordering::SeqCst);
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: pid 0 is the calling thread; munlockall takes no arguments.
    unsafe {
        libc::sched_setscheduler(0, libc::SCHED_OTHER, &param);
        libc::munlockall();
    }
    let _ = rlimit_rttime(libc::RLIM_INFINITY, libc::RLIM_INFINITY);
    info!("real-time mode off: timer thread at normal priority, memory unlocked");
}

/// The `VmLck` line of /proc/self/status.
fn locked_memory() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmLck:"))
        .map(|v| format!("VmLck {}", v.trim()))
}

impl super::Daemon {
    /// Real-time mode as `wanted` for the calling (timer) thread, and the loop's wake-up
    /// timer to match: a timerfd in real-time mode, tokio's otherwise.
    pub(super) fn set_realtime(&mut self, wanted: Option<u8>) -> Result<()> {
        self.realtime.set(wanted)?;
        self.precise = match self.realtime.applied {
            None => None,
            Some(_) if self.precise.is_some() => self.precise.take(),
            Some(_) => match super::precise_timer::PreciseTimer::new() {
                Ok(t) => Some(t),
                Err(e) => {
                    log::warn!("real-time mode: no timerfd ({e}): wake-ups to the millisecond");
                    None
                }
            },
        };
        Ok(())
    }
}

/// Logs a demotion by the SIGXCPU handler (checked once a second on the aux runtime, so
/// a timer thread stuck in a loop is still reported).
pub async fn watch_demotion() {
    let mut reported = false;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let demoted = DEMOTED.load(Ordering::SeqCst);
        if demoted && !reported {
            error!(
                "real-time mode: the timer thread ran {} ms without sleeping and was demoted \
                 to normal scheduling; send SIGHUP to restore it",
                RTTIME_SOFT.as_millis()
            );
        }
        reported = demoted;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_wins_over_the_configuration() {
        let rt = Realtime {
            cli: Some(30),
            applied: None,
        };
        assert_eq!(rt.wanted(Some(10)), Some(30));
        assert_eq!(rt.wanted(None), Some(30));
        let rt = Realtime::default();
        assert_eq!(rt.wanted(Some(10)), Some(10));
        assert_eq!(rt.wanted(None), None);
    }

    #[test]
    fn out_of_range_priorities_are_refused_before_any_system_call() {
        let mut rt = Realtime::default();
        let err = rt.set(Some(0)).unwrap_err().to_string();
        assert!(err.contains("out of range (1-99)"), "{err}");
        let err = rt.set(Some(100)).unwrap_err().to_string();
        assert!(err.contains("out of range"), "{err}");
        assert_eq!(rt.applied, None);
        // Normal scheduling when already normal: nothing to do.
        rt.set(None).unwrap();
    }
}
