//! The real-mode trampoline: the first instructions of every application
//! processor (every CPU but the boot CPU).
//!
//! A STARTUP IPI starts a CPU in 16-bit real mode at a page-aligned
//! physical address below 1 MiB (vector `v` means `v * 4096`), with no
//! paging, no stack and no idea of the kernel. So [`install`] copies a
//! small piece of code to [`TRAMPOLINE`] (0x8000, vector 8) and builds page
//! tables beside it. The code, assembled below as data and never run where
//! it is linked, does what `pvh_start32` did for the boot CPU, in one go:
//!
//! 1. real mode: load a GDT of its own (32-bit code, data, 64-bit code),
//!    set CR0.PE and far-jump to 32-bit code;
//! 2. protected mode: PAE on, CR3 = the trampoline's PML4, EFER.LME and
//!    EFER.NXE on (the kernel's tables use the no-execute bit), paging and
//!    write protection on, far-jump to 64-bit code;
//! 3. long mode: load the stack pointer, entry and argument from the
//!    parameter block and jump to the entry, in the higher half.
//!
//! The trampoline's PML4 maps the first 2 MiB identically (the code runs
//! there at the instant paging comes on) and shares the kernel half with
//! every other address space, so the entry and its stack are mapped; the
//! entry then loads the kernel's own page tables. The addresses are fixed
//! because the code must be position-dependent in real mode; the low
//! megabyte is reserved by the frame allocator, so nothing else lives
//! there. As in xv6's `entryother.S`, one CPU starts at a time: the
//! parameter block is rewritten for each.

use core::arch::global_asm;

use crate::memory::{self, phys_to_virt};

/// Physical address of the code (page 8: STARTUP vector 8).
pub const TRAMPOLINE: u64 = 0x8000;
/// The parameter block: CR3, stack top, entry, argument (8 bytes each).
const PARAMS: u64 = 0x8f00;
const PML4: u64 = 0x9000;
const PDPT: u64 = 0xa000;
const PD: u64 = 0xb000;
const PRESENT_WRITABLE: u64 = 0b11;
const HUGE: u64 = 1 << 7;

global_asm!(
    r#"
    .section .rodata.warden_trampoline, "a"
    .global warden_trampoline_start, warden_trampoline_end
    .code16
warden_trampoline_start:
    cli
    cld
    xor %ax, %ax
    mov %ax, %ds
    lgdtl ({base} + (trampoline_gdt_ptr - warden_trampoline_start))
    mov %cr0, %eax
    or $1, %eax
    mov %eax, %cr0
    ljmpl $0x08, $({base} + (trampoline_32 - warden_trampoline_start))

    .code32
trampoline_32:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov %cr4, %eax
    or $(1 << 5), %eax                  /* PAE */
    mov %eax, %cr4
    mov ({params}), %eax
    mov %eax, %cr3
    mov $0xC0000080, %ecx               /* EFER */
    rdmsr
    or $((1 << 8) | (1 << 11)), %eax    /* long mode, no-execute */
    wrmsr
    mov %cr0, %eax
    or $((1 << 31) | (1 << 16)), %eax   /* paging, write protect */
    mov %eax, %cr0
    ljmp $0x18, $({base} + (trampoline_64 - warden_trampoline_start))

    .code64
trampoline_64:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov ({params} + 8), %rsp
    mov ({params} + 24), %rdi
    mov ({params} + 16), %rax
    jmp *%rax

    .balign 8
trampoline_gdt:
    .quad 0
    .quad 0x00cf9a000000ffff            /* 0x08: 32-bit code */
    .quad 0x00cf92000000ffff            /* 0x10: data */
    .quad 0x00af9a000000ffff            /* 0x18: 64-bit code */
trampoline_gdt_ptr:
    .word trampoline_gdt_ptr - trampoline_gdt - 1
    .long {base} + (trampoline_gdt - warden_trampoline_start)
warden_trampoline_end:
    .text
"#,
    base = const TRAMPOLINE,
    params = const PARAMS,
    options(att_syntax)
);

unsafe extern "C" {
    static warden_trampoline_start: u8;
    static warden_trampoline_end: u8;
}

/// What the trampoline jumps to: `entry(arg)` on the stack ending at `stack_top`.
pub struct Params {
    pub stack_top: u64,
    pub entry: extern "C" fn(u64) -> !,
    pub arg: u64,
}

/// Copies the code and builds its page tables below 1 MiB. Call once, on
/// the boot CPU, before the first STARTUP IPI.
pub fn install() {
    let start = &raw const warden_trampoline_start;
    let len = &raw const warden_trampoline_end as usize - start as usize;
    assert!(TRAMPOLINE + len as u64 <= PARAMS, "the trampoline overlaps its parameter block");
    let kernel = phys_to_virt(memory::AddressSpace::kernel().root().start_address().as_u64()) as *const u64;
    // SAFETY: physical 0x8000..0xc000 lies in the low megabyte, which the
    // frame allocator keeps reserved and nothing else uses after the boot
    // information was copied; the direct map maps it writable. The kernel
    // PML4 is read through the direct map; its kernel-half entries are
    // fixed since `memory::init`.
    unsafe {
        core::ptr::copy_nonoverlapping(start, phys_to_virt(TRAMPOLINE) as *mut u8, len);
        let pml4 = phys_to_virt(PML4) as *mut u64;
        let pdpt = phys_to_virt(PDPT) as *mut u64;
        let pd = phys_to_virt(PD) as *mut u64;
        for i in 0..512 {
            let entry = match i {
                0 => PDPT | PRESENT_WRITABLE,
                256.. => kernel.add(i).read_volatile(),
                _ => 0,
            };
            pml4.add(i).write_volatile(entry);
            pdpt.add(i).write_volatile(if i == 0 { PD | PRESENT_WRITABLE } else { 0 });
            pd.add(i).write_volatile(if i == 0 { HUGE | PRESENT_WRITABLE } else { 0 });
        }
    }
}

/// Writes the parameter block for the next CPU to start.
pub fn set_params(params: &Params) {
    let block = phys_to_virt(PARAMS) as *mut u64;
    let values = [PML4, params.stack_top, params.entry as usize as u64, params.arg];
    for (i, value) in values.into_iter().enumerate() {
        // SAFETY: the parameter block lies in the reserved low megabyte
        // (see `install`); no CPU is between STARTUP and its entry now,
        // because CPUs are started one at a time.
        unsafe { block.add(i).write_volatile(value) };
    }
}

/// The STARTUP IPI's vector: the trampoline's page number.
pub const fn startup_page() -> u8 {
    (TRAMPOLINE >> 12) as u8
}
