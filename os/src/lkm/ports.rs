//! I/O ports for device modules: the allowlist, and which module holds
//! which ports.
//!
//! A driver's image declares the port ranges it needs. Loading grants them
//! only if every port lies in the [`ALLOWLIST`] of harmless devices and no
//! other module holds it; unloading gives them back. Ports that can stop or
//! reset the machine or disturb the kernel's own devices are never on the
//! allowlist: QEMU's exit device (0xf4), the keyboard controller (0x60,
//! 0x64: reset line), the reset control register (0xcf9), the interrupt
//! controllers (0x20/0x21, 0xa0/0xa1), the timer (0x40-0x43) and the
//! console's COM1 (0x3f8-0x3ff).

use alloc::vec::Vec;

use lkm::PortDecl;

use crate::sync::{IrqLock, LockClass};

/// Ports that may be granted: `(first, count, device)`.
pub const ALLOWLIST: &[(u16, u16, &str)] = &[(0x70, 2, "CMOS clock"), (0x2f8, 8, "COM2 serial port")];

/// `(first port, count, module id)` of every grant.
static GRANTS: IrqLock<Vec<(u16, u16, usize)>> = IrqLock::with_class(LockClass::LkmPorts, Vec::new());

/// Why ports were not granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortError {
    /// The range is not on the allowlist.
    NotAllowed(PortDecl),
    /// Another module holds a port of the range.
    Taken { range: PortDecl, holder: usize },
}

fn allowed(p: &PortDecl) -> bool {
    let end = p.start as u32 + p.count as u32;
    p.count > 0 && ALLOWLIST.iter().any(|&(s, n, _)| p.start >= s && end <= s as u32 + n as u32)
}

fn overlaps(a: (u16, u16), b: (u16, u16)) -> bool {
    let (a0, a1) = (a.0 as u32, a.0 as u32 + a.1 as u32);
    let (b0, b1) = (b.0 as u32, b.0 as u32 + b.1 as u32);
    a0 < b1 && b0 < a1
}

/// Grants `ports` to module `id`, all or nothing.
pub fn grant(id: usize, ports: &[PortDecl]) -> Result<(), PortError> {
    let mut grants = GRANTS.lock();
    if let Some(p) = ports.iter().find(|p| !allowed(p)) {
        return Err(PortError::NotAllowed(*p));
    }
    for p in ports {
        if let Some(&(_, _, holder)) = grants.iter().find(|g| overlaps((g.0, g.1), (p.start, p.count))) {
            return Err(PortError::Taken { range: *p, holder });
        }
    }
    grants.extend(ports.iter().map(|p| (p.start, p.count, id)));
    Ok(())
}

/// Gives back every port of module `id`.
pub fn release(id: usize) {
    GRANTS.lock().retain(|g| g.2 != id);
}

/// Whether module `id`, whose image declared `declared`, may access
/// `port .. port + width` now (checked at every access).
pub fn may_access(declared: &[PortDecl], id: usize, port: u16, width: u16) -> bool {
    let want = PortDecl { start: port, count: width };
    let in_decl = declared.iter().any(|d| {
        port >= d.start && port as u32 + width as u32 <= d.start as u32 + d.count as u32
    });
    in_decl
        && allowed(&want)
        && GRANTS.try_lock().is_some_and(|g| {
            g.iter().any(|&(s, n, holder)| {
                holder == id && port >= s && port as u32 + width as u32 <= s as u32 + n as u32
            })
        })
}
