//! The XDP data plane from userspace: loading, attaching, pinning, the typed map API.

pub mod cli;
