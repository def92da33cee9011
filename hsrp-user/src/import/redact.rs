//! Masking secrets in the lines the import report quotes: a running-config holds enable
//! secrets, user passwords, SNMP communities, routing-protocol and HSRP keys, and the
//! report goes to a terminal or a ticket.

/// Words after which the rest of an IOS line is secret (or may be).
const SECRET_AFTER: &[&str] = &[
    "authentication",
    "authentication-key",
    "community",
    "key",
    "key-string",
    "md5",
    "message-digest-key",
    "password",
    "pre-shared-key",
    "secret",
    "wpa-psk",
];

/// `line` with everything after the first secret-bearing word replaced by `<redacted>`.
/// `key chain NAME` and a key chain's `key N` line are not secrets and stay (`key 7 X`
/// of a TACACS+ server is).
pub fn redact(line: &str) -> String {
    let toks: Vec<&str> = line.split_whitespace().collect();
    let lower: Vec<String> = toks.iter().map(|t| t.to_ascii_lowercase()).collect();
    let words: Vec<&str> = lower.iter().map(String::as_str).collect();
    if matches!(words.as_slice(), ["key", "chain", ..] | ["key", _]) {
        return line.to_string();
    }
    for (i, t) in toks.iter().enumerate() {
        if SECRET_AFTER.contains(&t.to_ascii_lowercase().as_str()) && i + 1 < toks.len() {
            return format!("{} <redacted>", toks[..=i].join(" "));
        }
    }
    line.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_names_are_not() {
        assert_eq!(
            redact("enable secret 5 $1$abc$def"),
            "enable secret <redacted>"
        );
        assert_eq!(
            redact("standby 1 authentication md5 key-string 7 094F471A1A0A"),
            "standby 1 authentication <redacted>"
        );
        assert_eq!(
            redact("snmp-server community s3cret RO"),
            "snmp-server community <redacted>"
        );
        assert_eq!(redact("key-string 7 094F471A1A0A"), "key-string <redacted>");
        assert_eq!(redact("key chain HSRP-KEYS"), "key chain HSRP-KEYS");
        assert_eq!(redact("key 1"), "key 1");
        assert_eq!(redact("key 7 131116110A0F17012E3D"), "key <redacted>");
        assert_eq!(
            redact("crypto isakmp key k1 address 0.0.0.0"),
            "crypto isakmp key <redacted>"
        );
        assert_eq!(redact("router ospf 1"), "router ospf 1");
    }
}
