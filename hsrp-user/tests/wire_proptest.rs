//! Property tests: `parse(emit(r)) == r` for arbitrary valid `Repr`s, group messages survive
//! `encode_group` -> `decode_payload` with every kind of authentication, and arbitrary or
//! mutated bytes give `Ok` or `Err`, never a panic.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hsrp_user::proto::{Auth, GroupMessage, MacAddr, Opcode, State, Version};
use hsrp_user::wire::auth::Md5Repr;
use hsrp_user::wire::v2::{AuthRepr, GroupStateRepr};
use hsrp_user::wire::{self, v1, AdvState, AdvertiseRepr, Decoded, Repr, V2Body};
use proptest::prelude::*;

fn opcode() -> impl Strategy<Value = Opcode> {
    prop_oneof![
        Just(Opcode::Hello),
        Just(Opcode::Coup),
        Just(Opcode::Resign)
    ]
}

fn v1_state() -> impl Strategy<Value = State> {
    prop_oneof![
        Just(State::Initial),
        Just(State::Learn),
        Just(State::Listen),
        Just(State::Speak),
        Just(State::Standby),
        Just(State::Active)
    ]
}

fn v2_state() -> impl Strategy<Value = State> {
    prop_oneof![Just(State::Disabled), v1_state()]
}

fn md5_repr() -> impl Strategy<Value = Md5Repr> {
    (any::<u32>(), any::<u32>(), any::<[u8; 16]>()).prop_map(|(s, key_id, digest)| Md5Repr {
        sender: Ipv4Addr::from(s),
        key_id,
        digest,
    })
}

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<u32>().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a))),
        any::<u128>().prop_map(|a| IpAddr::V6(Ipv6Addr::from(a))),
    ]
}

fn v1_repr() -> impl Strategy<Value = Repr> {
    (
        (
            opcode(),
            v1_state(),
            any::<u8>(),
            any::<u8>(),
            any::<u8>(),
            any::<u8>(),
        ),
        any::<[u8; 8]>(),
        any::<u32>(),
        proptest::option::of(md5_repr()),
    )
        .prop_map(
            |((opcode, state, hello, hold, prio, group), auth_data, vip, md5)| Repr::V1 {
                msg: v1::Repr {
                    opcode,
                    state,
                    hello_time: hello,
                    hold_time: hold,
                    priority: prio,
                    group,
                    auth_data,
                    virtual_ip: Ipv4Addr::from(vip),
                },
                md5,
            },
        )
}

fn advertise() -> impl Strategy<Value = Repr> {
    (
        prop_oneof![
            Just(AdvState::Dormant),
            Just(AdvState::Passive),
            Just(AdvState::Active)
        ],
        any::<u16>(),
        any::<u16>(),
    )
        .prop_map(|(state, a, p)| {
            Repr::V1Advertise(AdvertiseRepr {
                state,
                active_groups: a,
                passive_groups: p,
            })
        })
}

fn v2_repr() -> impl Strategy<Value = Repr> {
    let group = (
        (opcode(), v2_state(), 0u16..=4095, any::<[u8; 6]>()),
        (any::<u32>(), any::<u32>(), any::<u32>(), ip()),
    )
        .prop_map(|((opcode, state, group, id), (prio, hello, hold, vip))| {
            V2Body::Group(GroupStateRepr {
                opcode,
                state,
                group,
                identifier: MacAddr(id),
                priority: prio,
                hello_ms: hello,
                hold_ms: hold,
                virtual_ip: vip,
            })
        });
    let iface = (any::<u16>(), any::<u16>())
        .prop_map(|(active, passive)| V2Body::InterfaceState { active, passive });
    let auth = prop_oneof![
        Just(AuthRepr::None),
        any::<[u8; 8]>().prop_map(AuthRepr::Text),
        md5_repr().prop_map(AuthRepr::Md5),
    ];
    (prop_oneof![group, iface], auth).prop_map(|(body, auth)| Repr::V2 { body, auth })
}

fn any_repr() -> impl Strategy<Value = Repr> {
    prop_oneof![v1_repr(), advertise(), v2_repr()]
}

