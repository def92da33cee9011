//! The layering of docs/architecture.md ("Layering"), checked on the source of every
//! module of hsrp-user:
//!
//! 1. The pure cores (`proto`, `wire`, `fsm`, `bfd`, `track`, `sim`), and the pure files of
//!    the other modules ([`PURE_FILES`]: the configuration's parser and checks, the
//!    next-hop cache's policy, the sentinel's message format and decisions) do no I/O: no
//!    tokio, aya, libc, netlink or socket crate, no `std::fs` / `std::process` / `std::os`
//!    / std sockets, none of the modules that do I/O, and from `net` only its plain data.
//! 2. Only `net` opens sockets, talks netlink or queries interfaces (socket(2), AF_PACKET,
//!    AF_NETLINK, if_nameindex, getifaddrs, ioctl, the netlink and socket crates, std and
//!    tokio sockets). One exception: `control` serves the operator's endpoints, the status
//!    socket (Unix) and the metrics listener (TCP).
//! 3. Only `dataplane` uses aya (and the bpf(2) syscall).
//!
//! Every path the code names is resolved through the file's `use` items (aliases, `self`,
//! `super`) and compared segment by segment, so `std::net::Ipv4Addr` is not a socket and
//! `use libc as c; c::socket(..)` is. Paths inside macro invocations (`select!`,
//! `format!`) count too. Code under `#[cfg(test)]` is not checked: tests may do I/O.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::visit::Visit;

/// The modules that do no I/O.
const PURE: &[&str] = &["proto", "wire", "fsm", "bfd", "track", "sim"];

/// The files that do no I/O in modules that do: the decisions next to the I/O, and the
/// configuration's parser and checks (loading the file and reading the system is
/// `config/mod.rs`'s, through `net`).
const PURE_FILES: &[&str] = &[
    "config/parse.rs",
    "config/resolve.rs",
    "config/system.rs",
    "config/model.rs",
    "config/advice.rs",
    "config/values.rs",
    "config/bfd.rs",
    "config/error.rs",
    "config/lifetime.rs",
    "nexthop_cache/policy.rs",
    "sentinel/message.rs",
    "sentinel/speak.rs",
];

/// What a pure core must not name.
const IO: &[&str] = &[
    "tokio",
    "aya",
    "aya_log",
    "aya_obj",
    "libc",
    "nix",
    "mio",
    "socket2",
    "rtnetlink",
    "netlink_packet_core",
    "netlink_packet_route",
    "netlink_sys",
    "netlink_proto",
    "std::fs",
    "std::process",
    "std::os",
    "std::net::UdpSocket",
    "std::net::TcpListener",
    "std::net::TcpStream",
    "std::io::stdin",
    "std::io::stdout",
    "crate::daemon",
    "crate::dataplane",
    "crate::control",
    "crate::sentinel",
    "crate::nexthop_cache",
    "crate::privileges",
    "crate::logging",
];

/// The plain data of `net` a pure core may use; anything else there is I/O.
const NET_DATA: &[&str] = &[
    "IpPrefix",
    "NetEvent",
    "IfAddr",
    "InterfaceInfo",
    "LinkName",
    "SystemView",
    "RoutingChange",
    "RoutingEntry",
    "RouteShape",
    "RuleShape",
    "HSRP_PORT_V4",
    "HSRP_PORT_V6",
];

/// Sockets, netlink and interface queries: `net`'s alone.
const NET_ONLY: &[&str] = &[
    "libc::socket",
    "libc::socketpair",
    "libc::AF_PACKET",
    "libc::PF_PACKET",
    "libc::AF_NETLINK",
    "libc::PF_NETLINK",
    "libc::NETLINK_*",
    "libc::sockaddr_ll",
    "libc::sockaddr_nl",
    "libc::if_nameindex",
    "libc::if_freenameindex",
    "libc::if_nametoindex",
    "libc::if_indextoname",
    "libc::getifaddrs",
    "libc::freeifaddrs",
    "libc::ioctl",
    "socket2",
    "rtnetlink",
    "netlink_packet_core",
    "netlink_packet_route",
    "netlink_sys",
    "netlink_proto",
    "std::net::UdpSocket",
    "std::net::TcpListener",
    "std::net::TcpStream",
    "tokio::net::UdpSocket",
    "tokio::net::TcpListener",
    "tokio::net::TcpStream",
    "tokio::net::TcpSocket",
    "tokio::net::UnixListener",
    "tokio::net::UnixStream",
    "tokio::net::UnixDatagram",
    "std::os::unix::net",
];

