//! Key chain lifetimes (`send-lifetime`, `accept-lifetime`): which key signs and which keys
//! are accepted, at times the test chooses; a rollover with an overlap window.

use hsrp_user::config;

/// 2026-12-02 10:00:00 UTC.
const T0: u64 = 1_796_205_600;

const CHAIN: &str = "\
key chain HSRP
 key 1
  key-string first-key
  send-lifetime 00:00:00 Jan 1 2026 10:00:00 Dec 2 2026
  accept-lifetime 00:00:00 Jan 1 2026 10:05:00 Dec 2 2026
 key 2
  key-string second-key
  send-lifetime 10:00:00 Dec 2 2026 infinite
  accept-lifetime 09:55:00 2 December 2026 infinite
interface eth0
 standby 1 ip 10.0.0.1
 standby 1 authentication md5 key-chain HSRP
";

#[test]
fn a_rollover_with_an_overlap_window() {
    let c = config::parse(CHAIN, "k.conf").unwrap_or_else(|e| panic!("{e}"));
    let chain = &c.key_chains["HSRP"];
    assert!(chain.has_lifetimes());
    let ids = |keys: Vec<(u32, &[u8])>| keys.into_iter().map(|k| k.0).collect::<Vec<_>>();
    // Well before: key 1 signs, only key 1 is accepted.
    assert_eq!(chain.send_key_at(T0 - 3600).map(|k| k.0), Some(1));
    assert_eq!(ids(chain.accept_keys_at(T0 - 3600)), vec![1]);
    // The 5 minutes before the rollover: still key 1 signing, key 2 accepted already.
    assert_eq!(chain.send_key_at(T0 - 1).map(|k| k.0), Some(1));
    assert_eq!(ids(chain.accept_keys_at(T0 - 1)), vec![1, 2]);
    // From the rollover: key 2 signs; key 1 still accepted for 5 minutes.
    assert_eq!(chain.send_key_at(T0), Some((2, &b"second-key"[..])));
    assert_eq!(ids(chain.accept_keys_at(T0 + 299)), vec![1, 2]);
    assert_eq!(ids(chain.accept_keys_at(T0 + 300)), vec![2]);
    // The edges the daemon wakes up for.
    assert_eq!(chain.next_change_after(T0 - 3600), Some(T0 - 300));
    assert_eq!(chain.next_change_after(T0 - 300), Some(T0));
    assert_eq!(chain.next_change_after(T0), Some(T0 + 300));
    assert_eq!(chain.next_change_after(T0 + 300), None);
    // Before any send-lifetime starts: no key may sign.
    assert_eq!(chain.send_key_at(1_700_000_000), None);
}

#[test]
fn bad_lifetimes_are_refused_with_their_line() {
    let text = "key chain K\n key 1\n  key-string a\n  send-lifetime 10:00:00 Dec 2 2026 09:00:00 Dec 2 2026\n  \
                accept-lifetime 10:00:00 Dex 2 2026 infinite\n  send-lifetime 10:00:00 Dec 2 2026\n\
                interface eth0\n standby 1 ip 10.0.0.1\n standby 1 authentication md5 key-chain K\n";
    let e = config::parse(text, "k.conf").unwrap_err();
    assert_eq!(
        e.lines(),
        vec![
            "k.conf:4: send-lifetime 10:00:00 Dec 2 2026 09:00:00 Dec 2 2026: the lifetime ends before it starts",
            "k.conf:5: accept-lifetime 10:00:00 Dex 2 2026 infinite: `10:00:00 Dex 2 2026` is not a time (hh:mm:ss Month day year)",
            "k.conf:6: send-lifetime 10:00:00 Dec 2 2026: expected hh:mm:ss Month day year {hh:mm:ss Month day year | duration S | infinite}",
        ]
    );
}
