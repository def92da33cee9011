//! `hsrpd decode FILE [--key KEY]`: print every HSRP message of a pcap/pcapng capture, one
//! line each, and a summary. Also `read_capture`, which tests use to replay real captures.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufReader, Read};
use std::net::IpAddr;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::{Block, PcapNgReader};
use pcap_file::DataLink;

use crate::proto::{MacAddr, Version};
use crate::wire::rx::{ip_udp, Lengths};
use crate::wire::{self, v2::AuthRepr, Repr, V2Body};

/// One HSRP UDP datagram from a capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapturedPacket {
    /// Capture timestamp (since the Unix epoch).
    pub time: Duration,
    pub src_mac: MacAddr,
    /// All zero for Linux cooked captures, which do not record it.
    pub dst_mac: MacAddr,
    pub src_ip: IpAddr,
    pub dst_ip: IpAddr,
    /// TTL or hop limit.
    pub ttl: u8,
    /// The UDP payload (the HSRP message), bounded by the UDP length.
    pub payload: Vec<u8>,
}

/// Read the HSRP datagrams (UDP port 1985 or 2029, IPv4 or IPv6) of a pcap or pcapng file.
/// Link types: Ethernet (with 802.1Q/802.1ad tags), Linux cooked v1 and v2. Other frames are
/// skipped; an unreadable or corrupt file is an error naming the file.
pub fn read_capture(path: &Path) -> anyhow::Result<Vec<CapturedPacket>> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut reader = BufReader::new(file);
    let mut magic = [0u8; 4];
    reader
        .read_exact(&mut magic)
        .with_context(|| format!("{}: too short to be a capture", path.display()))?;
    // Re-open rather than seek: the readers want the magic too.
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let reader = BufReader::new(file);
    let ctx = || format!("reading {}", path.display());
    let mut out = Vec::new();
    match magic {
        [0x0a, 0x0d, 0x0d, 0x0a] => read_pcapng(reader, &mut out).with_context(ctx)?,
        [0xd4, 0xc3, 0xb2, 0xa1]
        | [0xa1, 0xb2, 0xc3, 0xd4]
        | [0x4d, 0x3c, 0xb2, 0xa1]
        | [0xa1, 0xb2, 0x3c, 0x4d] => read_pcap(reader, &mut out).with_context(ctx)?,
        _ => bail!(
            "{}: not a pcap or pcapng file (magic {:02x?})",
            path.display(),
            magic
        ),
    }
    Ok(out)
}

fn read_pcap<R: Read>(reader: R, out: &mut Vec<CapturedPacket>) -> anyhow::Result<()> {
    let mut pcap = PcapReader::new(reader)?;
    let link = pcap.header().datalink;
    let mut n = 0usize;
    while let Some(pkt) = pcap.next_packet() {
        n += 1;
        let pkt = pkt.with_context(|| format!("packet {n}"))?;
        if let Some(p) = hsrp_datagram(link, pkt.timestamp, &pkt.data) {
            out.push(p);
        }
    }
    Ok(())
}

