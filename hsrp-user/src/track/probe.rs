//! The pure parts of the probed objects: what a tracked file's contents mean, and the
//! rise/fall counting of a tracked script (keepalived's `vrrp_script` semantics). The
//! daemon runs the scripts and reads the files; these decide the state.

/// The state a tracked file's contents give (`track N file PATH`): `up` or `1` is up,
/// `down` or `0` is down (case and surrounding white space ignored); anything else is not
/// a state (the caller counts it as down and says why).
pub fn file_state(contents: &str) -> Option<bool> {
    match contents.trim().to_ascii_lowercase().as_str() {
        "up" | "1" => Some(true),
        "down" | "0" => Some(false),
        _ => None,
    }
}

/// A script's results turned into a state: the first result decides at once; after that,
/// `rise` successes in a row bring a down object up and `fall` failures in a row take an
/// up object down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RiseFall {
    rise: u32,
    fall: u32,
    state: Option<bool>,
    /// Consecutive results disagreeing with `state`.
    streak: u32,
}

impl RiseFall {
    pub fn new(rise: u32, fall: u32) -> RiseFall {
        RiseFall {
            rise: rise.max(1),
            fall: fall.max(1),
            state: None,
            streak: 0,
        }
    }

    pub fn state(&self) -> Option<bool> {
        self.state
    }

    /// One result (`true`: the script exited 0 in time); returns the state after it.
    pub fn record(&mut self, success: bool) -> bool {
        match self.state {
            None => {
                self.state = Some(success);
                self.streak = 0;
            }
            Some(s) if s == success => self.streak = 0,
            Some(_) => {
                self.streak += 1;
                let needed = if success { self.rise } else { self.fall };
                if self.streak >= needed {
                    self.state = Some(success);
                    self.streak = 0;
                }
            }
        }
        self.state.unwrap_or(success)
    }
}

/// The return code of one IP SLA probe, as IOS names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlaCode {
    /// Answered within the threshold.
    Ok,
    /// Answered, but slower than the threshold.
    OverThreshold,
    /// No answer within the timeout.
    Timeout,
}

impl SlaCode {
    /// `rtt`: the time the reply took, `None` without a reply in time.
    pub fn of(rtt: Option<std::time::Duration>, threshold: std::time::Duration) -> SlaCode {
        match rtt {
            None => SlaCode::Timeout,
            Some(t) if t > threshold => SlaCode::OverThreshold,
            Some(_) => SlaCode::Ok,
        }
    }

    /// The state of a `track N ip sla N` object: `state` is up only for Ok,
    /// `reachability` for any answer.
    pub fn tracked_up(self, reachability: bool) -> bool {
        match self {
            SlaCode::Ok => true,
            SlaCode::OverThreshold => reachability,
            SlaCode::Timeout => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sla_codes_and_what_each_track_type_makes_of_them() {
        use std::time::Duration;
        let ms = Duration::from_millis;
        assert_eq!(SlaCode::of(Some(ms(3)), ms(100)), SlaCode::Ok);
        assert_eq!(SlaCode::of(Some(ms(100)), ms(100)), SlaCode::Ok);
        assert_eq!(SlaCode::of(Some(ms(101)), ms(100)), SlaCode::OverThreshold);
        assert_eq!(SlaCode::of(None, ms(100)), SlaCode::Timeout);
        assert!(SlaCode::Ok.tracked_up(false) && SlaCode::Ok.tracked_up(true));
        assert!(!SlaCode::OverThreshold.tracked_up(false));
        assert!(SlaCode::OverThreshold.tracked_up(true));
        assert!(!SlaCode::Timeout.tracked_up(false) && !SlaCode::Timeout.tracked_up(true));
    }

    #[test]
    fn file_contents() {
        assert_eq!(file_state("up\n"), Some(true));
        assert_eq!(file_state(" 1 "), Some(true));
        assert_eq!(file_state("DOWN"), Some(false));
        assert_eq!(file_state("0\n"), Some(false));
        assert_eq!(file_state(""), None);
        assert_eq!(file_state("2"), None);
        assert_eq!(file_state("upp"), None);
    }

    #[test]
    fn rise_and_fall_need_streaks() {
        let mut r = RiseFall::new(3, 2);
        assert!(r.record(true), "the first result decides");
        assert!(r.record(false), "one failure of two");
        assert!(r.record(true), "streak broken");
        assert!(r.record(false));
        assert!(!r.record(false), "two failures in a row");
        assert!(!r.record(true));
        assert!(!r.record(true));
        assert!(!r.record(false), "streak broken");
        assert!(!r.record(true));
        assert!(!r.record(true));
        assert!(r.record(true), "three successes in a row");
        let mut once = RiseFall::new(1, 1);
        assert!(!once.record(false));
        assert!(once.record(true));
    }
}
