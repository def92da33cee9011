//! Start-up: everything between a valid configuration and the first loop iteration.
//!
//! Order matters: refuse a second instance before touching anything; load the data plane
//! (which replaces pins left by a crashed run) and reset its maps; attach; install the
//! groups; open the sockets (so no hello is missed) and only then start the groups.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use log::{debug, info, warn};
use tokio::sync::mpsc;

use super::fast_path::FastPathKeeper;
use super::groups::{self, GroupKey};
use super::{Daemon, GroupRt, Iface};
use crate::config::{Config, GroupSpec, InterfaceConfig};
use crate::dataplane::bfd_offload::BfdMaps;
use crate::dataplane::flows::FlowMap;
use crate::dataplane::fwd_mode::FwdModeMap;
use crate::dataplane::maps::DataplaneMaps;
use crate::dataplane::nexthop::NexthopMaps;
use crate::dataplane::MapSet;
use crate::dataplane::{Dataplane, LoadOptions, DEFAULT_PIN_DIR};
use crate::fsm::{Advertiser, Event, Group};
use crate::net::{self, InterfaceInfo, NetWatcher, Netlink, PacketSocket};
use crate::nexthop_cache::NexthopKeeper;
use crate::proto::{MacAddr, Version};
use crate::track::Tracker;

impl Daemon {
    pub(super) async fn start(
        config_path: &Path,
        config: Config,
        frame_tx: mpsc::Sender<super::receive::FrameBatch>,
        options: super::RunOptions,
        aux: &tokio::runtime::Handle,
    ) -> Result<Daemon> {
        let netlink = Netlink::connect().context("opening netlink")?;
        // Subscribed before anything is read, so no change between the reads and the loop
        // is lost.
        let watcher = NetWatcher::new().context("subscribing to netlink events")?;

        let infos = read_interfaces(&netlink, &config).await?;

        let (mut dataplane, mut maps) = load_dataplane(&config)?;

        let ifaces = open_interfaces(&config, infos, &mut dataplane, &mut maps, &frame_tx)?;
        add_forwarding_targets(&mut maps);
        let nexthop = start_nexthop_cache(&mut dataplane, options.nexthop_cache, aux).await?;
        // Before any group exists (so before any can be Active): no frame is forwarded
        // past netfilter hooks that were there first.
        let fast_path = FastPathKeeper::start(
            FwdModeMap::from_dataplane(&mut dataplane)?,
            Some(FlowMap::from_dataplane(&mut dataplane)?),
            config.fast_path,
            aux,
        )
        .await
        .context("deciding between the XDP fast path and the kernel path")?;

        let bfd_maps = BfdMaps::from_dataplane(&mut dataplane)?;
        let (bfd_tx, bfd_rx) = mpsc::channel(super::FRAME_QUEUE);
        let mut daemon = Daemon {
            config_path: config_path.to_path_buf(),
            tracker: Tracker::new(&config.tracks),
            probes: super::tracking::Probes::new(netlink.clone()),
            key_deadline: None,
            operator: super::operator::Operator::new(&config.operator),
            last_words: Default::default(),
            config,
            start: Instant::now(),
            dp: super::DataPlane {
                program: Some(dataplane),
                maps,
                nexthop,
                fast_path: Some(fast_path),
            },
            netlink,
            watcher,
            ifaces,
            groups: Default::default(),
            due: Vec::new(),
            lateness: Default::default(),
            aux: aux.clone(),
            realtime: super::realtime::Realtime {
                cli: options.realtime,
                applied: None,
            },
            loaded: Default::default(),
            precise: None,
            bfd: super::bfd::Peering::new(bfd_tx),
            bfd_rx,
            tx: Default::default(),
        };
        daemon
            .bfd
            .set_offload(super::bfd_offload::Offload::new(bfd_maps, daemon.start));
        daemon.bfd.follow_fast_path(daemon.config.fast_path);
        daemon.add_groups()?;
        daemon.bring_up().await;
        Ok(daemon)
    }

    /// Every configured group: its state machine, installed in the data plane (not
    /// Active), indexed.
    fn add_groups(&mut self) -> Result<()> {
        // (interface, group) pairs; the interface configuration is borrowed, not cloned per
        // group (it holds every group: cloning it per group is quadratic in memory).
        let specs: Vec<(usize, GroupSpec)> = self
            .config
            .interfaces
            .iter()
            .enumerate()
            .flat_map(|(i, c)| c.groups.iter().map(move |g| (i, g.clone())))
            .collect();
        for (i, spec) in specs {
            let g = self.new_group(i, &self.config.interfaces[i], spec)?;
            let version = g.fsm.config().version;
            self.install(i, g.key.group, version, g.vmac, &g.vips)?;
            self.groups.push(g);
        }
        self.reindex();
        Ok(())
    }

