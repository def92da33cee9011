//! Key lifetimes of key chains (`send-lifetime` / `accept-lifetime START END`), IOS syntax,
//! in UTC: `START` is `hh:mm:ss Month day year` or `hh:mm:ss day Month year`; `END` is
//! another such time, `duration SECONDS` or `infinite`. Pure: times are Unix seconds and the
//! caller says what time it is, so rollovers are tested with a clock the test controls.

/// When a key may be used: from `start` (inclusive) to `end` (exclusive; `None` = for ever).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifetime {
    pub start: u64,
    pub end: Option<u64>,
}

impl Lifetime {
    pub fn contains(&self, t: u64) -> bool {
        t >= self.start && self.end.is_none_or(|e| t < e)
    }

    /// The instants at which `contains` may change.
    pub fn edges(&self) -> impl Iterator<Item = u64> {
        std::iter::once(self.start).chain(self.end)
    }
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// The tokens after `send-lifetime` / `accept-lifetime`.
pub fn parse(toks: &[&str]) -> Result<Lifetime, String> {
    const USAGE: &str =
        "expected hh:mm:ss Month day year {hh:mm:ss Month day year | duration S | infinite}";
    if toks.len() < 4 {
        return Err(USAGE.into());
    }
    let start = time(&toks[..4])?;
    let end = match toks.get(4).map(|t| t.to_ascii_lowercase()).as_deref() {
        Some("infinite") if toks.len() == 5 => None,
        Some("duration") if toks.len() == 6 => {
            let s: u64 = toks[5]
                .parse()
                .ok()
                .filter(|s| (1..=2_147_483_646).contains(s))
                .ok_or_else(|| {
                    format!("duration must be 1-2147483646 seconds, not `{}`", toks[5])
                })?;
            Some(start + s)
        }
        Some(_) if toks.len() == 8 => Some(time(&toks[4..8])?),
        _ => return Err(USAGE.into()),
    };
    if end.is_some_and(|e| e <= start) {
        return Err("the lifetime ends before it starts".into());
    }
    Ok(Lifetime { start, end })
}

/// `hh:mm:ss Month day year` or `hh:mm:ss day Month year`, UTC, as Unix seconds.
fn time(t: &[&str]) -> Result<u64, String> {
    let bad = || format!("`{}` is not a time (hh:mm:ss Month day year)", t.join(" "));
    let hms: Vec<u64> = t[0]
        .split(':')
        .map(|p| p.parse::<u64>().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    let [h, m, s] = hms[..] else {
        return Err(bad());
    };
    if h > 23 || m > 59 || s > 59 {
        return Err(bad());
    }
    // A month name, or any prefix of one of at least 3 letters ("Dec", "Sept").
    let month_of = |w: &str| {
        let w = w.to_ascii_lowercase();
        (w.len() >= 3)
            .then(|| MONTHS.iter().position(|m| m.starts_with(&w)))
            .flatten()
            .map(|i| i as u32 + 1)
    };
    let (month, day) = match (month_of(t[1]), month_of(t[2])) {
        (Some(mo), None) => (mo, t[2]),
        (None, Some(mo)) => (mo, t[1]),
        _ => return Err(bad()),
    };
    let day: u32 = day.parse().map_err(|_| bad())?;
    let year: i64 = t[3].parse().map_err(|_| bad())?;
    if !(1970..=2099).contains(&year) || day == 0 || day > days_in_month(year, month) {
        return Err(bad());
    }
    let days = days_from_civil(year, month, day);
    Ok(days as u64 * 86_400 + h * 3600 + m * 60 + s)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the era algorithm: 400-year eras
/// of 146097 days, years starting in March so the leap day comes last).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ios_times_in_both_orders() {
        // 2026-12-02 10:00:00 UTC = 1796205600 (date -u -d ... +%s).
        assert_eq!(time(&["10:00:00", "Dec", "2", "2026"]), Ok(1_796_205_600));
        assert_eq!(
            time(&["10:00:00", "2", "december", "2026"]),
            Ok(1_796_205_600)
        );
        assert_eq!(time(&["00:00:00", "Jan", "1", "1970"]), Ok(0));
        assert_eq!(time(&["23:59:59", "Feb", "29", "2024"]), Ok(1_709_251_199));
        assert!(time(&["00:00:00", "Feb", "29", "2025"]).is_err());
        assert!(time(&["24:00:00", "Jan", "1", "2026"]).is_err());
        assert!(time(&["10:00", "Jan", "1", "2026"]).is_err());
        assert!(time(&["10:00:00", "Jnu", "1", "2026"]).is_err());
    }

    #[test]
    fn lifetimes() {
        let l = parse(&["10:00:00", "Dec", "2", "2026", "duration", "60"]).unwrap();
        assert_eq!(
            l,
            Lifetime {
                start: 1_796_205_600,
                end: Some(1_796_205_660)
            }
        );
        assert!(!l.contains(1_796_205_599));
        assert!(l.contains(1_796_205_600));
        assert!(l.contains(1_796_205_659));
        assert!(!l.contains(1_796_205_660));
        let inf = parse(&["10:00:00", "Dec", "2", "2026", "infinite"]).unwrap();
        assert_eq!(inf.end, None);
        assert!(inf.contains(u64::MAX));
        let two = parse(&[
            "10:00:00", "Dec", "2", "2026", "10:01:00", "2", "Dec", "2026",
        ])
        .unwrap();
        assert_eq!(two.end, Some(1_796_205_660));
        assert!(parse(&["10:00:00", "Dec", "2", "2026", "09:00:00", "Dec", "2", "2026"]).is_err());
        assert!(parse(&["10:00:00", "Dec", "2", "2026"]).is_err());
    }
}
