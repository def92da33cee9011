//! Which driver runs an interface (`ethtool -i`), through the SIOCETHTOOL ioctl
//! (ETHTOOL_GDRVINFO). The data plane picks its XDP attach mode from it: some drivers'
//! native XDP cannot do what the fast path needs (see `dataplane::attach_policy`).

use std::io;

use super::error::check_iface_name;
use super::{NetError, Result};

/// `ETHTOOL_GDRVINFO` (linux/ethtool.h).
const ETHTOOL_GDRVINFO: u32 = 0x0000_0003;

/// `struct ethtool_drvinfo`: only `driver` is read; the rest is the kernel's layout.
#[repr(C)]
struct DrvInfo {
    cmd: u32,
    driver: [u8; 32],
    version: [u8; 32],
    fw_version: [u8; 32],
    bus_info: [u8; 32],
    erom_version: [u8; 32],
    reserved2: [u8; 12],
    n_priv_flags: u32,
    n_stats: u32,
    testinfo_len: u32,
    eedump_len: u32,
    regdump_len: u32,
}

/// The driver name of `iface` ("veth", "virtio_net", "mlx5_core", ...), in the calling
/// thread's network namespace.
pub fn driver_name(iface: &str) -> Result<String> {
    check_iface_name(iface)?;
    let io_err = |what, source| NetError::Io {
        iface: iface.to_owned(),
        what,
        source,
    };
    // SAFETY: plain socket(2); the descriptor is closed below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io_err("socket for SIOCETHTOOL", io::Error::last_os_error()));
    }
    // SAFETY: all-zero is a valid DrvInfo and ifreq (plain C structs).
    let mut info: DrvInfo = unsafe { std::mem::zeroed() };
    info.cmd = ETHTOOL_GDRVINFO;
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in ifr.ifr_name.iter_mut().zip(iface.bytes()) {
        *dst = src as libc::c_char;
    }
    ifr.ifr_ifru.ifru_data = (&mut info as *mut DrvInfo).cast();
    // SAFETY: SIOCETHTOOL with a valid ifreq whose data points at a DrvInfo we own.
    let rc = unsafe { libc::ioctl(fd, libc::SIOCETHTOOL, &mut ifr) };
    let err = io::Error::last_os_error();
    // SAFETY: our descriptor.
    unsafe { libc::close(fd) };
    if rc < 0 {
        if err.raw_os_error() == Some(libc::ENODEV) {
            return Err(NetError::NoSuchInterface {
                iface: iface.to_owned(),
            });
        }
        return Err(io_err("ETHTOOL_GDRVINFO", err));
    }
    let end = info.driver.iter().position(|b| *b == 0).unwrap_or(32);
    Ok(String::from_utf8_lossy(&info.driver[..end]).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_without_driver_info_is_an_error_naming_it() {
        // Loopback has no ethtool operations (EOPNOTSUPP): the loader treats that as an
        // unknown driver. veth is recognised in tests/tests/veth_plain_lab.rs.
        let e = driver_name("lo").unwrap_err();
        assert!(e.to_string().contains("lo: ETHTOOL_GDRVINFO"), "{e}");
    }

    #[test]
    fn a_missing_interface_is_named_in_the_error() {
        let e = driver_name("nosuchif0").unwrap_err();
        assert!(e.to_string().contains("nosuchif0"), "{e}");
    }
}
