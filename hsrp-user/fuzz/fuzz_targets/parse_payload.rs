//! Fuzz the HSRP receive path: `Repr::parse`, `decode_payload` under each kind of
//! authentication, and `parse(emit(parse(x))) == parse(x)` for whatever parses.
#![no_main]

use hsrp_user::proto::Auth;
use hsrp_user::wire::{self, Repr};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let auths = [
        Auth::None,
        Auth::DefaultText,
        Auth::Md5 {
            key: b"openwall".to_vec(),
            key_id: 0,
        },
    ];
    for auth in &auths {
        let _ = wire::decode_payload(data, auth);
    }
    if let Ok(repr) = Repr::parse(data) {
        let _ = repr.verify_md5(data, b"openwall");
        let mut buf = [0u8; 128];
        let n = repr.emit(&mut buf).expect("a parsed Repr always emits");
        assert_eq!(Repr::parse(&buf[..n]), Ok(repr), "parse(emit(r)) != r");
    }
});
