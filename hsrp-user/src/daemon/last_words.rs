//! Keeping the sentinel's last words current (see `sentinel`): after a group's actions were
//! carried out, its would-be Resign (the state machine's `Group::last_words`) is compared with the one last handed to the sentinel;
//! when any changed (a group became or stopped being Active, its priority, timers or VIP
//! changed), the whole set is rebuilt and written once, at the end of the loop iteration.

use log::error;

use super::actions::{group_frame, FRAME_BUF};
use super::Daemon;
use crate::proto::GroupMessage;
use crate::sentinel::{LastWord, Sentinel};

/// The sentinel and what it was last told.
pub(super) struct LastWords {
    /// Sends the Active groups' Resign if the daemon dies (`sentinel`); None: there is none.
    pub sentinel: Option<Sentinel>,
    /// Per group, the Resign last handed to the sentinel (`None`: not Active).
    said: Vec<Option<GroupMessage>>,
    /// Some group's last words may have changed: rewrite them at the end of the iteration.
    pub dirty: bool,
}

impl Default for LastWords {
    fn default() -> Self {
        LastWords {
            sentinel: None,
            said: Vec::new(),
            dirty: true,
        }
    }
}

impl Daemon {
    /// The Resign group `gi` would send if it stopped now (`Group::last_words`).
    fn resign_message(&self, gi: usize) -> Option<GroupMessage> {
        self.groups[gi].fsm.last_words()
    }

    /// After group `gi`'s actions: note whether its last words changed.
    pub(super) fn note_last_words(&mut self, gi: usize) {
        if self.last_words.sentinel.is_none() || self.last_words.dirty {
            return;
        }
        let now = self.resign_message(gi);
        if self.last_words.said.get(gi) != Some(&now) {
            self.last_words.dirty = true;
        }
    }

    /// Writes the last words to the sentinel if they changed since the last write.
    pub(super) fn sync_last_words(&mut self) {
        if let Some(s) = self.last_words.sentinel.as_mut() {
            if s.keep_running() {
                // A new sentinel knows nothing yet: the whole set, now.
                self.last_words.said.clear();
                self.last_words.dirty = true;
            }
            // A set that waited for room in the pipe goes once there is room.
            s.flush();
        }
        if !self.last_words.dirty || self.last_words.sentinel.is_none() {
            return;
        }
        self.last_words.dirty = false;
        let messages: Vec<Option<GroupMessage>> = (0..self.groups.len())
            .map(|gi| self.resign_message(gi))
            .collect();
        let mut words = Vec::new();
        for (gi, msg) in messages.iter().enumerate() {
            let Some(msg) = msg else { continue };
            let g = &self.groups[gi];
            let iface = &self.ifaces[g.iface];
            let mut frame = [0u8; FRAME_BUF];
            // From the interface MAC, as `Group::go_initial` sends it.
            match group_frame(
                msg,
                &g.fsm.config().auth,
                g.fsm.local_ip(),
                iface.info.mac,
                &mut frame,
            ) {
                Ok(n) => words.push(LastWord {
                    ifindex: iface.info.ifindex,
                    label: g.key.to_string(),
                    frame: frame[..n].to_vec(),
                }),
                Err(e) => error!("{}: cannot encode the sentinel's Resign: {e}", g.key),
            }
        }
        self.last_words.said = messages;
        if let Some(s) = self.last_words.sentinel.as_mut() {
            s.arm(words);
        }
    }
}