/// `control`'s exception to [`NET_ONLY`]: the operator's endpoints, the status socket
/// (Unix) and the metrics listener (TCP). They serve the operator, not the protocol, and
/// open no packet, raw or netlink socket.
const CONTROL_SOCKET: &[&str] = &[
    "tokio::net::UnixListener",
    "tokio::net::UnixStream",
    "std::os::unix::net",
    "tokio::net::TcpListener",
    "tokio::net::TcpStream",
    "std::net::TcpListener",
];

/// aya and bpf(2): `dataplane`'s alone.
const DATAPLANE_ONLY: &[&str] = &["aya", "aya_log", "aya_obj", "libc::SYS_bpf"];

/// One path the code names, resolved, and where.
#[derive(Debug)]
struct Reference {
    path: Vec<String>,
    line: usize,
}

/// The layering violations in `source`, a file of module `module` (the first component
/// under src/: "wire", "daemon", "main" for main.rs, "lib" for lib.rs) whose own module
/// path is `self_path` (e.g. `crate::net::packet`); `pure`: it may do no I/O.
fn violations(
    module: &str,
    pure: bool,
    self_path: &[&str],
    source: &str,
) -> Result<Vec<String>, String> {
    let file = syn::parse_file(source).map_err(|e| format!("does not parse: {e}"))?;
    let mut out = Vec::new();
    for r in references(&file, self_path) {
        let text = r.path.join("::");
        // A pure file may use the pure files beside it (`crate::sentinel::message` from
        // `sentinel/speak.rs`).
        let pure_sibling = r.path.len() > 2
            && r.path[..2] == ["crate", module]
            && PURE_FILES.contains(&format!("{module}/{}.rs", r.path[2]).as_str());
        if pure && !pure_sibling {
            if let Some(p) = first_match(&r.path, IO) {
                out.push(format!("{}: `{text}`: {module} does no I/O ({p})", r.line));
            }
            if r.path.len() > 2
                && r.path[..2] == ["crate", "net"]
                && !NET_DATA.contains(&r.path[2].as_str())
            {
                out.push(format!(
                    "{}: `{text}`: {module} takes only plain data from net",
                    r.line
                ));
            }
            if r.path == ["crate", "net", "*"] {
                out.push(format!(
                    "{}: `{text}`: a glob of net hides what {module} uses",
                    r.line
                ));
            }
        }
        if module != "net" {
            let allowed = |p: &&str| module == "control" && CONTROL_SOCKET.contains(p);
            if let Some(p) = first_match(&r.path, NET_ONLY).filter(|p| !allowed(p)) {
                out.push(format!("{}: `{text}`: only net opens sockets, talks netlink or queries interfaces ({p})", r.line));
            }
            if r.path == ["libc", "*"] {
                out.push(format!(
                    "{}: `{text}`: a glob of libc hides what it uses",
                    r.line
                ));
            }
        }
        if module != "dataplane" {
            if let Some(p) = first_match(&r.path, DATAPLANE_ONLY) {
                out.push(format!(
                    "{}: `{text}`: only dataplane uses aya ({p})",
                    r.line
                ));
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The first pattern that is a prefix of `path`, segment by segment (a last segment
/// `NAME_*` matches any segment starting with `NAME_`).
fn first_match(path: &[String], patterns: &[&'static str]) -> Option<&'static str> {
    patterns.iter().copied().find(|p| {
        let segs: Vec<&str> = p.split("::").collect();
        segs.len() <= path.len()
            && segs
                .iter()
                .zip(path)
                .all(|(s, seg)| match s.strip_suffix('*') {
                    Some(prefix) => seg.starts_with(prefix),
                    None => s == seg,
                })
    })
}

/// Every path in `file` outside `#[cfg(test)]`, resolved through the file's `use` items:
/// a first pass reads the `use` items (each a reference, and an alias for its last name),
/// a second every other path, in code and in macro invocations.
fn references(file: &syn::File, self_path: &[&str]) -> Vec<Reference> {
    let mut scan = Scan {
        second_pass: false,
        module: self_path.iter().map(|s| s.to_string()).collect(),
        aliases: HashMap::new(),
        found: Vec::new(),
    };
    scan.visit_file(file);
    scan.second_pass = true;
    scan.visit_file(file);
    scan.found
}

fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.parse_args::<syn::Meta>()
                .is_ok_and(|m| m.path().is_ident("test"))
    })
}

fn line(span: Span) -> usize {
    span.start().line
}

/// `self` and `super` made absolute from the module `module`.
fn absolute(module: &[String], segs: &[String]) -> Vec<String> {
    let mut base: Vec<String> = Vec::new();
    let mut rest = segs;
    match segs.first().map(String::as_str) {
        Some("self") => {
            base = module.to_vec();
            rest = &segs[1..];
        }
        Some("super") => {
            base = module.to_vec();
            while rest.first().map(String::as_str) == Some("super") {
                base.pop();
                rest = &rest[1..];
            }
        }
        _ => {}
    }
    base.extend(rest.iter().cloned());
    base
}

struct Scan {
    second_pass: bool,
    module: Vec<String>,
    aliases: HashMap<String, Vec<String>>,
    found: Vec<Reference>,
}

impl Scan {
    fn use_tree(&mut self, prefix: &[String], tree: &syn::UseTree, at: usize) {
        let join = |name: &str| {
            let mut p = prefix.to_vec();
            p.push(name.to_string());
            p
        };
        match tree {
            syn::UseTree::Path(p) => self.use_tree(&join(&p.ident.to_string()), &p.tree, at),
            syn::UseTree::Group(g) => g.items.iter().for_each(|t| self.use_tree(prefix, t, at)),
            syn::UseTree::Name(n) => {
                let name = n.ident.to_string();
                // `use a::b::{self}` names `b`.
                let full = if name == "self" {
                    prefix.to_vec()
                } else {
                    join(&name)
                };
                let full = absolute(&self.module, &full);
                let alias = full.last().cloned().unwrap_or_default();
                self.aliases.insert(alias, full.clone());
                self.found.push(Reference {
                    path: full,
                    line: at,
                });
            }
            syn::UseTree::Rename(r) => {
                let full = absolute(&self.module, &join(&r.ident.to_string()));
                self.aliases.insert(r.rename.to_string(), full.clone());
                self.found.push(Reference {
                    path: full,
                    line: at,
                });
            }
            syn::UseTree::Glob(_) => self.found.push(Reference {
                path: absolute(&self.module, &join("*")),
                line: at,
            }),
        }
    }

    fn add(&mut self, segs: Vec<String>, at: usize) {
        let Some(first) = segs.first() else { return };
        let path = match self.aliases.get(first) {
            Some(full) => full.iter().chain(&segs[1..]).cloned().collect(),
            None => absolute(&self.module, &segs),
        };
        self.found.push(Reference { path, line: at });
    }

    /// `a::b::c` chains in a macro's tokens (nested groups included).
    fn tokens(&mut self, tokens: TokenStream) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        let mut i = 0;
        while i < trees.len() {
            match &trees[i] {
                TokenTree::Group(g) => {
                    self.tokens(g.stream());
                    i += 1;
                }
                TokenTree::Ident(id) => {
                    let at = line(id.span());
                    let mut segs = vec![id.to_string()];
                    let mut j = i + 1;
                    while let (
                        Some(TokenTree::Punct(a)),
                        Some(TokenTree::Punct(b)),
                        Some(TokenTree::Ident(next)),
                    ) = (trees.get(j), trees.get(j + 1), trees.get(j + 2))
                    {
                        if a.as_char() != ':' || b.as_char() != ':' {
                            break;
                        }
                        segs.push(next.to_string());
                        j += 3;
                    }
                    if segs.len() > 1 {
                        self.add(segs, at);
                    }
                    i = j;
                }
                _ => i += 1,
            }
        }
    }
}

impl<'ast> Visit<'ast> for Scan {
    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        if !self.second_pass && !is_test_only(&u.attrs) {
            self.use_tree(&[], &u.tree, line(u.use_token.span));
        }
    }
    fn visit_path(&mut self, p: &'ast syn::Path) {
        if self.second_pass {
            let segs: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
            let at = p.segments.first().map_or(0, |s| line(s.ident.span()));
            self.add(segs, at);
        }
        syn::visit::visit_path(self, p);
    }
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        if self.second_pass {
            self.tokens(m.tokens.clone());
        }
        syn::visit::visit_macro(self, m);
    }
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if is_test_only(&m.attrs) {
            return;
        }
        self.module.push(m.ident.to_string());
        syn::visit::visit_item_mod(self, m);
        self.module.pop();
    }
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        if !is_test_only(&f.attrs) {
            syn::visit::visit_item_fn(self, f);
        }
    }
    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        if !is_test_only(&i.attrs) {
            syn::visit::visit_item_impl(self, i);
        }
    }
    fn visit_attribute(&mut self, _: &'ast syn::Attribute) {}
    // `pub(super)` names a module, not a use of it.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// ("wire", ["crate", "wire", "v1"]) for src/wire/v1.rs; mod.rs is its directory.
fn module_of(relative: &Path) -> (String, Vec<String>) {
    let mut parts: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let module = parts[0].clone();
    if parts.last().is_some_and(|p| p == "mod") || module == "lib" || module == "main" {
        parts.pop();
    }
    let mut path = vec!["crate".to_string()];
    path.extend(parts);
    (module, path)
}

#[test]
fn the_sources_keep_the_layering() {
    let root = src();
    for m in PURE.iter().chain(&["net", "dataplane", "control"]) {
        assert!(
            root.join(m).is_dir() || root.join(format!("{m}.rs")).is_file(),
            "module {m} moved: update this test's rules"
        );
    }
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files.sort();
    assert!(
        files.len() > 100,
        "only {} files under {}",
        files.len(),
        root.display()
    );
    for f in PURE_FILES {
        assert!(
            root.join(f).is_file(),
            "{f} moved: update this test's rules"
        );
    }
    let mut problems = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&root).unwrap();
        let (module, path) = module_of(relative);
        let path: Vec<&str> = path.iter().map(String::as_str).collect();
        let source = std::fs::read_to_string(file).unwrap();
        let pure = PURE.contains(&module.as_str())
            || PURE_FILES.contains(&relative.to_string_lossy().as_ref());
        match violations(&module, pure, &path, &source) {
            Ok(v) => problems.extend(
                v.into_iter()
                    .map(|v| format!("src/{}:{v}", relative.display())),
            ),
            Err(e) => problems.push(format!("src/{}: {e}", relative.display())),
        }
    }
    assert!(
        problems.is_empty(),
        "the layering (docs/architecture.md) is broken:\n{}",
        problems.join("\n")
    );
}

