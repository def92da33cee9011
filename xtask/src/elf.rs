//! Just enough ELF64 reading to check that the built XDP object carries a `.BTF` section
//! (without it, maps have no field names and bpftool dumps hex).

use anyhow::{bail, ensure, Context, Result};

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Names of all sections of a little-endian ELF64 file.
pub fn section_names(b: &[u8]) -> Result<Vec<String>> {
    ensure!(b.get(..4) == Some(b"\x7fELF"), "not an ELF file");
    ensure!(
        b.get(4) == Some(&2) && b.get(5) == Some(&1),
        "not a little-endian ELF64 file"
    );
    let read = || -> Option<Vec<String>> {
        let shoff = usize::try_from(u64_at(b, 0x28)?).ok()?;
        let shentsize = usize::from(u16_at(b, 0x3a)?);
        let shnum = usize::from(u16_at(b, 0x3c)?);
        let shstrndx = usize::from(u16_at(b, 0x3e)?);
        let sh = |i: usize| shoff + i * shentsize;
        let strtab = usize::try_from(u64_at(b, sh(shstrndx) + 0x18)?).ok()?;
        (0..shnum)
            .map(|i| {
                let name_off = strtab + usize::try_from(u32_at(b, sh(i))?).ok()?;
                let rest = b.get(name_off..)?;
                let end = rest.iter().position(|&c| c == 0)?;
                Some(String::from_utf8_lossy(&rest[..end]).into_owned())
            })
            .collect()
    };
    read().context("truncated or malformed ELF section table")
}

pub fn require_btf(path: &std::path::Path) -> Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("read {}", path.display()))?;
    let names = section_names(&bytes).with_context(|| format!("{}", path.display()))?;
    if !names.iter().any(|n| n == ".BTF") {
        bail!(
            "{} has no .BTF section: the program must be linked with `bpf-linker --btf` \
             (sections: {})",
            path.display(),
            names.join(" ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_non_elf_and_truncated_input() {
        assert!(section_names(b"hello").is_err());
        assert!(section_names(b"\x7fELF\x02\x01\x01").is_err());
    }
}
