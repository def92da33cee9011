//! The loop's wake-up in real-time mode: a timerfd armed at the absolute deadline, instead
//! of tokio's timer wheel, which rounds every deadline up to the next millisecond. At 15 ms
//! hellos that millisecond is most of the room the jitter leaves (12-15 ms), so in
//! real-time mode, where the thread does run when the timer fires, it shows on the wire as
//! hellos ~1 ms late. Outside real-time mode the tokio timer is kept: a timerfd costs two
//! system calls per wake-up, and a normal thread is late by more than 1 ms under load
//! anyway.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use tokio::io::unix::AsyncFd;

/// A CLOCK_MONOTONIC timerfd registered with the loop's runtime.
#[derive(Debug)]
pub struct PreciseTimer {
    fd: AsyncFd<OwnedFd>,
}

impl PreciseTimer {
    /// Must be called inside the loop's tokio runtime.
    pub fn new() -> io::Result<PreciseTimer> {
        // SAFETY: timerfd_create with constant flags; the result is checked.
        let raw = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: the OwnedFd that the AsyncFd takes over always returns the same
        // descriptor and closes it only when dropped.
        let fd = unsafe { AsyncFd::register(fd) }.map_err(io::Error::from)?;
        Ok(PreciseTimer { fd })
    }

    /// Returns at `at` (at once if it has passed). `tokio::time::Instant` and the timerfd
    /// both run on CLOCK_MONOTONIC; the deadline is carried over as "now + remaining".
    pub async fn sleep_until(&self, at: tokio::time::Instant) -> io::Result<()> {
        let remaining = at.saturating_duration_since(tokio::time::Instant::now());
        if remaining.is_zero() {
            return Ok(());
        }
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes the timespec we pass.
        if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let nanos = now.tv_nsec as u128 + remaining.as_nanos();
        let value = libc::timespec {
            tv_sec: now.tv_sec + (nanos / 1_000_000_000) as libc::time_t,
            tv_nsec: (nanos % 1_000_000_000) as libc::c_long,
        };
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: value,
        };
        let fd = self.fd.get_ref().as_raw_fd();
        // SAFETY: arms our own timerfd with the spec above (absolute time).
        let rc = unsafe {
            libc::timerfd_settime(fd, libc::TFD_TIMER_ABSTIME, &spec, std::ptr::null_mut())
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        // Bounded: a readable timerfd yields its expiration count; a spurious readiness
        // (EAGAIN) waits again for the same deadline.
        loop {
            let mut guard = self.fd.readable().await?;
            let mut count = [0u8; 8];
            let read = guard.try_io(|fd| {
                // SAFETY: reads 8 bytes into `count` from our timerfd.
                let n = unsafe { libc::read(fd.as_raw_fd(), count.as_mut_ptr().cast(), 8) };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(())
                }
            });
            match read {
                Ok(result) => return result,
                Err(_would_block) => continue,
            }
        }
    }
}

/// The loop's sleep: the precise timer when there is one, tokio's otherwise (and should
/// the timerfd fail, tokio's for the rest of this wait).
pub async fn sleep_until(timer: Option<&PreciseTimer>, at: tokio::time::Instant) {
    if let Some(t) = timer {
        match t.sleep_until(at).await {
            Ok(()) => return,
            Err(e) => log::warn!("real-time mode: timerfd: {e}; using the tokio timer"),
        }
    }
    tokio::time::sleep_until(at).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn wakes_at_the_deadline_not_before_and_passed_deadlines_return_at_once() {
        let t = PreciseTimer::new().unwrap();
        let start = tokio::time::Instant::now();
        t.sleep_until(start + Duration::from_millis(20))
            .await
            .unwrap();
        // Never early: the timerfd fires at or after the absolute deadline.
        assert!(
            start.elapsed() >= Duration::from_millis(20),
            "{:?}",
            start.elapsed()
        );
        // Re-armed for a deadline that has passed: no wait at all (a hang would time the
        // test out, which is the failure).
        t.sleep_until(start).await.unwrap();
        // Twice in a row on the same timer: the first expiration was consumed.
        let again = tokio::time::Instant::now();
        t.sleep_until(again + Duration::from_millis(5))
            .await
            .unwrap();
        assert!(again.elapsed() >= Duration::from_millis(5));
        sleep_until(None, tokio::time::Instant::now()).await;
    }
}
