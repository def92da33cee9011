//! The nftables ruleset read from the kernel (nfnetlink `NFT_MSG_GETCHAIN` and
//! `NFT_MSG_GETRULE` dumps): chains with their hook, type and policy, and rules with
//! their expressions parsed from the netlink attributes, as far as
//! `accepted_flow::qualify` needs them (the conntrack rule's expressions; any other
//! expression is kept by name only).

use super::nfhooks::{
    attrs, be_u32, c_string, nfnl_err, nft_dump_request, read_dump, request_socket,
    NFNL_SUBSYS_NFTABLES, NFTA_CHAIN_NAME, NFTA_CHAIN_TABLE,
};
use super::Result;
use crate::accepted_flow::{Expr, NftChain, NftRule, Ruleset};

const NFT_MSG_NEWCHAIN: u16 = 3;
const NFT_MSG_GETCHAIN: u16 = 4;
const NFT_MSG_NEWRULE: u16 = 6;
const NFT_MSG_GETRULE: u16 = 7;
const NFTA_CHAIN_HOOK: u16 = 4;
const NFTA_CHAIN_POLICY: u16 = 5;
const NFTA_CHAIN_TYPE: u16 = 7;
const NFTA_HOOK_HOOKNUM: u16 = 1;
const NFTA_HOOK_PRIORITY: u16 = 2;
const NFTA_RULE_TABLE: u16 = 1;
const NFTA_RULE_CHAIN: u16 = 2;
const NFTA_RULE_EXPRESSIONS: u16 = 4;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_EXPR_NAME: u16 = 1;
const NFTA_EXPR_DATA: u16 = 2;
const NFTA_DATA_VALUE: u16 = 1;
const NFTA_DATA_VERDICT: u16 = 2;
const NFTA_VERDICT_CODE: u16 = 1;
/// The register that holds a rule's verdict.
const NFT_REG_VERDICT: u32 = 0;

/// Every chain and rule of every table, all families.
pub fn dump_ruleset() -> Result<Ruleset> {
    let sock = request_socket()?;
    let mut rs = Ruleset::default();
    for (seq, get, new) in [
        (1, NFT_MSG_GETCHAIN, NFT_MSG_NEWCHAIN),
        (2, NFT_MSG_GETRULE, NFT_MSG_NEWRULE),
    ] {
        let m = nft_dump_request(get, seq);
        sock.send(&m, 0)
            .map_err(|e| nfnl_err("ruleset dump request".into(), e))?;
        let kind = NFNL_SUBSYS_NFTABLES << 8 | new;
        let mut bad = false;
        read_dump(&sock, seq, kind, |p| {
            if get == NFT_MSG_GETCHAIN {
                match parse_chain(p) {
                    Some(c) => rs.chains.push(c),
                    None => bad = true,
                }
            } else {
                match parse_rule(p) {
                    Some(r) => rs.rules.push(r),
                    None => bad = true,
                }
            }
        })
        .map_err(|e| nfnl_err("ruleset dump".into(), e))?;
        if bad {
            // A rule that cannot be read could be anything: the caller must not rely on
            // the ruleset.
            return Err(nfnl_err(
                "ruleset dump".into(),
                std::io::Error::new(std::io::ErrorKind::InvalidData, "a malformed chain or rule"),
            ));
        }
    }
    Ok(rs)
}

/// One NFT_MSG_NEWCHAIN payload (nfgenmsg + attributes).
pub fn parse_chain(payload: &[u8]) -> Option<NftChain> {
    let family = *payload.first()?;
    let mut c = NftChain {
        family,
        table: String::new(),
        name: String::new(),
        hook: None,
        kind: String::new(),
        policy: None,
    };
    for (k, v) in attrs(payload.get(4..)?)? {
        match k {
            NFTA_CHAIN_TABLE => c.table = c_string(v),
            NFTA_CHAIN_NAME => c.name = c_string(v),
            NFTA_CHAIN_TYPE => c.kind = c_string(v),
            NFTA_CHAIN_POLICY => c.policy = be_u32(v),
            NFTA_CHAIN_HOOK => {
                let (mut num, mut prio) = (None, 0);
                for (k, v) in attrs(v)? {
                    match k {
                        NFTA_HOOK_HOOKNUM => num = be_u32(v),
                        NFTA_HOOK_PRIORITY => prio = be_u32(v)? as i32,
                        _ => {}
                    }
                }
                c.hook = Some((num?, prio));
            }
            _ => {}
        }
    }
    Some(c)
}

