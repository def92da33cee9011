//! Is an XDP program already attached to an interface? A second hsrpd (or any other XDP
//! user) on the same interface must be refused before anything is touched: the loader
//! falls back from native to generic mode on any refusal, so an occupied interface would
//! otherwise end up with two programs in two modes.

use anyhow::{Context, Result};
use futures::TryStreamExt;
use rtnetlink::packet_route::link::{LinkAttribute, LinkXdp};

/// The id of the XDP program attached to `ifname` in any mode, if one is.
pub async fn attached_program(ifname: &str) -> Result<Option<u32>> {
    let (connection, handle, _) =
        rtnetlink::new_connection().context("opening a netlink socket")?;
    let task = tokio::spawn(connection);
    let result = async {
        let mut links = handle.link().get().match_name(ifname.to_owned()).execute();
        let link = links
            .try_next()
            .await
            .with_context(|| format!("reading link {ifname}"))?
            .with_context(|| format!("no interface named {ifname}"))?;
        let mut id = None;
        for attr in &link.attributes {
            if let LinkAttribute::Xdp(xdp) = attr {
                for x in xdp {
                    match x {
                        LinkXdp::ProgId(p)
                        | LinkXdp::DrvProgId(p)
                        | LinkXdp::SkbProgId(p)
                        | LinkXdp::HwProgId(p)
                            if *p != 0 =>
                        {
                            id = Some(*p)
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(id)
    }
    .await;
    task.abort();
    result
}
