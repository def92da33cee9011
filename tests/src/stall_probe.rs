//! A witness for the machine itself during a benchmark's watch: a thread at real-time
//! priority that asks to wake every millisecond and records each wake-up that came later
//! than a threshold, with the wall-clock time, plus the steal time the kernel counted (the
//! time this VM's vCPUs wanted to run and the hypervisor ran someone else).
//!
//! Why: when two daemons on one VM declare a peer dead at the same millisecond, the
//! question is whether they stalled or the machine did. A real-time thread that does
//! nothing but sleep is late only when the CPU was not there to give it: a stall it
//! records at the same moment as a daemon's is the machine's, not the daemon's.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The most stalls one probe keeps (each is a line in a report).
const MAX_STALLS: usize = 200;
/// How often the probe asks to wake.
const TICK: Duration = Duration::from_millis(1);
/// The probe's SCHED_FIFO priority: above hsrpd's `--realtime` default, so a loaded
/// daemon cannot be what delays it.
const PRIORITY: i32 = 60;

#[derive(Debug, Clone, PartialEq)]
pub struct Stall {
    /// When the probe should have woken, UTC, `HH:MM:SS.mmm` (as hsrpd's log lines).
    pub at_utc: String,
    /// How much later than asked it woke.
    pub late_ms: f64,
}

#[derive(Debug, Clone)]
pub struct StallReport {
    pub stalls: Vec<Stall>,
    /// Whether the probe got real-time priority (without it, a busy CPU also delays it).
    pub realtime: bool,
    /// Steal time over the watch, all CPUs, in seconds (None where /proc/stat has none).
    pub steal_s: Option<f64>,
    pub largest_late_ms: f64,
}

pub struct StallProbe {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<(Vec<Stall>, bool, f64)>,
    steal_before: Option<u64>,
}

impl StallProbe {
    /// Starts the probe: wake-ups later than `threshold` are recorded.
    pub fn start(threshold: Duration) -> StallProbe {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let steal_before = read_steal_ticks();
        let thread = std::thread::spawn(move || {
            let realtime = make_realtime();
            let mut stalls = Vec::new();
            let mut largest = Duration::ZERO;
            while !flag.load(Ordering::Relaxed) {
                let asked = Instant::now();
                let asked_wall = SystemTime::now();
                std::thread::sleep(TICK);
                let late = asked.elapsed().saturating_sub(TICK);
                largest = largest.max(late);
                if late > threshold && stalls.len() < MAX_STALLS {
                    stalls.push(Stall {
                        at_utc: utc_clock(asked_wall + TICK),
                        late_ms: late.as_secs_f64() * 1e3,
                    });
                }
            }
            (stalls, realtime, largest.as_secs_f64() * 1e3)
        });
        StallProbe {
            stop,
            thread,
            steal_before,
        }
    }

    pub fn stop(self) -> StallReport {
        self.stop.store(true, Ordering::Relaxed);
        let (stalls, realtime, largest_late_ms) = self
            .thread
            .join()
            .unwrap_or_else(|_| (Vec::new(), false, f64::NAN));
        let steal_s = match (self.steal_before, read_steal_ticks()) {
            (Some(b), Some(a)) => Some(a.saturating_sub(b) as f64 / clock_ticks_per_s()),
            _ => None,
        };
        StallReport {
            stalls,
            realtime,
            steal_s,
            largest_late_ms,
        }
    }
}

impl StallReport {
    pub fn summary(&self) -> String {
        let listed: Vec<String> = self
            .stalls
            .iter()
            .take(10)
            .map(|s| format!("{} +{:.1} ms", s.at_utc, s.late_ms))
            .collect();
        format!(
            "machine probe ({}): {} wake-ups late by more than the threshold{}{}; largest \
             {:.1} ms; steal {}",
            if self.realtime {
                "SCHED_FIFO"
            } else {
                "normal priority: a busy CPU delays it too"
            },
            self.stalls.len(),
            if listed.is_empty() { "" } else { ": " },
            listed.join(", "),
            self.largest_late_ms,
            self.steal_s
                .map_or("not reported".to_string(), |s| format!("{s:.2} s")),
        )
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "realtime": self.realtime,
            "stalls": self.stalls.iter()
                .map(|s| serde_json::json!({"at_utc": s.at_utc, "late_ms": s.late_ms}))
                .collect::<Vec<_>>(),
            "largest_late_ms": self.largest_late_ms,
            "steal_s": self.steal_s,
            "summary": self.summary(),
        })
    }
}

fn make_realtime() -> bool {
    let param = libc::sched_param {
        sched_priority: PRIORITY,
    };
    // SAFETY: sets the calling thread's own policy; `param` is a valid sched_param.
    unsafe { libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_FIFO, &param) == 0 }
}

fn clock_ticks_per_s() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 {
        hz as f64
    } else {
        100.0
    }
}

fn read_steal_ticks() -> Option<u64> {
    steal_ticks(&std::fs::read_to_string("/proc/stat").ok()?)
}

/// The steal column (the 8th number) of /proc/stat's all-CPU `cpu` line.
pub fn steal_ticks(proc_stat: &str) -> Option<u64> {
    let line = proc_stat.lines().find(|l| l.starts_with("cpu "))?;
    line.split_whitespace().nth(8)?.parse().ok()
}

/// `HH:MM:SS.mmm` of a wall-clock time, UTC.
pub fn utc_clock(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let day_ms = (since.as_millis() % 86_400_000) as u64;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        day_ms / 3_600_000,
        day_ms / 60_000 % 60,
        day_ms / 1000 % 60,
        day_ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steal_is_the_eighth_number_of_the_cpu_line() {
        let stat = "cpu  4705 150 1120 16250 520 0 30 377 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n";
        assert_eq!(steal_ticks(stat), Some(377));
        assert_eq!(steal_ticks("cpu0 1 2 3\n"), None);
        assert_eq!(
            steal_ticks("cpu  1 2 3\n"),
            None,
            "an old kernel without steal"
        );
    }

    #[test]
    fn clock_is_utc_with_milliseconds() {
        let t = UNIX_EPOCH
            + Duration::from_millis(86_400_000 * 3 + 19 * 3_600_000 + 14 * 60_000 + 1467);
        assert_eq!(utc_clock(t), "19:14:01.467");
    }

    #[test]
    fn a_probe_on_a_stopped_thread_reports_what_it_saw() {
        // Whatever the machine does, the report is well formed: stalls listed are over
        // the threshold, and the largest lateness bounds each of them.
        let p = StallProbe::start(Duration::from_millis(5));
        std::thread::sleep(Duration::from_millis(30));
        let r = p.stop();
        assert!(r.stalls.iter().all(|s| s.late_ms > 5.0));
        assert!(r.stalls.iter().all(|s| s.late_ms <= r.largest_late_ms));
        assert!(r.summary().starts_with("machine probe"));
    }
}