/// One NFT_MSG_NEWRULE payload.
pub fn parse_rule(payload: &[u8]) -> Option<NftRule> {
    let family = *payload.first()?;
    let mut r = NftRule {
        family,
        table: String::new(),
        chain: String::new(),
        exprs: Vec::new(),
    };
    for (k, v) in attrs(payload.get(4..)?)? {
        match k {
            NFTA_RULE_TABLE => r.table = c_string(v),
            NFTA_RULE_CHAIN => r.chain = c_string(v),
            NFTA_RULE_EXPRESSIONS => {
                for (k, elem) in attrs(v)? {
                    if k == NFTA_LIST_ELEM {
                        r.exprs.push(parse_expr(elem)?);
                    }
                }
            }
            _ => {}
        }
    }
    Some(r)
}

fn parse_expr(elem: &[u8]) -> Option<Expr> {
    let (mut name, mut data) = (String::new(), &[][..]);
    for (k, v) in attrs(elem)? {
        match k {
            NFTA_EXPR_NAME => name = c_string(v),
            NFTA_EXPR_DATA => data = v,
            _ => {}
        }
    }
    let a = attrs(data)?;
    let u = |t: u16| a.iter().find(|(k, _)| *k == t).and_then(|(_, v)| be_u32(v));
    let nested = |t: u16, inner: u16| -> Option<Vec<u8>> {
        let (_, v) = a.iter().find(|(k, _)| *k == t)?;
        let (_, d) = attrs(v)?.into_iter().find(|(k, _)| *k == inner)?;
        Some(d.to_vec())
    };
    Some(match name.as_str() {
        // ct: DREG 1, KEY 2, SREG 4 (a `ct set`).
        "ct" if u(4).is_none() => Expr::CtLoad {
            key: u(2)?,
            dreg: u(1)?,
        },
        // bitwise: SREG 1, DREG 2, LEN 3, MASK 4, XOR 5, OP 6 (absent: mask and xor).
        "bitwise" => Expr::Bitwise {
            sreg: u(1)?,
            dreg: u(2)?,
            len: u(3)?,
            op: u(6).unwrap_or(0),
            mask: nested(4, NFTA_DATA_VALUE).unwrap_or_default(),
            xor: nested(5, NFTA_DATA_VALUE).unwrap_or_default(),
        },
        // cmp: SREG 1, OP 2, DATA 3.
        "cmp" => Expr::Cmp {
            sreg: u(1)?,
            op: u(2)?,
            data: nested(3, NFTA_DATA_VALUE)?,
        },
        // immediate: DREG 1, DATA 2; a verdict when DREG is the verdict register.
        "immediate" if u(1) == Some(NFT_REG_VERDICT) => {
            let code = nested(2, NFTA_DATA_VERDICT)?;
            let (_, c) = attrs(&code)?
                .into_iter()
                .find(|(k, _)| *k == NFTA_VERDICT_CODE)?;
            Expr::Verdict(be_u32(c)? as i32)
        }
        "counter" => Expr::Counter,
        _ => Expr::Other(name),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accepted_flow::is_established_accept;
    use crate::net::nfhooks::push_attr;

    fn nest(kind: u16, inner: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        push_attr(&mut m, kind | 0x8000, inner);
        m
    }

    fn expr(name: &str, data: &[u8]) -> Vec<u8> {
        let mut e = Vec::new();
        push_attr(&mut e, NFTA_EXPR_NAME, format!("{name}\0").as_bytes());
        e.extend(nest(NFTA_EXPR_DATA, data));
        nest(NFTA_LIST_ELEM, &e)
    }

    fn attr(kind: u16, v: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        push_attr(&mut m, kind, v);
        m
    }

    /// `ct state established,related counter accept` as the kernel dumps it (inet fw
    /// forward), built attribute by attribute.
    fn ct_rule() -> Vec<u8> {
        let be = |v: u32| v.to_be_bytes();
        let ct = [attr(2, &be(0)), attr(1, &be(1))].concat();
        let bitwise = [
            attr(1, &be(1)),
            attr(2, &be(1)),
            attr(3, &be(4)),
            nest(4, &attr(NFTA_DATA_VALUE, &6u32.to_ne_bytes())),
            nest(5, &attr(NFTA_DATA_VALUE, &[0; 4])),
        ]
        .concat();
        let cmp = [
            attr(1, &be(1)),
            attr(2, &be(1)),
            nest(3, &attr(NFTA_DATA_VALUE, &[0; 4])),
        ]
        .concat();
        let counter = [attr(1, &0u64.to_be_bytes()), attr(2, &0u64.to_be_bytes())].concat();
        let verdict = nest(NFTA_DATA_VERDICT, &attr(NFTA_VERDICT_CODE, &be(1)));
        let imm = [attr(1, &be(0)), nest(2, &verdict)].concat();
        let list = [
            expr("ct", &ct),
            expr("bitwise", &bitwise),
            expr("cmp", &cmp),
            expr("counter", &counter),
            expr("immediate", &imm),
        ]
        .concat();
        let mut p = vec![1, 0, 0, 0];
        push_attr(&mut p, NFTA_RULE_TABLE, b"fw\0");
        push_attr(&mut p, NFTA_RULE_CHAIN, b"forward\0");
        push_attr(&mut p, 3, &7u64.to_be_bytes()); // handle
        p.extend(nest(NFTA_RULE_EXPRESSIONS, &list));
        p
    }

    #[test]
    fn parses_the_conntrack_rule() {
        let r = parse_rule(&ct_rule()).unwrap();
        assert_eq!(
            (r.family, r.table.as_str(), r.chain.as_str()),
            (1, "fw", "forward")
        );
        assert_eq!(r.exprs.len(), 5);
        assert_eq!(r.exprs[0], Expr::CtLoad { key: 0, dreg: 1 });
        assert_eq!(r.exprs[3], Expr::Counter);
        assert_eq!(r.exprs[4], Expr::Verdict(1));
        assert!(is_established_accept(&r.exprs));
        // Truncated: refused, not misread.
        let mut cut = ct_rule();
        cut.truncate(cut.len() - 5);
        assert_eq!(parse_rule(&cut), None);
        // Every truncation and every single-byte corruption: no panic, and never the
        // conntrack rule from a truncated message.
        let full = ct_rule();
        for n in 0..full.len() {
            if let Some(r) = parse_rule(&full[..n]) {
                assert!(r.exprs.len() < 5 || n >= full.len() - 3, "{n}: {r:?}");
            }
            let mut bad = full.clone();
            bad[n] ^= 0xa5;
            let _ = parse_rule(&bad);
            let _ = parse_chain(&bad);
        }
    }

    #[test]
    fn parses_a_base_chain_with_type_and_policy() {
        let mut hook = Vec::new();
        push_attr(&mut hook, NFTA_HOOK_HOOKNUM, &2u32.to_be_bytes());
        push_attr(&mut hook, NFTA_HOOK_PRIORITY, &(-5i32 as u32).to_be_bytes());
        let mut p = vec![1, 0, 0, 0];
        push_attr(&mut p, NFTA_CHAIN_TABLE, b"fw\0");
        push_attr(&mut p, NFTA_CHAIN_NAME, b"forward\0");
        p.extend(nest(NFTA_CHAIN_HOOK, &hook));
        push_attr(&mut p, NFTA_CHAIN_POLICY, &0u32.to_be_bytes());
        push_attr(&mut p, NFTA_CHAIN_TYPE, b"filter\0");
        let c = parse_chain(&p).unwrap();
        assert_eq!(c.hook, Some((2, -5)));
        assert_eq!(c.kind, "filter");
        assert_eq!(c.policy, Some(0));
        assert_eq!(c.name, "forward");
    }
}
