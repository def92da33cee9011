//! The harness itself: namespaces share one bpffs across commands and vanish on drop.
use hsrp_tests::{require_root, Netns};

#[test]
fn netns_bpffs_persists_across_commands_and_is_removed_on_drop() {
    require_root();
    let name;
    {
        let ns = Netns::new("h").unwrap();
        name = ns.name.clone();
        ns.exec("mkdir -p /sys/fs/bpf/probe").unwrap();
        let listing = ns.exec("ls /sys/fs/bpf").unwrap();
        assert!(
            listing.contains("probe"),
            "pin dir not visible to a later command: {listing}"
        );
        let mounts = ns.exec("stat -f -c %T /sys/fs/bpf").unwrap();
        assert_eq!(mounts.trim(), "bpf_fs");
    }
    let list = hsrp_tests::sh("ip netns list").unwrap();
    assert!(!list.contains(&name), "namespace {name} left behind");
    assert!(!std::path::Path::new(&format!("/run/hsrpt/{name}")).exists());
}