/// The scanner sees the real uses it is meant to catch: run on `net` and `dataplane` as
/// if they were another module, their sockets, netlink and aya are reported.
#[test]
fn the_scanner_sees_the_real_io_of_net_and_dataplane() {
    let read = |p: &str| std::fs::read_to_string(src().join(p)).unwrap();
    let as_daemon = |p: &str| violations("daemon", false, &["crate", "daemon"], &read(p)).unwrap();
    let packet = as_daemon("net/packet.rs");
    assert!(
        packet.iter().any(|v| v.contains("`libc::socket`")),
        "{packet:#?}"
    );
    assert!(
        packet.iter().any(|v| v.contains("`libc::AF_PACKET`")),
        "{packet:#?}"
    );
    let links = as_daemon("net/links.rs");
    assert!(
        links.iter().any(|v| v.contains("(rtnetlink)")),
        "{links:#?}"
    );
    let loader = as_daemon("dataplane/loader.rs");
    assert!(
        loader.iter().any(|v| v.contains("only dataplane uses aya")),
        "{loader:#?}"
    );
    // And the modules themselves are clean where they are.
    assert_eq!(
        violations(
            "net",
            false,
            &["crate", "net", "packet"],
            &read("net/packet.rs")
        ),
        Ok(vec![])
    );
}

