//! The engines other than this JIT, behind one small interface each, and
//! the verification profile of the benchmarks.

use crate::programs::helper_identity;
use std::panic::{catch_unwind, AssertUnwindSafe};
use verifier::{Program, Verified};

fn rbpf_helper(a: u64, b: u64, c: u64, d: u64, e: u64) -> u64 {
    helper_identity(a, b, c, d, e)
}

/// A slice with the lifetime rbpf's API wants for every run.
///
/// rbpf ties the memory of a run to the lifetime of the whole VM; the
/// benchmark reuses one VM for many runs over one buffer.
fn unbounded<'a>(mem: &mut [u8]) -> &'a mut [u8] {
    // SAFETY: the returned slice is used only for the duration of one
    // `execute_program*` call, while `mem` is borrowed by the caller.
    unsafe { std::slice::from_raw_parts_mut(mem.as_mut_ptr(), mem.len()) }
}

/// rbpf's interpreter.
pub struct RbpfInterp {
    vm: rbpf::EbpfVmRaw<'static>,
}

impl RbpfInterp {
    pub fn new(bytes: &[u8]) -> Option<RbpfInterp> {
        let bytes: &'static [u8] = Box::leak(bytes.to_vec().into_boxed_slice());
        let mut vm = rbpf::EbpfVmRaw::new(Some(bytes)).ok()?;
        vm.register_helper(5, rbpf_helper).ok()?;
        Some(RbpfInterp { vm })
    }

    pub fn run(&self, mem: &mut [u8]) -> Option<u64> {
        self.vm.execute_program(unbounded(mem)).ok()
    }
}

/// rbpf's JIT, where it compiles the program (it panics on some opcodes).
pub struct RbpfJit {
    vm: rbpf::EbpfVmRaw<'static>,
}

impl RbpfJit {
    pub fn new(bytes: &[u8]) -> Option<RbpfJit> {
        let bytes: &'static [u8] = Box::leak(bytes.to_vec().into_boxed_slice());
        let mut vm = rbpf::EbpfVmRaw::new(Some(bytes)).ok()?;
        vm.register_helper(5, rbpf_helper).ok()?;
        let compiled = catch_unwind(AssertUnwindSafe(|| vm.jit_compile().is_ok())).unwrap_or(false);
        compiled.then_some(RbpfJit { vm })
    }

    pub fn run(&self, mem: &mut [u8]) -> Option<u64> {
        // SAFETY: the program passed Warden's verifier for this memory
        // (and was checked against the interpreter before being timed).
        unsafe { self.vm.execute_program_jit(unbounded(mem)).ok() }
    }
}

/// Verifies a benchmark program: r1 points to `len` writable bytes, r2
/// holds `len`, helper 5 maps a scalar to a scalar; the processed
/// instruction limit is raised for the 64 KiB loops.
pub fn verify_for_bench(program: &Program, len: usize) -> Result<Verified, String> {
    use verifier::{ArgKind, HelperSig, Limits, Profile, RetKind};
    let limits = Limits { max_insns_processed: 8_000_000, ..Limits::default() };
    let profile = Profile::new()
        .with_helper(HelperSig::new(5, "identity", &[ArgKind::Scalar], RetKind::Scalar))
        .with_limits(limits);
    let entry = memory_entry(len);
    verifier::verify_with(program, &profile, &entry, None).map_err(|r| r.to_string())
}

/// The entry state "r1 = `len` writable bytes, r2 = `len`".
pub fn memory_entry(len: usize) -> verifier::Entry {
    use verifier::state::{Region, Value};
    verifier::Entry {
        regs: vec![
            (verifier::Reg::R1, Value::ptr(Region::Mem { size: len as u32, writable: true }, 0)),
            (verifier::Reg::R2, Value::constant(len as u64)),
        ],
    }
}

/// A straight-line program of `n` slots mixing ALU, memory and jumps, for
/// compile throughput.
pub fn straight_line(n: usize) -> Program {
    let mut src = String::from("r0 = 0\nr3 = 1\n");
    let mut slots = 2;
    let mut k = 0;
    while slots + 2 < n {
        src += &match k % 8 {
            0 => format!("r0 += {}\n", k as i32),
            1 => "r0 ^= r3\n".into(),
            2 => format!("r3 *= {}\n", k % 7 + 1),
            3 => "w0 = w0\n".into(),
            4 => format!("*(u64 *)(r10 - {}) = r0\n", 8 * (k % 8 + 1)),
            5 => format!("r4 = *(u64 *)(r10 - {})\n", 8 * (k % 8 + 1) - 8 * ((k % 8 + 1) > 1) as usize),
            6 => "if r0 > r3 goto +1\n".into(),
            _ => "r0 -= r3\n".into(),
        };
        slots += 1;
        k += 1;
    }
    src += "exit\n";
    verifier::assemble(&src).expect("straight-line program assembles")
}

/// Helper 5 for the reference interpreter.
struct IdentityHelper;

impl vm::Helpers for IdentityHelper {
    fn call(&mut self, id: u32, args: [vm::Value; 5], _: &mut vm::Memory) -> Result<vm::Value, vm::ViolationKind> {
        match id {
            5 => Ok(vm::Value::scalar(args[0].bits)),
            _ => Err(vm::helpers::unknown_helper(id)),
        }
    }
}

/// The reference interpreter (plain mode: bounds and permissions checked,
/// no initialisation tracking).
pub struct Interp {
    program: Program,
}

impl Interp {
    pub fn new(program: &Program) -> Interp {
        Interp { program: program.clone() }
    }

    /// Runs on a copy of `mem` (the interpreter owns its memory) and
    /// returns r0.
    pub fn run(&self, mem: &mut [u8]) -> Option<u64> {
        let config = vm::Config { max_steps: u64::MAX, ..vm::Config::plain() };
        let mut machine = vm::Vm::new(&self.program, config);
        let base = machine.memory_mut().add_buffer(mem.to_vec(), true).ok()?;
        machine.set_reg(verifier::Reg::R1, vm::Value::pointer(base));
        machine.set_reg(verifier::Reg::R2, vm::Value::scalar(mem.len() as u64));
        machine.run(&mut IdentityHelper).ok().map(|o| o.r0)
    }
}
