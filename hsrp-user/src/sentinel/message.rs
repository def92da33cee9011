//! The pipe between the daemon and its sentinel: one message after another, a tag byte, a
//! big-endian u32 body length, the body. Pure: encoding, decoding, and what a whole input
//! (up to its end) amounts to ([`read_all`]).

use std::io::{self, Read};

use anyhow::{bail, Result};

/// A message replacing the frames to send on the daemon's death.
const TAG_FRAMES: u8 = 1;
/// The daemon stops cleanly: send nothing.
pub(super) const TAG_DISARM: u8 = 2;
/// A message replacing the netlink requests to send on the daemon's death.
const TAG_CLEANUP: u8 = 3;
/// Largest message body accepted (4096 groups of a few hundred bytes fit easily).
const MAX_BODY: usize = 16 << 20;
/// One frame the sentinel sends if the daemon dies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastWord {
    pub ifindex: u32,
    /// For the log line, e.g. "lan0 grp 1".
    pub label: String,
    /// The complete Ethernet frame.
    pub frame: Vec<u8>,
}

/// Encodes a `TAG_FRAMES` message.
pub fn encode_frames(words: &[LastWord]) -> Vec<u8> {
    let mut body = Vec::new();
    for w in words {
        let label = &w.label.as_bytes()[..w.label.len().min(u16::MAX as usize)];
        let frame = &w.frame[..w.frame.len().min(u16::MAX as usize)];
        body.extend_from_slice(&w.ifindex.to_be_bytes());
        body.extend_from_slice(&(label.len() as u16).to_be_bytes());
        body.extend_from_slice(label);
        body.extend_from_slice(&(frame.len() as u16).to_be_bytes());
        body.extend_from_slice(frame);
    }
    message(TAG_FRAMES, &body)
}

pub(super) fn message(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(5 + body.len());
    m.push(tag);
    m.extend_from_slice(&(body.len() as u32).to_be_bytes());
    m.extend_from_slice(body);
    m
}

/// Decodes a [`TAG_FRAMES`] body.
fn decode_frames(mut body: &[u8]) -> Result<Vec<LastWord>> {
    fn take<'a>(b: &mut &'a [u8], n: usize, what: &str) -> Result<&'a [u8]> {
        if b.len() < n {
            bail!("truncated {what}: {} byte(s) left, {n} needed", b.len());
        }
        let (head, tail) = b.split_at(n);
        *b = tail;
        Ok(head)
    }
    let u16_of = |s: &[u8]| usize::from(u16::from_be_bytes([s[0], s[1]]));
    let mut words = Vec::new();
    while !body.is_empty() {
        let ifindex = take(&mut body, 4, "ifindex")?;
        let ifindex = u32::from_be_bytes([ifindex[0], ifindex[1], ifindex[2], ifindex[3]]);
        let n = u16_of(take(&mut body, 2, "label length")?);
        let label = String::from_utf8_lossy(take(&mut body, n, "label")?).into_owned();
        let n = u16_of(take(&mut body, 2, "frame length")?);
        let frame = take(&mut body, n, "frame")?.to_vec();
        words.push(LastWord {
            ifindex,
            label,
            frame,
        });
    }
    Ok(words)
}

/// What the sentinel read before its input ended.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// The daemon stopped cleanly.
    Disarmed,
    /// The daemon died: these are its last words (possibly none).
    Died(Vec<LastWord>),
}

/// Encodes a `TAG_CLEANUP` message.
pub fn encode_cleanup(requests: &[Vec<u8>]) -> Vec<u8> {
    let mut body = Vec::new();
    for r in requests.iter().filter(|r| r.len() <= usize::from(u16::MAX)) {
        body.extend_from_slice(&(r.len() as u16).to_be_bytes());
        body.extend_from_slice(r);
    }
    message(TAG_CLEANUP, &body)
}

fn decode_cleanup(mut body: &[u8]) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    while !body.is_empty() {
        if body.len() < 2 {
            bail!("truncated cleanup length");
        }
        let n = usize::from(u16::from_be_bytes([body[0], body[1]]));
        if body.len() < 2 + n {
            bail!("truncated cleanup request");
        }
        out.push(body[2..2 + n].to_vec());
        body = &body[2 + n..];
    }
    Ok(out)
}

/// Reads messages until end of input. A truncated or malformed message (the daemon died
/// mid-write) is ignored: the last complete set stands.
#[cfg(test)]
fn read_until_eof(input: &mut impl Read) -> Verdict {
    read_all(input, &mut Vec::new())
}

