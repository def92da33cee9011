//! Running code inside a network namespace made with `ip netns add`.

use std::os::fd::AsRawFd;

/// Runs `f` on a fresh thread that has joined the network namespace `/run/netns/<name>`,
/// and returns its result. Sockets belong to the namespace of the thread that creates
/// them, and interface names, indexes and the FIB resolve there, so everything `f` opens
/// or looks up lives in that namespace; the calling thread stays where it is. Fails when
/// the namespace cannot be joined; a panic in `f` is re-raised here.
pub fn in_netns<T: Send>(name: &str, f: impl FnOnce() -> T + Send) -> std::io::Result<T> {
    let path = format!("/run/netns/{name}");
    std::thread::scope(|s| {
        let worker = s.spawn(move || {
            let file = std::fs::File::open(&path).map_err(|e| annotate(&path, e))?;
            // SAFETY: `file` is an open namespace file; setns only affects this thread,
            // which ends when `f` returns.
            if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                return Err(annotate(&path, std::io::Error::last_os_error()));
            }
            Ok(f())
        });
        worker
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

fn annotate(path: &str, e: std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("joining {path}: {e}"))
}