fn any_auth() -> impl Strategy<Value = Auth> {
    prop_oneof![
        Just(Auth::None),
        Just(Auth::DefaultText),
        proptest::collection::vec(1u8..=255, 0..=8).prop_map(Auth::Text),
        (proptest::collection::vec(any::<u8>(), 0..=80), any::<u32>())
            .prop_map(|(key, key_id)| Auth::Md5 { key, key_id }),
    ]
}

/// Group messages every version can carry exactly.
fn group_message() -> impl Strategy<Value = (GroupMessage, IpAddr)> {
    let v1 = (
        (opcode(), v1_state(), 0u16..=255, any::<u8>()),
        (1u32..=255, 1u32..=255, any::<u32>(), any::<u32>()),
    )
        .prop_map(
            |((opcode, state, group, priority), (hello, hold, vip, sender))| {
                let vip = Ipv4Addr::from(vip);
                (
                    GroupMessage {
                        version: Version::V1,
                        opcode,
                        state,
                        group,
                        priority,
                        hello_ms: hello * 1000,
                        hold_ms: hold * 1000,
                        vip: (!vip.is_unspecified()).then_some(IpAddr::V4(vip)),
                        identifier: None,
                    },
                    IpAddr::V4(Ipv4Addr::from(sender)),
                )
            },
        );
    let v2 = (
        (
            opcode(),
            v2_state(),
            0u16..=4095,
            any::<u8>(),
            any::<[u8; 6]>(),
        ),
        (
            any::<u32>(),
            any::<u32>(),
            any::<bool>(),
            any::<u128>(),
            any::<u128>(),
        ),
    )
        .prop_map(
            |((opcode, state, group, priority, id), (hello, hold, v6, vip, sender))| {
                let (vip, sender) = if v6 {
                    (
                        IpAddr::V6(Ipv6Addr::from(vip)),
                        IpAddr::V6(Ipv6Addr::from(sender)),
                    )
                } else {
                    (
                        IpAddr::V4(Ipv4Addr::from(vip as u32)),
                        IpAddr::V4(Ipv4Addr::from(sender as u32)),
                    )
                };
                (
                    GroupMessage {
                        version: Version::V2,
                        opcode,
                        state,
                        group,
                        priority,
                        hello_ms: hello,
                        hold_ms: hold,
                        vip: (!vip.is_unspecified()).then_some(vip),
                        identifier: Some(MacAddr(id)),
                    },
                    sender,
                )
            },
        );
    prop_oneof![v1, v2]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parse_emit_roundtrip(r in any_repr()) {
        let mut buf = [0u8; 128];
        let n = r.emit(&mut buf).unwrap();
        prop_assert_eq!(n, r.buffer_len());
        let parsed = Repr::parse(&buf[..n]).unwrap();
        prop_assert_eq!(parsed, r);
        // Emitting into a buffer one byte short is an error, not a panic.
        prop_assert!(r.emit(&mut buf[..n - 1]).is_err());
    }

    #[test]
    fn encode_decode_group_message((msg, sender) in group_message(), auth in any_auth()) {
        let mut buf = [0u8; wire::MAX_PAYLOAD_LEN];
        let n = wire::encode_group(&msg, &auth, sender, &mut buf).unwrap();
        prop_assert_eq!(wire::decode_payload(&buf[..n], &auth).unwrap(), Decoded::Group(msg));
        let mut f = [0u8; 200];
        prop_assert!(wire::hsrp_frame(MacAddr::default(), sender, &buf[..n], &mut f).is_ok());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..120), auth in any_auth()) {
        let _ = Repr::parse(&bytes);
        let _ = wire::decode_payload(&bytes, &auth);
    }

    /// Valid packets with a few bytes changed and the length cut reach far deeper into the
    /// parser than random bytes do.
    #[test]
    fn mutated_packets_never_panic(
        r in any_repr(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        cut in any::<prop::sample::Index>(),
        auth in any_auth(),
    ) {
        let mut buf = [0u8; 128];
        let n = r.emit(&mut buf).unwrap();
        for (i, b) in edits {
            buf[i.index(n)] = b;
        }
        let len = cut.index(n + 1);
        if let Ok(repr) = Repr::parse(&buf[..len]) {
            let _ = repr.verify_md5(&buf[..len], b"key");
            let _ = repr.check_auth(&buf[..len], &auth);
        }
        let _ = wire::decode_payload(&buf[..len], &auth);
    }
}