    /// Keys, BFD, tracked objects and probes as they are now, then the groups of the
    /// interfaces that are up start.
    async fn bring_up(&mut self) {
        // Before any group speaks: the keys valid now.
        self.rekey().await;
        self.configure_bfd();
        self.refresh_tracks().await;
        self.probes.restart(&self.tracker, &self.config.ip_slas);
        for gi in 0..self.groups.len() {
            if self.ifaces[self.groups[gi].iface].up {
                self.feed(gi, Event::InterfaceUp).await;
            } else {
                info!(
                    "{}: waiting for the line protocol to come up",
                    self.groups[gi].key
                );
            }
        }
        self.advertise().await;
    }

    /// A state machine for a configured group on interface `i` (not installed yet).
    pub(super) fn new_group(
        &self,
        i: usize,
        cfg: &InterfaceConfig,
        spec: GroupSpec,
    ) -> Result<GroupRt> {
        let info = &self.ifaces[i].info;
        let gc = groups::group_config(cfg, &spec, info.mac);
        let local = groups::local_ip(cfg, &spec, info)?;
        let mut fsm = Group::new(gc, local, info.mac, Box::new(rand::random::<u32>))
            .map_err(|e| anyhow::anyhow!("{}: {e}", cfg.name))?;
        fsm.align_hellos();
        // Groups start with every tracked object up; tell them what is down already.
        for t in fsm.config().tracks.clone() {
            if !self.tracker.is_up(t.object) {
                fsm.handle(
                    self.now(),
                    Event::Track {
                        object: t.object,
                        up: false,
                    },
                );
            }
        }
        Ok(GroupRt {
            key: GroupKey::of(cfg, &spec),
            iface: i,
            auths: groups::accepted_auths(&self.config, &spec),
            vmac: fsm.virtual_mac(),
            vips: spec.virtual_ips(),
            spec,
            fsm,
            old_key: None,
        })
    }

    /// Puts a group into the data plane (not Active) and makes the NIC accept its vMAC.
    pub(super) fn install(
        &mut self,
        i: usize,
        group: u16,
        version: Version,
        vmac: MacAddr,
        vips: &[IpAddr],
    ) -> Result<()> {
        let iface = &self.ifaces[i];
        let version = match version {
            Version::V1 => 1,
            Version::V2 => 2,
        };
        self.dp
            .maps
            .add_group(iface.info.ifindex, vmac.0, group, version, vips)?;
        iface.socket.add_unicast_mac(vmac).with_context(|| {
            format!(
                "{}: accepting frames to the virtual MAC {vmac}",
                iface.cfg.name
            )
        })?;
        debug!(
            "{} grp {group}: virtual MAC {vmac} accepted by the interface (unicast filter, or \
             promiscuous mode on devices without one)",
            iface.cfg.name
        );
        Ok(())
    }

    /// Takes a group out of the data plane and the NIC filter.
    pub(super) fn uninstall(&mut self, i: usize, vmac: MacAddr) {
        let iface = &self.ifaces[i];
        if let Err(e) = self.dp.maps.remove_group(iface.info.ifindex, vmac.0) {
            warn!("{e:#}");
        }
        if let Err(e) = iface.socket.remove_unicast_mac(vmac) {
            warn!("{e}");
        }
    }
}

/// The next-hop cache: kept by a [`NexthopKeeper`] when enabled, else left off (a fresh
/// data plane starts with generation 0, and a bare `hsrpd load` never turns it on).
/// What the kernel says about each configured interface. A second hsrpd (or any other
/// XDP user) is refused here, before anything is touched: the loader falls back from
/// native to generic mode on any refusal, so an occupied interface would end up with two
/// programs in two modes.
async fn read_interfaces(netlink: &Netlink, config: &Config) -> Result<Vec<InterfaceInfo>> {
    let mut infos = Vec::new();
    for iface in &config.interfaces {
        let info = netlink
            .interface_info(&iface.name)
            .await
            .with_context(|| format!("interface {}", iface.name))?;
        if let Some(id) = netlink.attached_xdp_program(&iface.name).await? {
            bail!(
                "{}: an XDP program (id {id}) is already attached: is another hsrpd running \
                 on this interface? Stop it first (a leftover of `hsrpd load` goes with \
                 `hsrpd unload --iface {}`)",
                iface.name,
                iface.name
            );
        }
        infos.push(info);
    }
    Ok(infos)
}

