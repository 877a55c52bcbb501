//! In-kernel tests of processes on several CPUs (the stage `kernel` runs
//! every test on 1, 2 and 4 CPUs; `--filter smp` selects these).

use super::tests::{PF_R, PF_X, Seg, elf_image};
use super::{current_pid, life, sched};
use crate::ktest::TestResult;
use crate::{ensure_eq, kernel_test};
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

/// What [`GsProbe`] saw: the CPU, its GS base and kernel GS base.
static GS_SEEN: [AtomicU64; 3] = [const { AtomicU64::new(u64::MAX) }; 3];

/// A system call that records the GS bases it runs with.
struct GsProbe;

impl crate::syscall::SyscallHandler for GsProbe {
    fn call(&self, _args: &crate::syscall::Args) -> isize {
        let (gs, kernel_gs) = crate::arch::percpu::gs_bases();
        GS_SEEN[0].store(crate::arch::percpu::cpu_id() as u64, Ordering::Relaxed);
        GS_SEEN[1].store(gs, Ordering::Relaxed);
        GS_SEEN[2].store(kernel_gs, Ordering::Relaxed);
        0
    }
}

/// A program makes system call `nr`, then exits with status 0.
fn calling_program(nr: usize) -> Vec<u8> {
    let mut code = alloc::vec![0xb8];
    code.extend_from_slice(&(nr as u32).to_le_bytes()); // mov eax, nr
    code.extend_from_slice(&[0x0f, 0x05]); // syscall
    code.extend_from_slice(&[0xb8, 0, 0, 0, 0]); // mov eax, SYS_EXIT
    code.extend_from_slice(&[0x31, 0xff, 0x0f, 0x05, 0xeb, 0xfe]); // xor edi, edi; syscall; jmp .
    let text = Seg { flags: PF_R | PF_X, offset: 0x400, vaddr: 0x40_0000, bytes: &code, memsz: code.len() as u64 };
    elf_image(0x40_0000, &[text])
}

/// A program makes system call `nr` (with `rdi` = 0) `calls` times in a
/// loop, then exits with status 0 (for tests of module code on several
/// CPUs).
pub(crate) fn looping_program(nr: usize, calls: u32) -> Vec<u8> {
    let mut code = alloc::vec![0xbb];
    code.extend_from_slice(&calls.max(1).to_le_bytes()); // mov ebx, calls
    code.push(0xb8);
    code.extend_from_slice(&(nr as u32).to_le_bytes()); // loop: mov eax, nr
    code.extend_from_slice(&[0x31, 0xff, 0x0f, 0x05]); // xor edi, edi; syscall
    code.extend_from_slice(&[0xff, 0xcb, 0x75, 0xf3]); // dec ebx; jnz loop
    code.extend_from_slice(&[0xb8, 0, 0, 0, 0]); // mov eax, SYS_EXIT
    code.extend_from_slice(&[0x31, 0xff, 0x0f, 0x05, 0xeb, 0xfe]); // xor edi, edi; syscall; jmp .
    let text = Seg { flags: PF_R | PF_X, offset: 0x400, vaddr: 0x40_0000, bytes: &code, memsz: code.len() as u64 };
    elf_image(0x40_0000, &[text])
}

/// In a system call from user mode the GS base is the CPU's per-CPU
/// record and the user's GS base waits in KERNEL_GS_BASE; back in the
/// kernel thread after the program ends, the same holds.
fn gs_base_is_the_cpu_record_in_a_system_call_from_user_mode() -> TestResult {
    use crate::syscall::{self, Entry, Handler};
    crate::fs::tests::test_root()?;
    sched::init();
    super::exec::init();
    syscall::init();
    let nr = syscall::first_free().ok_or("no free system call slot")?;
    let program = calling_program(nr);
    let f = crate::fs::file::open(0, "/", "/gs-probe", abi::fs::O_WRONLY | abi::fs::O_CREAT | abi::fs::O_TRUNC, 0o755)
        .map_err(|e| alloc::format!("{e}"))?;
    ensure_eq!(f.write(&program), Ok(program.len()));
    drop(f);
    let probe = Entry { name: "gs-probe".into(), handler: Handler::Dynamic(alloc::sync::Arc::new(GsProbe)) };
    let old = syscall::replace(nr, Some(probe)).map_err(|e| alloc::format!("{e}"))?;
    let spec = life::SpawnSpec {
        path: "/gs-probe",
        argv: alloc::vec![String::from("gs-probe")],
        fds: [None, None, None],
        uid: 0,
        cwd: String::from("/"),
        parent: current_pid(),
    };
    let ran = life::spawn(spec).map(|pid| (pid, life::wait(Some(pid))));
    syscall::restore(nr, old).map_err(|e| alloc::format!("{e}"))?;
    let (pid, status) = ran.map_err(|e| alloc::format!("spawning /gs-probe: {e}"))?;
    ensure_eq!(status, Ok((pid, 0)));
    let cpu = GS_SEEN[0].load(Ordering::Relaxed) as usize;
    let record = crate::arch::percpu::get(cpu).ok_or_else(|| alloc::format!("the call ran on CPU {cpu}"))?;
    ensure_eq!(GS_SEEN[1].load(Ordering::Relaxed), record.addr());
    ensure_eq!(GS_SEEN[2].load(Ordering::Relaxed), 0);
    ensure_eq!(crate::arch::percpu::gs_bases(), (crate::arch::percpu::current().addr(), 0));
    Ok(())
}
kernel_test!(gs_base_is_the_cpu_record_in_a_system_call_from_user_mode);
