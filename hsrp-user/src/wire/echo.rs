//! ICMPv4 echo (RFC 792) for the IP SLA probes: the request hsrpd sends on a raw ICMP
//! socket, and the reply it looks for among everything that socket receives (a raw socket
//! hands over the whole IPv4 packet, header included, of every ICMP message).

use std::net::Ipv4Addr;

use super::frame::internet_checksum;

const ECHO_REQUEST: u8 = 8;
const ECHO_REPLY: u8 = 0;
/// Type, code, checksum, identifier, sequence.
const HEADER_LEN: usize = 8;

/// An echo request with `payload` into `buf`; returns its length (`None`: `buf` too small).
pub fn echo_request(ident: u16, seq: u16, payload: &[u8], buf: &mut [u8]) -> Option<usize> {
    let len = HEADER_LEN + payload.len();
    let b = buf.get_mut(..len)?;
    b[0] = ECHO_REQUEST;
    b[1] = 0;
    b[2..4].fill(0);
    b[4..6].copy_from_slice(&ident.to_be_bytes());
    b[6..8].copy_from_slice(&seq.to_be_bytes());
    b[HEADER_LEN..].copy_from_slice(payload);
    let sum = internet_checksum(b);
    b[2..4].copy_from_slice(&sum.to_be_bytes());
    Some(len)
}

/// An echo reply as received: who answered, and the identifier and sequence it echoes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EchoReply {
    pub from: Ipv4Addr,
    pub ident: u16,
    pub seq: u16,
}

/// The echo reply in an IPv4 packet (header included), if it is one with a valid checksum.
pub fn parse_echo_reply(packet: &[u8]) -> Option<EchoReply> {
    let first = *packet.first()?;
    if first >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(first & 0x0f) * 4;
    if ihl < 20 || packet.get(9) != Some(&1) {
        return None; // not ICMP
    }
    let from = Ipv4Addr::new(
        *packet.get(12)?,
        *packet.get(13)?,
        *packet.get(14)?,
        *packet.get(15)?,
    );
    let total = usize::from(u16::from_be_bytes([*packet.get(2)?, *packet.get(3)?]));
    let icmp = packet.get(ihl..total.min(packet.len()))?;
    if icmp.len() < HEADER_LEN || icmp[0] != ECHO_REPLY || icmp[1] != 0 {
        return None;
    }
    if internet_checksum(icmp) != 0 {
        return None;
    }
    Some(EchoReply {
        from,
        ident: u16::from_be_bytes([icmp[4], icmp[5]]),
        seq: u16::from_be_bytes([icmp[6], icmp[7]]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An echo request, identifier 0x1c2b, sequence 1, payload "aaaa". Checksum worked by
    /// hand: 0x0800 + 0x1c2b + 0x0001 + 0x6161 + 0x6161 = 0xe6ee, complemented 0x1911.
    const REQUEST: [u8; 12] = [
        0x08, 0x00, 0x19, 0x11, 0x1c, 0x2b, 0x00, 0x01, 0x61, 0x61, 0x61, 0x61,
    ];

    #[test]
    fn builds_the_request() {
        let mut buf = [0u8; 64];
        let n = echo_request(0x1c2b, 1, b"aaaa", &mut buf).unwrap();
        assert_eq!(&buf[..n], &REQUEST);
        assert_eq!(echo_request(1, 1, b"aaaa", &mut [0u8; 11]), None);
    }

    fn reply_packet() -> Vec<u8> {
        let mut icmp = REQUEST.to_vec();
        icmp[0] = ECHO_REPLY;
        icmp[2..4].fill(0);
        let sum = internet_checksum(&icmp);
        icmp[2..4].copy_from_slice(&sum.to_be_bytes());
        let mut p = vec![
            0x45, 0, 0, 32, 0, 0, 0x40, 0, 64, 1, 0, 0, 10, 1, 0, 100, 10, 1, 0, 2,
        ];
        p.extend_from_slice(&icmp);
        p
    }

    #[test]
    fn finds_the_reply_and_refuses_the_rest() {
        let p = reply_packet();
        assert_eq!(
            parse_echo_reply(&p),
            Some(EchoReply {
                from: Ipv4Addr::new(10, 1, 0, 100),
                ident: 0x1c2b,
                seq: 1
            })
        );
        let mut bad_sum = p.clone();
        bad_sum[31] ^= 1;
        assert_eq!(parse_echo_reply(&bad_sum), None);
        let mut request = p.clone();
        request[20] = ECHO_REQUEST;
        assert_eq!(parse_echo_reply(&request), None);
        let mut udp = p.clone();
        udp[9] = 17;
        assert_eq!(parse_echo_reply(&udp), None);
        assert_eq!(parse_echo_reply(&p[..24]), None);
        assert_eq!(parse_echo_reply(&[]), None);
    }
}