/// The XDP program and its maps, reset, with the control-plane budget set.
fn load_dataplane(config: &Config) -> Result<(Dataplane, DataplaneMaps)> {
    let pin_dir = Path::new(DEFAULT_PIN_DIR);
    if pin_dir.is_dir() && std::fs::read_dir(pin_dir).is_ok_and(|mut d| d.next().is_some()) {
        info!(
            "removing leftover pinned maps in {} (a previous run did not stop cleanly)",
            pin_dir.display()
        );
    }
    let mut dataplane = Dataplane::load(&LoadOptions::default())?;
    let mut maps = DataplaneMaps::from_dataplane(&mut dataplane)?;
    maps.reset().context("resetting the data plane maps")?;
    // Per-source budget for HSRP control frames (docs/security.md): a LAN flood from one source
    // is dropped in XDP beyond it; sized so a neighbour running the same groups fits.
    let (pps, burst) = groups::control_budget(config);
    maps.set_control_rate(pps, burst)
        .context("setting the control-plane rate limit")?;
    if pps > groups::CONTROL_RATE_FLOOR_PPS {
        info!("control-plane budget per source: {pps} frames/s, burst {burst}");
    }
    Ok((dataplane, maps))
}

/// Attaches the data plane to each interface and opens its HSRP socket and receiver.
fn open_interfaces(
    config: &Config,
    infos: Vec<crate::net::InterfaceInfo>,
    dataplane: &mut Dataplane,
    maps: &mut DataplaneMaps,
    frame_tx: &mpsc::Sender<super::receive::FrameBatch>,
) -> Result<Vec<Iface>> {
    let mut ifaces = Vec::new();
    for (cfg, info) in config.interfaces.iter().zip(infos) {
        let mode = dataplane.attach(&cfg.name)?;
        maps.set_interface(info.ifindex, info.mac.0)?;
        if let Err(e) = net::disable_icmp_redirects(&cfg.name) {
            warn!(
                "{}: cannot disable ICMP redirects (RFC 2281 §6): {e}",
                cfg.name
            );
        }
        let socket = Arc::new(
            PacketSocket::open_ifindex(&cfg.name, info.ifindex)
                .with_context(|| format!("opening the HSRP socket on {}", cfg.name))?,
        );
        let rx_task = super::receive::spawn_rx(ifaces.len(), socket.clone(), frame_tx.clone());
        ifaces.push(Iface {
            cfg: cfg.clone(),
            up: info.oper_up,
            info,
            socket,
            rx_task,
            mode,
            advertiser: Advertiser::default(),
            counts_dirty: true,
        });
    }
    Ok(ifaces)
}

async fn start_nexthop_cache(
    dataplane: &mut Dataplane,
    enabled: bool,
    aux: &tokio::runtime::Handle,
) -> Result<Option<NexthopKeeper>> {
    let mut maps = NexthopMaps::from_dataplane(dataplane)?;
    if !enabled {
        maps.off()?;
        info!(
            "next-hop cache off (--no-nexthop-cache): every forwarded frame takes the fib lookup"
        );
        return Ok(None);
    }
    // On the aux runtime: its netlink dumps and map writes never delay a hello.
    let keeper = aux
        .spawn(NexthopKeeper::start(maps))
        .await
        .context("the next-hop cache task")?
        .context("starting the next-hop cache")?;
    Ok(Some(keeper))
}

/// Every interface of the namespace is a possible next hop of forwarded traffic: make
/// each one a redirect target of the data plane (loopback excepted).
pub(super) fn add_forwarding_targets(maps: &mut DataplaneMaps) {
    let links = match net::interfaces() {
        Ok(links) => links,
        Err(_) => {
            warn!("cannot list interfaces: no forwarding targets for the data plane");
            return;
        }
    };
    for link in links.iter().filter(|l| l.name != "lo") {
        if let Err(e) = maps.add_tx_port(link.ifindex) {
            debug!("{}: not a forwarding target: {e:#}", link.name);
        }
    }
}