/// The house rule on function length: production functions stay under about this many
/// lines, from `fn` to the closing brace (docs/architecture.md, "Layering").
const MAX_FN_LINES: usize = 80;

/// Production functions allowed to be longer than [`MAX_FN_LINES`]: `file:Type::name`
/// (or `file:name`) and why it reads best in one piece.
const LONG_FN_ALLOWED: &[(&str, &str)] = &[];

/// The production functions (not under `#[cfg(test)]`) of one file and their lengths.
#[derive(Default)]
struct FnLengths {
    /// The type of the `impl` being walked, for the names.
    self_ty: Vec<String>,
    found: Vec<(String, usize)>,
}

impl FnLengths {
    fn record(&mut self, name: &syn::Ident, fn_token: Span, body: &syn::Block) {
        let lines = body.brace_token.span.close().end().line + 1 - line(fn_token);
        let name = match self.self_ty.last() {
            Some(ty) => format!("{ty}::{name}"),
            None => name.to_string(),
        };
        self.found.push((name, lines));
    }
}

impl<'ast> Visit<'ast> for FnLengths {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if !is_test_only(&m.attrs) {
            syn::visit::visit_item_mod(self, m);
        }
    }
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        if !is_test_only(&f.attrs) {
            self.record(&f.sig.ident, f.sig.fn_token.span, &f.block);
            syn::visit::visit_item_fn(self, f);
        }
    }
    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        if is_test_only(&i.attrs) {
            return;
        }
        let ty = match &*i.self_ty {
            syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
            _ => None,
        };
        self.self_ty.push(ty.unwrap_or_else(|| "_".into()));
        syn::visit::visit_item_impl(self, i);
        self.self_ty.pop();
    }
    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        if !is_test_only(&f.attrs) {
            self.record(&f.sig.ident, f.sig.fn_token.span, &f.block);
            syn::visit::visit_impl_item_fn(self, f);
        }
    }
}

