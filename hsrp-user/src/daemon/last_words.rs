//! Keeping the sentinel's last words current (see `sentinel`): after a group's actions were
//! carried out, its would-be Resign is compared with the one last handed to the sentinel;
//! when any changed (a group became or stopped being Active, its priority, timers or VIP
//! changed), the whole set is rebuilt and written once, at the end of the loop iteration.

use log::error;

use super::actions::{group_frame, FRAME_BUF};
use super::Daemon;
use crate::proto::{GroupMessage, Opcode, State, Version};
use crate::sentinel::LastWord;

impl Daemon {
    /// The Resign group `gi` would send if it stopped now: `None` unless it is Active.
    /// Exactly the state machine's Resign (`Group::go_initial`); a following group sends
    /// none (it has no election of its own).
    fn resign_message(&self, gi: usize) -> Option<GroupMessage> {
        let g = &self.groups[gi];
        if g.fsm.state() != State::Active || g.fsm.follows() {
            return None;
        }
        let t = g.fsm.timers();
        let version = g.fsm.config().version;
        Some(GroupMessage {
            version,
            opcode: Opcode::Resign,
            state: State::Active,
            group: g.key.group,
            priority: g.fsm.priority(),
            hello_ms: u32::try_from(t.hello.as_millis()).unwrap_or(u32::MAX),
            hold_ms: u32::try_from(t.hold.as_millis()).unwrap_or(u32::MAX),
            vip: g.fsm.vip(),
            identifier: (version == Version::V2).then_some(self.ifaces[g.iface].info.mac),
        })
    }

    /// After group `gi`'s actions: note whether its last words changed.
    pub(super) fn note_last_words(&mut self, gi: usize) {
        if self.sentinel.is_none() || self.last_words_dirty {
            return;
        }
        let now = self.resign_message(gi);
        if self.last_words.get(gi) != Some(&now) {
            self.last_words_dirty = true;
        }
    }

    /// Writes the last words to the sentinel if they changed since the last write.
    pub(super) fn sync_last_words(&mut self) {
        if !self.last_words_dirty || self.sentinel.is_none() {
            return;
        }
        self.last_words_dirty = false;
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
                    label: format!("{} grp {}", g.key.iface, g.key.group),
                    frame: frame[..n].to_vec(),
                }),
                Err(e) => error!(
                    "{} grp {}: cannot encode the sentinel's Resign: {e}",
                    g.key.iface, g.key.group
                ),
            }
        }
        self.last_words = messages;
        if let Some(s) = self.sentinel.as_mut() {
            s.arm(words);
        }
    }
}
