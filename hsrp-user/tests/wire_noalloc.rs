//! The receive path does not allocate: `decode_payload` on real packets (text, MD5, v2,
//! Advertise, malformed, auth failures) under a counting global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use hsrp_user::decode::read_capture;
use hsrp_user::proto::Auth;
use hsrp_user::wire::decode_payload;

mod captures;

struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static A: Counting = Counting;

// The only test in this binary, so no other thread allocates while it measures.
#[test]
fn decode_payload_does_not_allocate() {
    let mut payloads = Vec::new();
    for f in ["john_HSRP-auth-md5-openwall.pcap", "ndpi_hsrp2.pcap"] {
        let path = captures::path(f);
        payloads.extend(read_capture(&path).unwrap().into_iter().map(|p| p.payload));
    }
    let mut truncated = payloads[100].clone();
    truncated.truncate(33);
    payloads.push(truncated);
    let auths = [
        Auth::None,
        Auth::DefaultText,
        Auth::Md5 {
            key: b"openwall".to_vec(),
            key_id: 0,
        },
    ];
    let (mut ok, mut err) = (0usize, 0usize);
    let before = ALLOCS.load(Ordering::SeqCst);
    for p in &payloads {
        for a in &auths {
            match decode_payload(p, a) {
                Ok(_) => ok += 1,
                Err(_) => err += 1,
            }
        }
    }
    let after = ALLOCS.load(Ordering::SeqCst);
    assert_eq!(after - before, 0, "allocations on the receive path");
    assert!(
        ok > 190 && err > 190,
        "exercised both outcomes: ok {ok}, err {err}"
    );
}
