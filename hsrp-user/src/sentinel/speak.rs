//! What the sentinel does once its input has ended: nothing after a disarm; otherwise each
//! Resign frame twice, [`REPEAT_GAP`] apart, one socket per interface, then the netlink
//! cleanup requests, with a line per outcome. The kernel is behind [`Kernel`], so the
//! decisions are tested with a fake.

use std::time::Duration;

use super::message::{LastWord, Verdict};

/// Gap between the two copies of each frame.
pub(super) const REPEAT_GAP: Duration = Duration::from_millis(1);

/// The sentinel's only ways to act.
pub(super) trait Kernel {
    type Socket;
    /// A send-only packet socket on `ifindex`.
    fn open(&mut self, ifindex: u32) -> Result<Self::Socket, String>;
    fn send(&mut self, socket: &Self::Socket, frame: &[u8]) -> Result<(), String>;
    /// One netlink request; `Ok(false)`: the kernel had nothing to remove.
    fn request(&mut self, netlink: &[u8]) -> Result<bool, String>;
    fn pause(&mut self, gap: Duration);
}

/// Acts on `verdict` and returns the lines to log, in order.
pub(super) fn speak<K: Kernel>(
    verdict: Verdict,
    cleanup: &[Vec<u8>],
    kernel: &mut K,
) -> Vec<String> {
    let Verdict::Died(words) = verdict else {
        return Vec::new();
    };
    let mut log = resign(&words, kernel);
    for request in cleanup {
        log.push(match kernel.request(request) {
            Ok(_) => "hsrpd died: removed a local route of an accept group".to_string(),
            Err(e) => format!("hsrpd died: removing a local route: {e}"),
        });
    }
    log
}

