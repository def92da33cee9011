//! Log set-up: plain lines on stderr (journald adds its own timestamps), level from
//! `RUST_LOG`, `info` by default.

pub fn init() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_timestamp_millis()
        .init();
}