fn read_pcapng<R: Read>(reader: R, out: &mut Vec<CapturedPacket>) -> anyhow::Result<()> {
    let mut ng = PcapNgReader::new(reader)?;
    // Per interface: link type and timestamp unit in nanoseconds.
    let mut ifaces: Vec<(DataLink, u64)> = Vec::new();
    let mut n = 0usize;
    while let Some(block) = ng.next_block() {
        n += 1;
        match block.with_context(|| format!("block {n}"))? {
            Block::SectionHeader(_) => ifaces.clear(),
            Block::InterfaceDescription(idb) => {
                let mut unit = 1000; // default resolution: microseconds
                for opt in &idb.options {
                    if let InterfaceDescriptionOption::IfTsResol(r) = opt {
                        unit = tsresol_nanos(*r);
                    }
                }
                ifaces.push((idb.linktype, unit));
            }
            Block::EnhancedPacket(epb) => {
                let Some(&(link, unit)) = ifaces.get(epb.interface_id as usize) else {
                    bail!(
                        "block {n}: packet on undeclared interface {}",
                        epb.interface_id
                    );
                };
                // pcap-file reads the raw count as nanoseconds; rescale to the real unit.
                let ticks = epb.timestamp.as_nanos() as u64;
                let time = Duration::from_nanos(ticks.saturating_mul(unit));
                if let Some(p) = hsrp_datagram(link, time, &epb.data) {
                    out.push(p);
                }
            }
            Block::SimplePacket(spb) => {
                if let Some(&(link, _)) = ifaces.first() {
                    if let Some(p) = hsrp_datagram(link, Duration::ZERO, &spb.data) {
                        out.push(p);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Nanoseconds per timestamp tick for a pcapng `if_tsresol` value (powers of 10 or 2).
/// Sub-nanosecond units are clamped to 1 ns.
fn tsresol_nanos(r: u8) -> u64 {
    let exp = (r & 0x7f) as u32;
    if r & 0x80 == 0 {
        10u64
            .checked_pow(9u32.saturating_sub(exp))
            .unwrap_or(1)
            .max(1)
    } else {
        (1_000_000_000u64 >> exp.min(63)).max(1)
    }
}

fn mac(b: &[u8]) -> MacAddr {
    let mut m = [0u8; 6];
    m.copy_from_slice(&b[..6]);
    MacAddr(m)
}

/// Extract an HSRP UDP datagram from one captured frame; `None` for anything else.
fn hsrp_datagram(link: DataLink, time: Duration, frame: &[u8]) -> Option<CapturedPacket> {
    let (src_mac, dst_mac, mut ethertype, mut rest) = match link {
        DataLink::ETHERNET => {
            let h = frame.get(..14)?;
            (
                mac(&h[6..12]),
                mac(&h[0..6]),
                be16(&h[12..14]),
                &frame[14..],
            )
        }
        DataLink::LINUX_SLL => {
            let h = frame.get(..16)?;
            (
                mac(&h[6..12]),
                MacAddr::default(),
                be16(&h[14..16]),
                &frame[16..],
            )
        }
        DataLink::LINUX_SLL2 => {
            let h = frame.get(..20)?;
            (
                mac(&h[12..18]),
                MacAddr::default(),
                be16(&h[0..2]),
                &frame[20..],
            )
        }
        _ => return None,
    };
    // 802.1Q / 802.1ad tags, at most two.
    for _ in 0..2 {
        if ethertype == 0x8100 || ethertype == 0x88a8 {
            let t = rest.get(..4)?;
            ethertype = be16(&t[2..4]);
            rest = &rest[4..];
        }
    }
    let d = ip_udp(ethertype, rest, Lengths::Clamp).ok()?;
    let ports = [wire::PORT_V4, wire::PORT_V6];
    if !ports.contains(&d.src_port) && !ports.contains(&d.dst_port) {
        return None;
    }
    Some(CapturedPacket {
        time,
        src_mac,
        dst_mac,
        src_ip: d.src_ip,
        dst_ip: d.dst_ip,
        ttl: d.ttl,
        payload: d.payload.to_vec(),
    })
}

fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

/// Tallies for the summary line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Well-formed HSRP messages.
    pub messages: usize,
    pub malformed: usize,
    pub md5_ok: usize,
    pub md5_bad: usize,
    /// Messages carrying text authentication (v1 non-zero text field or v2 Text TLV).
    pub text: usize,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} messages, {} malformed, {} md5 ok, {} md5 bad",
            self.messages, self.malformed, self.md5_ok, self.md5_bad
        )
    }
}

/// Decode every packet: one line each, and the tallies. `key` verifies MD5 digests.
pub fn describe_all(packets: &[CapturedPacket], key: Option<&[u8]>) -> (Vec<String>, Summary) {
    let mut s = Summary::default();
    let t0 = packets.first().map_or(Duration::ZERO, |p| p.time);
    let lines = packets
        .iter()
        .map(|p| {
            let t = p.time.saturating_sub(t0).as_secs_f64();
            let head = format!("{t:12.6} {:<15}", p.src_ip.to_string());
            match Repr::parse(&p.payload) {
                Err(e) => {
                    s.malformed += 1;
                    format!("{head} MALFORMED ({} bytes): {e}", p.payload.len())
                }
                Ok(repr) => {
                    s.messages += 1;
                    let mut line = format!("{head} {}", describe(&repr));
                    if let Some(m) = repr.md5() {
                        let verdict = match key.and_then(|k| repr.verify_md5(&p.payload, k)) {
                            Some(true) => {
                                s.md5_ok += 1;
                                "ok"
                            }
                            Some(false) => {
                                s.md5_bad += 1;
                                "BAD"
                            }
                            None => "unchecked (no --key)",
                        };
                        let _ = write!(
                            line,
                            " auth md5 key-id {} sender {} digest {verdict}",
                            m.key_id, m.sender
                        );
                    } else if let Some(t) = text_auth(&repr) {
                        s.text += 1;
                        let _ = write!(line, " auth text \"{}\"", printable(&t));
                    } else if !matches!(repr, Repr::V1Advertise(_)) {
                        line.push_str(" auth none");
                    }
                    line
                }
            }
        })
        .collect();
    (lines, s)
}

fn text_auth(repr: &Repr) -> Option<[u8; 8]> {
    match repr {
        Repr::V1 { msg, md5: None } if msg.auth_data != [0; 8] => Some(msg.auth_data),
        Repr::V2 {
            auth: AuthRepr::Text(t),
            ..
        } => Some(*t),
        _ => None,
    }
}

/// The text up to the first NUL, non-printable bytes escaped.
fn printable(t: &[u8]) -> String {
    let end = t.iter().position(|&b| b == 0).unwrap_or(t.len());
    t[..end].escape_ascii().to_string()
}

/// The fields of one message, without authentication.
fn describe(repr: &Repr) -> String {
    let v = match repr.version() {
        Version::V1 => "v1",
        Version::V2 => "v2",
    };
    match repr {
        Repr::V1Advertise(a) => format!(
            "{v} Advertise state {:?} active-groups {} passive-groups {}",
            a.state, a.active_groups, a.passive_groups
        ),
        Repr::V2 {
            body: V2Body::InterfaceState { active, passive },
            ..
        } => format!("{v} InterfaceState active-groups {active} passive-groups {passive}"),
        Repr::V1 { msg, .. } => format!(
            "{v} {:<6} {:<7} grp {} prio {} hello {}s hold {}s vip {}",
            format!("{:?}", msg.opcode),
            msg.state.name(),
            msg.group,
            msg.priority,
            msg.hello_time,
            msg.hold_time,
            msg.virtual_ip
        ),
        Repr::V2 {
            body: V2Body::Group(g),
            ..
        } => format!(
            "{v} {:<6} {:<7} grp {} prio {} hello {}ms hold {}ms vip {} id {}",
            format!("{:?}", g.opcode),
            g.state.name(),
            g.group,
            g.priority,
            g.hello_ms,
            g.hold_ms,
            g.virtual_ip,
            g.identifier
        ),
    }
}

/// The key of `--key-file`: the file's first line without its line ending. The error
/// names the file, never its contents.
pub fn read_key_file(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read the key file {}: {e}", path.display()))?;
    let key = text.lines().next().unwrap_or("").to_string();
    if key.is_empty() {
        anyhow::bail!(
            "the key file {} is empty (one line: the key)",
            path.display()
        );
    }
    if text.lines().nth(1).is_some_and(|l| !l.is_empty()) {
        anyhow::bail!(
            "the key file {} has more than one line (one line: the key)",
            path.display()
        );
    }
    Ok(key)
}

/// Entry point of `hsrpd decode`. Exit status: 0 when the file was read (malformed packets
/// are reported, not fatal), an error for an unreadable file.
pub fn main(file: &Path, key: Option<&str>) -> anyhow::Result<ExitCode> {
    let packets = read_capture(file)?;
    let (lines, summary) = describe_all(&packets, key.map(str::as_bytes));
    for l in lines {
        println!("{l}");
    }
    println!("{summary}");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_is_one_line_and_errors_do_not_show_it() {
        let dir = std::env::temp_dir().join(format!("hsrpd-keyfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("k");
        std::fs::write(&f, "s3cret\n").unwrap();
        assert_eq!(read_key_file(&f).unwrap(), "s3cret");
        std::fs::write(&f, "s3cret\r\n").unwrap();
        assert_eq!(read_key_file(&f).unwrap(), "s3cret");
        std::fs::write(&f, "").unwrap();
        assert!(read_key_file(&f)
            .unwrap_err()
            .to_string()
            .contains("is empty"));
        std::fs::write(&f, "s3cret\nother\n").unwrap();
        let err = read_key_file(&f).unwrap_err().to_string();
        assert!(err.contains("more than one line"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn pcapng_timestamp_units() {
        assert_eq!(tsresol_nanos(6), 1000); // default, microseconds
        assert_eq!(tsresol_nanos(9), 1);
        assert_eq!(tsresol_nanos(3), 1_000_000);
        assert_eq!(tsresol_nanos(12), 1); // finer than 1 ns: clamped
        assert_eq!(tsresol_nanos(0x80 | 10), 1_000_000_000 >> 10);
    }

    #[test]
    fn skips_non_hsrp_and_reads_vlan_tagged() {
        // Ethernet + 802.1Q + IPv4/UDP 1985 with a 4-byte payload and 2 bytes of padding.
        let mut f = vec![
            0x01, 0, 0x5e, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x81, 0x00, 0, 10, 0x08, 0x00,
        ];
        f.extend([
            0x45, 0xc0, 0, 32, 0, 0, 0, 0, 1, 17, 0, 0, 10, 0, 0, 1, 224, 0, 0, 2,
        ]);
        f.extend([0x07, 0xc1, 0x07, 0xc1, 0, 12, 0, 0, 9, 8, 7, 6, 0xee, 0xee]);
        let p = hsrp_datagram(DataLink::ETHERNET, Duration::ZERO, &f).unwrap();
        assert_eq!(p.payload, [9, 8, 7, 6]);
        assert_eq!(p.ttl, 1);
        f[18 + 20 + 2..18 + 20 + 4].copy_from_slice(&53u16.to_be_bytes()); // dst port 53
        f[18 + 20..18 + 20 + 2].copy_from_slice(&53u16.to_be_bytes());
        assert!(hsrp_datagram(DataLink::ETHERNET, Duration::ZERO, &f).is_none());
        assert!(hsrp_datagram(DataLink::ETHERNET, Duration::ZERO, &f[..20]).is_none());
    }
}