/// Sends each Resign frame twice, [`REPEAT_GAP`] apart, and says what was sent.
fn resign<K: Kernel>(words: &[LastWord], kernel: &mut K) -> Vec<String> {
    let mut log = Vec::new();
    if words.is_empty() {
        return log;
    }
    // Per interface, its socket (None: it could not be opened, do not retry).
    let mut sockets: Vec<(u32, Option<K::Socket>)> = Vec::new();
    // Per frame: did any copy go out.
    let mut sent = vec![false; words.len()];
    for round in 0..2 {
        if round > 0 {
            kernel.pause(REPEAT_GAP);
        }
        for (k, w) in words.iter().enumerate() {
            let at = match sockets.iter().position(|(i, _)| *i == w.ifindex) {
                Some(at) => at,
                None => {
                    let s = kernel
                        .open(w.ifindex)
                        .map_err(|e| {
                            log.push(format!("hsrpd sentinel: ifindex {}: {e}", w.ifindex))
                        })
                        .ok();
                    sockets.push((w.ifindex, s));
                    sockets.len() - 1
                }
            };
            let Some(socket) = &sockets[at].1 else {
                continue;
            };
            match kernel.send(socket, &w.frame) {
                Ok(()) => sent[k] = true,
                Err(e) => log.push(format!("hsrpd sentinel: {}: sending Resign: {e}", w.label)),
            }
        }
    }
    for (w, sent) in words.iter().zip(sent) {
        log.push(if sent {
            format!("hsrpd died: sent Resign for {}", w.label)
        } else {
            format!("hsrpd died: could not send Resign for {}", w.label)
        });
    }
    log
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records every call; fails opening the interfaces in `dead` and the sends of frames
    /// whose first byte is in `refused`.
    #[derive(Default)]
    struct Fake {
        dead: Vec<u32>,
        refused: Vec<u8>,
        calls: Vec<String>,
    }

    impl Kernel for Fake {
        type Socket = u32;
        fn open(&mut self, ifindex: u32) -> Result<u32, String> {
            self.calls.push(format!("open {ifindex}"));
            if self.dead.contains(&ifindex) {
                return Err("No such device".into());
            }
            Ok(ifindex)
        }
        fn send(&mut self, socket: &u32, frame: &[u8]) -> Result<(), String> {
            self.calls.push(format!("send {socket} {}", frame[0]));
            if self.refused.contains(&frame[0]) {
                return Err("Network is down".into());
            }
            Ok(())
        }
        fn request(&mut self, netlink: &[u8]) -> Result<bool, String> {
            self.calls.push(format!("netlink {}", netlink[0]));
            if netlink[0] == 0 {
                return Err("Operation not permitted".into());
            }
            Ok(true)
        }
        fn pause(&mut self, gap: Duration) {
            self.calls.push(format!("pause {}", gap.as_micros()));
        }
    }

    fn word(ifindex: u32, label: &str, first: u8) -> LastWord {
        let mut frame = vec![0u8; 62];
        frame[0] = first;
        LastWord {
            ifindex,
            label: label.into(),
            frame,
        }
    }

    #[test]
    fn a_disarmed_sentinel_does_nothing() {
        let mut k = Fake::default();
        let log = speak(Verdict::Disarmed, &[vec![1u8; 20]], &mut k);
        assert!(log.is_empty(), "{log:?}");
        assert!(k.calls.is_empty(), "{:?}", k.calls);
    }

    #[test]
    fn each_frame_goes_twice_a_gap_apart_on_one_socket_per_interface() {
        let mut k = Fake::default();
        let words = vec![
            word(3, "lan0 grp 1", 1),
            word(3, "lan0 grp 2", 2),
            word(5, "lan1 grp 1", 3),
        ];
        let log = speak(Verdict::Died(words), &[], &mut k);
        assert_eq!(
            k.calls,
            [
                "open 3",
                "send 3 1",
                "send 3 2",
                "open 5",
                "send 5 3",
                "pause 1000",
                "send 3 1",
                "send 3 2",
                "send 5 3",
            ]
        );
        assert_eq!(
            log,
            [
                "hsrpd died: sent Resign for lan0 grp 1",
                "hsrpd died: sent Resign for lan0 grp 2",
                "hsrpd died: sent Resign for lan1 grp 1",
            ]
        );
    }

    #[test]
    fn a_missing_interface_is_tried_once_and_the_others_still_resign() {
        let mut k = Fake {
            dead: vec![3],
            refused: vec![9],
            ..Fake::default()
        };
        let words = vec![
            word(3, "lan0 grp 1", 1),
            word(5, "lan1 grp 1", 9),
            word(5, "lan1 grp 2", 2),
        ];
        let log = speak(
            Verdict::Died(words),
            &[vec![7u8; 20], vec![0u8; 20]],
            &mut k,
        );
        assert_eq!(
            k.calls.iter().filter(|c| *c == "open 3").count(),
            1,
            "{:?}",
            k.calls
        );
        assert_eq!(
            k.calls.iter().filter(|c| c.starts_with("send 5")).count(),
            4
        );
        assert_eq!(
            log,
            [
                "hsrpd sentinel: ifindex 3: No such device",
                "hsrpd sentinel: lan1 grp 1: sending Resign: Network is down",
                "hsrpd sentinel: lan1 grp 1: sending Resign: Network is down",
                "hsrpd died: could not send Resign for lan0 grp 1",
                "hsrpd died: could not send Resign for lan1 grp 1",
                "hsrpd died: sent Resign for lan1 grp 2",
                "hsrpd died: removed a local route of an accept group",
                "hsrpd died: removing a local route: Operation not permitted",
            ]
        );
        // The cleanup comes after every Resign.
        let first_netlink = k
            .calls
            .iter()
            .position(|c| c.starts_with("netlink"))
            .unwrap();
        assert!(k.calls[..first_netlink]
            .iter()
            .all(|c| !c.starts_with("netlink")));
        assert!(k.calls[first_netlink..]
            .iter()
            .all(|c| c.starts_with("netlink")));
    }

    #[test]
    fn a_death_without_last_words_still_cleans_up() {
        let mut k = Fake::default();
        let log = speak(Verdict::Died(vec![]), &[vec![7u8; 20]], &mut k);
        assert_eq!(k.calls, ["netlink 7"]);
        assert_eq!(
            log,
            ["hsrpd died: removed a local route of an accept group"]
        );
    }
}
