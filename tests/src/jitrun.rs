//! Running programs through the verifier and the JIT on the host, as the
//! JIT's conformance and differential tests and the bpf_conformance plugin
//! do.
//!
//! The test profile is the permissive one the suite needs: at entry r1
//! points to the memory region (writable, its length known) and r2 holds
//! its length (both 0 without memory); helper 5 takes a scalar and returns
//! it. The code is mapped near this binary so helper calls are `call rel32`
//! as in the kernel, falling back to the host-only far-call mode.

use jit::host::CodeRegion;
use jit::{CallMode, JitOptions};
use verifier::state::{Region, Value};
use verifier::{ArgKind, Entry, HelperSig, Limits, Profile, Program, Reg, Report, RetKind, Verified};

/// Helper 5 of the test profile: returns its first argument.
pub extern "C" fn helper_identity(a: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    a
}

fn helper_address(id: u32) -> Option<u64> {
    (id == 5).then_some(helper_identity as *const () as u64)
}

/// The test profile: helper 5 (scalar to scalar) and the default limits.
pub fn test_profile() -> Profile {
    Profile::new()
        .with_helper(HelperSig::new(5, "identity", &[ArgKind::Scalar], RetKind::Scalar))
        .with_limits(Limits::default())
}

/// The entry state for a memory region of `len` bytes.
pub fn memory_entry(len: usize) -> Entry {
    let r1 = if len == 0 {
        Value::constant(0)
    } else {
        Value::ptr(Region::Mem { size: len as u32, writable: true }, 0)
    };
    Entry { regs: vec![(Reg::R1, r1), (Reg::R2, Value::constant(len as u64))] }
}

/// Verifies `program` under the test profile for `len` bytes of memory.
pub fn verify_for_memory(program: &Program, len: usize) -> Result<Verified, Report> {
    verifier::verify_with(program, &test_profile(), &memory_entry(len), None)
}

/// Compiles `verified` (with constant blinding when `blinding` is set),
/// runs it on `mem` and returns r0; `mem` keeps the program's stores.
pub fn jit_run(verified: &Verified, mem: &mut [u8], blinding: Option<u64>) -> Result<u64, String> {
    let program = verified.program();
    let bound = jit::code_size_bound(program.len(), verified.functions().len());
    let helper = helper_identity as *const () as u64;
    let region = CodeRegion::map_near(bound, helper).map_err(|e| format!("error: mmap: {e}"))?;
    let mut opts = JitOptions::new(region.address());
    opts.helper_address = &helper_address;
    opts.blinding = blinding;
    opts.call_mode = if region.within_rel32(helper) { CallMode::Near } else { CallMode::HostFar };
    let out = jit::compile(verified, &opts).map_err(|e| e.to_string())?;
    let code = region.seal(out.code()).map_err(|e| format!("error: mprotect: {e}"))?;
    let r1 = if mem.is_empty() { 0 } else { mem.as_mut_ptr() as u64 };
    // SAFETY: the program was verified for r1 = `mem.len()` writable bytes
    // (or 0 without memory) and r2 = that length; helper 5 matches its
    // signature in the profile.
    Ok(unsafe { code.call2(out.entries()[0], r1, mem.len() as u64) })
}
