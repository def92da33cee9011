#![cfg_attr(target_arch = "bpf", no_std)]
#![cfg_attr(target_arch = "bpf", no_main)]

#[cfg(target_arch = "bpf")]
mod prog {
    use aya_ebpf::{
        bindings::xdp_action,
        btf_maps::PerCpuArray,
        macros::{btf_map, xdp},
        programs::XdpContext,
    };
    use hsrp_ebpf::Counters;

    #[btf_map]
    static HSRP_STATS: PerCpuArray<Counters, 4> = PerCpuArray::new();

    #[xdp]
    pub fn hsrp(_ctx: XdpContext) -> u32 {
        if let Some(c) = HSRP_STATS.get_ptr_mut(0) {
            unsafe { (*c).packets += 1 };
        }
        xdp_action::XDP_PASS
    }

    #[panic_handler]
    fn panic(_info: &core::panic::PanicInfo) -> ! {
        loop {}
    }
}

#[cfg(not(target_arch = "bpf"))]
fn main() {}
