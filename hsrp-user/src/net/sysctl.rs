//! RFC 2281 §6: routers SHOULD NOT send ICMP redirects on HSRP interfaces (a redirect
//! would point hosts at the router's own address instead of the virtual one).
//!
//! Linux sends IPv4 redirects on an interface when `conf/all/send_redirects` OR
//! `conf/IF/send_redirects` is 1, and `all` is 1 by default — so writing only the
//! interface's file changes nothing. [`disable_icmp_redirects`] writes 0 to both; clearing
//! `all` does not enable or disable anything elsewhere (every other interface keeps its own
//! value, 1 by default, and still sends). IPv6 has no such switch.
//!
//! The files are /proc/sys/net/..., which show the network namespace of the calling thread.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::error::check_iface_name;
use super::{NetError, Result};

fn redirects_path(conf: &str) -> PathBuf {
    Path::new("/proc/sys/net/ipv4/conf")
        .join(conf)
        .join("send_redirects")
}

/// Stops IPv4 ICMP redirects on `iface` (see the module documentation for why two files).
pub fn disable_icmp_redirects(iface: &str) -> Result<()> {
    check_iface_name(iface)?;
    let own = redirects_path(iface);
    if !own.exists() {
        return Err(NetError::NoSuchInterface {
            iface: iface.to_owned(),
        });
    }
    write_value(&redirects_path("all"), "0")?;
    write_value(&own, "0")
}

/// Whether the kernel would send IPv4 ICMP redirects on `iface` (`all` OR the interface).
pub fn icmp_redirects_enabled(iface: &str) -> Result<bool> {
    check_iface_name(iface)?;
    let own = redirects_path(iface);
    if !own.exists() {
        return Err(NetError::NoSuchInterface {
            iface: iface.to_owned(),
        });
    }
    Ok(read_flag(&redirects_path("all"))? || read_flag(&own)?)
}

/// `net.ipv4.ip_forward`.
pub fn ipv4_forwarding() -> Result<bool> {
    read_flag(Path::new("/proc/sys/net/ipv4/ip_forward"))
}

/// `net.ipv6.conf.all.forwarding`.
pub fn ipv6_forwarding() -> Result<bool> {
    read_flag(Path::new("/proc/sys/net/ipv6/conf/all/forwarding"))
}

/// The reverse-path filter in force on `iface`: the larger of `conf/all/rp_filter` and
/// `conf/IF/rp_filter` (0 off, 1 strict, 2 loose).
pub fn rp_filter(iface: &str) -> Result<u8> {
    check_iface_name(iface)?;
    let read = |conf: &str| -> Result<u8> {
        let path = Path::new("/proc/sys/net/ipv4/conf")
            .join(conf)
            .join("rp_filter");
        let text = fs::read_to_string(&path).map_err(|source| NetError::Sysctl {
            path: path.clone(),
            source,
        })?;
        text.trim().parse().map_err(|_| NetError::Sysctl {
            path,
            source: io::Error::new(io::ErrorKind::InvalidData, format!("read {text:?}")),
        })
    };
    Ok(read("all")?.max(read(iface)?))
}

/// Whether IPv4 forwarding is on for `iface` (`conf/IF/forwarding`), what `track N
/// interface IF ip routing` needs besides the link and an address.
pub fn ipv4_forwarding_on(iface: &str) -> Result<bool> {
    check_iface_name(iface)?;
    let own = Path::new("/proc/sys/net/ipv4/conf").join(iface);
    if !own.exists() {
        return Err(NetError::NoSuchInterface {
            iface: iface.to_owned(),
        });
    }
    read_flag(&own.join("forwarding"))
}

fn write_value(path: &Path, value: &str) -> Result<()> {
    fs::write(path, value).map_err(|source| NetError::Sysctl {
        path: path.to_owned(),
        source,
    })
}

fn read_flag(path: &Path) -> Result<bool> {
    let text = fs::read_to_string(path).map_err(|source| NetError::Sysctl {
        path: path.to_owned(),
        source,
    })?;
    match text.trim() {
        "0" => Ok(false),
        "1" => Ok(true),
        other => Err(NetError::Sysctl {
            path: path.to_owned(),
            source: io::Error::new(
                io::ErrorKind::InvalidData,
                format!("expected 0 or 1, read {other:?}"),
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_names_that_escape_the_directory() {
        for name in ["..", "../all", ""] {
            assert!(matches!(
                disable_icmp_redirects(name),
                Err(NetError::BadInterfaceName { .. })
            ));
        }
    }

    #[test]
    fn missing_interface_is_named() {
        match icmp_redirects_enabled("nosuchif0") {
            Err(NetError::NoSuchInterface { iface }) => assert_eq!(iface, "nosuchif0"),
            other => panic!("{other:?}"),
        }
    }
}