/// `file:name (N lines)` for each production function of `source` longer than `max`.
fn long_functions(file: &str, source: &str, max: usize) -> Vec<String> {
    let parsed = syn::parse_file(source).unwrap_or_else(|e| panic!("{file}: {e}"));
    let mut v = FnLengths::default();
    v.visit_file(&parsed);
    v.found
        .into_iter()
        .filter(|(_, lines)| *lines > max)
        .map(|(name, lines)| format!("{file}:{name} ({lines} lines)"))
        .collect()
}

#[test]
fn production_functions_stay_short() {
    let root = src();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files.sort();
    let mut long = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&root).unwrap().display().to_string();
        let source = std::fs::read_to_string(file).unwrap();
        long.extend(long_functions(&relative, &source, MAX_FN_LINES));
    }
    let allowed = |l: &String| {
        LONG_FN_ALLOWED
            .iter()
            .any(|(name, _)| l.starts_with(&format!("{name} (")))
    };
    let (_, over): (Vec<String>, Vec<String>) = long.iter().cloned().partition(allowed);
    assert!(
        over.is_empty(),
        "production functions over {MAX_FN_LINES} lines (split them along their cases, or \
         allow one in LONG_FN_ALLOWED with the reason it reads best long):\n{}",
        over.join("\n")
    );
    // An allowance for a function that got short (or went) is stale.
    for (name, _) in LONG_FN_ALLOWED {
        assert!(
            long.iter().any(|l| l.starts_with(&format!("{name} ("))),
            "{name} is no longer over {MAX_FN_LINES} lines: drop it from LONG_FN_ALLOWED"
        );
    }
}