/// [`read_until_eof`], also keeping the last [`TAG_CLEANUP`] set in `cleanup`.
pub(super) fn read_all(input: &mut impl Read, cleanup: &mut Vec<Vec<u8>>) -> Verdict {
    let mut words = Vec::new();
    loop {
        let mut head = [0u8; 5];
        if let Err(e) = input.read_exact(&mut head) {
            if e.kind() != io::ErrorKind::UnexpectedEof {
                eprintln!("hsrpd sentinel: reading from the daemon: {e}");
            }
            return Verdict::Died(words);
        }
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        if len > MAX_BODY {
            eprintln!("hsrpd sentinel: message of {len} bytes from the daemon ignored");
            // Out of step with the stream from here on: wait for the end of input.
            let _ = io::copy(input, &mut io::sink());
            return Verdict::Died(words);
        }
        let mut body = vec![0u8; len];
        if input.read_exact(&mut body).is_err() {
            return Verdict::Died(words);
        }
        match head[0] {
            TAG_DISARM => {
                // Nothing more to do; wait for the pipe to close so the daemon never sees
                // a broken pipe.
                let _ = io::copy(input, &mut io::sink());
                return Verdict::Disarmed;
            }
            TAG_FRAMES => match decode_frames(&body) {
                Ok(w) => words = w,
                Err(e) => eprintln!("hsrpd sentinel: bad message from the daemon: {e:#}"),
            },
            TAG_CLEANUP => match decode_cleanup(&body) {
                Ok(c) => *cleanup = c,
                Err(e) => eprintln!("hsrpd sentinel: bad message from the daemon: {e:#}"),
            },
            t => eprintln!("hsrpd sentinel: unknown message tag {t} from the daemon"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(ifindex: u32, label: &str, frame: &[u8]) -> LastWord {
        LastWord {
            ifindex,
            label: label.into(),
            frame: frame.to_vec(),
        }
    }

    #[test]
    fn frames_round_trip() {
        let words = vec![
            word(3, "lan0 grp 1", &[1; 62]),
            word(7, "lan1 grp 2", &[2; 80]),
        ];
        let msg = encode_frames(&words);
        assert_eq!(msg[0], TAG_FRAMES);
        assert_eq!(
            read_until_eof(&mut msg.as_slice()),
            Verdict::Died(words.clone())
        );
        assert_eq!(decode_frames(&msg[5..]).unwrap(), words);
    }

    #[test]
    fn the_last_complete_set_stands() {
        let first = vec![word(3, "lan0 grp 1", &[1; 62])];
        let second = vec![
            word(3, "lan0 grp 1", &[1; 62]),
            word(3, "lan0 grp 2", &[2; 62]),
        ];
        let mut input = encode_frames(&first);
        input.extend(encode_frames(&second));
        assert_eq!(
            read_until_eof(&mut input.as_slice()),
            Verdict::Died(second.clone())
        );
        // The daemon died half-way through a third message.
        let third = encode_frames(&[word(4, "x", &[9; 70])]);
        input.extend_from_slice(&third[..third.len() - 5]);
        assert_eq!(read_until_eof(&mut input.as_slice()), Verdict::Died(second));
    }

    #[test]
    fn an_empty_set_or_a_disarm_sends_nothing() {
        let mut input = encode_frames(&[word(3, "lan0 grp 1", &[1; 62])]);
        input.extend(encode_frames(&[]));
        assert_eq!(read_until_eof(&mut input.as_slice()), Verdict::Died(vec![]));
        let mut input = encode_frames(&[word(3, "lan0 grp 1", &[1; 62])]);
        input.extend(message(TAG_DISARM, &[]));
        assert_eq!(read_until_eof(&mut input.as_slice()), Verdict::Disarmed);
    }

    #[test]
    fn malformed_messages_are_ignored() {
        let good = vec![word(3, "lan0 grp 1", &[1; 62])];
        let mut input = encode_frames(&good);
        // A frames message whose body ends inside an entry.
        input.extend(message(TAG_FRAMES, &[0, 0, 0, 1, 0, 9, b'a']));
        input.extend(message(99, &[1, 2, 3]));
        assert_eq!(
            read_until_eof(&mut input.as_slice()),
            Verdict::Died(good.clone())
        );
        let mut input = encode_frames(&good);
        input.extend([TAG_FRAMES, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(read_until_eof(&mut input.as_slice()), Verdict::Died(good));
    }

    #[test]
    fn cleanup_requests_replace_each_other_and_survive_frames() {
        let a = vec![vec![1u8, 2, 3], vec![4u8; 52]];
        let b = vec![vec![9u8; 52]];
        let mut input = encode_cleanup(&a);
        input.extend(encode_frames(&[]));
        input.extend(encode_cleanup(&b));
        let mut cleanup = Vec::new();
        assert_eq!(
            read_all(&mut input.as_slice(), &mut cleanup),
            Verdict::Died(vec![])
        );
        assert_eq!(cleanup, b);
        // A truncated last message leaves the previous set.
        let mut input = encode_cleanup(&a);
        let partial = encode_cleanup(&b);
        input.extend(&partial[..partial.len() - 1]);
        assert_eq!(
            read_all(&mut input.as_slice(), &mut cleanup),
            Verdict::Died(vec![])
        );
        assert_eq!(cleanup, a);
    }
}