/// The length check counts from `fn` to the closing brace, names methods by their type,
/// and leaves test code alone.
#[test]
fn the_length_check_measures_what_it_says() {
    let body = |n: usize| "    let _ = 1;\n".repeat(n);
    let src = format!(
        "/// Doc lines do not count.\nfn short() {{\n{}}}\nstruct S;\nimpl S {{\n    fn long(&self) {{\n{}    }}\n}}\n\
         #[cfg(test)]\nmod tests {{\n    fn helper() {{\n{}    }}\n}}\n",
        body(8),
        body(9),
        body(20)
    );
    // short: `fn` line, 8 body lines, `}`: 10 lines. S::long: 11.
    assert_eq!(
        long_functions("x.rs", &src, 10),
        vec!["x.rs:S::long (11 lines)"]
    );
    assert_eq!(long_functions("x.rs", &src, 9).len(), 2);
}

#[cfg(test)]
mod scanner {
    use super::{violations, PURE};

    fn check(module: &str, source: &str) -> Vec<String> {
        violations(
            module,
            PURE.contains(&module),
            &["crate", module, "x"],
            source,
        )
        .unwrap()
    }

    #[test]
    fn addresses_are_data_and_sockets_are_io() {
        assert_eq!(
            check(
                "wire",
                "use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};\nfn f(a: std::net::Ipv4Addr) {}"
            ),
            Vec::<String>::new()
        );
        let v = check(
            "wire",
            "use std::net::UdpSocket;\nfn f() { let s = UdpSocket::bind(\"0.0.0.0:0\"); }",
        );
        assert!(
            v.iter()
                .any(|v| v.starts_with("1: `std::net::UdpSocket`: wire does no I/O")),
            "{v:#?}"
        );
        assert!(
            v.iter()
                .any(|v| v.starts_with("2: `std::net::UdpSocket::bind`")),
            "{v:#?}"
        );
        assert!(
            v.iter().any(|v| v.contains("only net opens sockets")),
            "{v:#?}"
        );
    }

    #[test]
    fn a_pure_core_may_not_name_io_crates_or_io_modules() {
        for (src, what) in [
            ("fn f() { tokio::spawn(async {}); }", "tokio::spawn"),
            ("use std::fs::read;", "std::fs::read"),
            ("fn f() { std::process::exit(1) }", "std::process::exit"),
            (
                "use crate::dataplane::maps::DataplaneMaps;",
                "crate::dataplane::maps::DataplaneMaps",
            ),
            ("use crate::net::Netlink;", "crate::net::Netlink"),
            (
                "fn f() -> u32 { unsafe { libc::getpid() as u32 } }",
                "libc::getpid",
            ),
        ] {
            for module in ["fsm", "track", "bfd", "wire"] {
                let v = check(module, src);
                assert!(
                    v.iter().any(|v| v.contains(&format!("`{what}`"))),
                    "{module}: {src}: {v:#?}"
                );
            }
        }
        // net's plain data is fine.
        assert_eq!(
            check("track", "use crate::net::{IpPrefix, NetEvent};"),
            Vec::<String>::new()
        );
        // The same code is fine where I/O belongs.
        assert_eq!(
            check("daemon", "fn f() { tokio::spawn(async {}); }"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn only_net_opens_sockets_and_netlink_and_queries_interfaces() {
        let raw = "fn f() { unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0); } }";
        let v = check("daemon", raw);
        assert_eq!(v.len(), 2, "{v:#?}");
        assert!(
            v[0].contains("`libc::AF_PACKET`") && v[1].contains("`libc::socket`"),
            "{v:#?}"
        );
        assert_eq!(check("net", raw), Vec::<String>::new());
        for src in [
            "fn f() { let c = rtnetlink::new_connection(); }",
            "use rtnetlink::packet_route::link::LinkAttribute;",
            "fn f() { unsafe { libc::if_nameindex(); } }",
            "fn f() { unsafe { libc::getifaddrs(std::ptr::null_mut()); } }",
            "fn f() { let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None); }",
            "fn f() { let _ = libc::NETLINK_ROUTE; }",
            "async fn f() { let _ = tokio::net::UdpSocket::bind(\"0.0.0.0:0\").await; }",
            "use std::os::unix::net::UnixStream;",
        ] {
            for module in ["daemon", "config", "dataplane", "sentinel", "nexthop_cache"] {
                assert!(!check(module, src).is_empty(), "{module}: {src}");
            }
        }
        // The status socket is control's.
        assert_eq!(
            check("control", "use std::os::unix::net::UnixStream;"),
            Vec::<String>::new()
        );
        assert_eq!(
            check("control", "use tokio::net::{TcpListener, TcpStream};"),
            Vec::<String>::new()
        );
        // But no datagram, packet, raw or netlink socket.
        for src in [
            "use std::net::UdpSocket;",
            "use tokio::net::UdpSocket;",
            "fn f() { unsafe { libc::socket(libc::AF_PACKET, 3, 0); } }",
            "fn f() { let c = rtnetlink::new_connection(); }",
            "use socket2::Socket;",
        ] {
            assert!(!check("control", src).is_empty(), "{src}");
        }
    }

    /// `src` in `module` is reported with a violation containing `needle`.
    fn assert_flagged(module: &str, src: &str, needle: &str) {
        let v = check(module, src);
        assert!(v.iter().any(|v| v.contains(needle)), "{v:#?}");
    }

    #[test]
    fn aliases_self_super_globs_and_macros_do_not_hide_a_use() {
        let v = check(
            "config",
            "use libc as c;\nfn f() { unsafe { c::getifaddrs(std::ptr::null_mut()); } }",
        );
        assert!(
            v.iter().any(|v| v.starts_with("2: `libc::getifaddrs`")),
            "{v:#?}"
        );
        assert_flagged("daemon", "use libc::*;", "a glob of libc");
        assert_flagged(
            "daemon",
            "async fn f() { tokio::select! { c = async { rtnetlink::new_connection() } => {} } }",
            "`rtnetlink::new_connection`",
        );
        assert_flagged(
            "daemon",
            "fn f() { log::info!(\"{:?}\", libc::if_nametoindex(std::ptr::null())); }",
            "`libc::if_nametoindex`",
        );
        // From crate::fsm::x, super::super is the crate root.
        assert_flagged(
            "fsm",
            "use super::super::net::RoutingWatch;",
            "`crate::net::RoutingWatch`",
        );
        assert_flagged(
            "fsm",
            "use self::inner::X; mod inner { pub use crate::daemon::Daemon as X; }",
            "`crate::daemon::Daemon`",
        );
        // Only aya in the data plane, even through a rename.
        assert_flagged(
            "daemon",
            "use aya::maps::HashMap as Map;\nfn f(m: Map<(), u32, u32>) {}",
            "only dataplane uses aya",
        );
        assert_eq!(
            check("dataplane", "use aya::maps::HashMap;"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_pure_file_may_use_its_pure_siblings_only() {
        let speak =
            |src: &str| violations("sentinel", true, &["crate", "sentinel", "speak"], src).unwrap();
        assert_eq!(
            speak("use super::message::{LastWord, Verdict};\npub(super) fn f(v: Verdict) {}"),
            Vec::<String>::new()
        );
        let v = speak("use super::process::Sentinel;");
        assert!(
            v.iter()
                .any(|v| v.contains("`crate::sentinel::process::Sentinel`")),
            "{v:#?}"
        );
        let v = speak("fn f() { std::thread::sleep(std::time::Duration::ZERO); let _ = std::fs::metadata(\"x\"); }");
        assert!(
            v.iter().any(|v| v.contains("`std::fs::metadata`")),
            "{v:#?}"
        );
    }

    #[test]
    fn test_code_may_do_io() {
        let src =
            "#[cfg(test)]\nmod tests { use std::fs; #[test] fn t() { fs::read(\"x\").ok(); } }";
        assert_eq!(check("wire", src), Vec::<String>::new());
        // But not production code next to it.
        assert!(!check(
            "wire",
            &format!("{src}\nfn f() {{ std::fs::read(\"x\").ok(); }}")
        )
        .is_empty());
    }
}
