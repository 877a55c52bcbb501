//! The first instructions: the PVH entry point.
//!
//! QEMU (`-kernel warden`) finds the `XEN_ELFNOTE_PHYS32_ENTRY` note, loads
//! the ELF segments at their physical addresses and jumps to `pvh_start32`
//! in 32-bit protected mode without paging, with `ebx` holding the physical
//! address of the PVH start info (memory map, modules, command line).
//!
//! `pvh_start32` lives in the `.boot` section, which runs where it is loaded
//! (around 1 MiB). It builds boot page tables that map the first 4 GiB of
//! physical memory three times:
//!
//! * identity (needed for the instant paging is switched on),
//! * at [`crate::memory::PHYS_OFFSET`] (the direct map the Rust code uses),
//! * the first GiB at `KERNEL_BASE` (`0xffffffff80000000`), where the kernel
//!   is linked,
//!
//! turns on PAE, long mode, no-execute and write protection, loads a tiny GDT
//! and far-jumps into 64-bit code, which switches to the boot stack and calls
//! `kernel_entry(start_info_paddr)` in the top 2 GiB. `memory::init` later
//! replaces these tables with ones that have per-section permissions.

use core::arch::global_asm;

unsafe extern "C" {
    /// The 32-bit entry defined in the assembly below.
    fn pvh_start32() -> !;
}

pvh::xen_elfnote_phys32_entry!(pvh_start32);

/// Size of the stack `kernel_entry` runs on (below it: one unmapped guard page).
pub const BOOT_STACK_SIZE: usize = 64 * 1024;

unsafe extern "C" {
    /// First byte of the guard page below the boot stack.
    static __boot_stack_guard: u8;
}

/// Virtual address of the boot stack's guard page (left unmapped by `memory::init`).
pub fn boot_stack_guard() -> u64 {
    &raw const __boot_stack_guard as u64
}

global_asm!(
    r#"
    .section .boot.text, "ax"
    .code32
    .global pvh_start32
pvh_start32:
    cli
    cld
    mov %ebx, %esi

    /* Clear the seven pages of boot page tables. */
    mov $boot_pml4, %edi
    xor %eax, %eax
    mov $(7 * 1024), %ecx
    rep stosl

    /* 2048 page-directory entries of 2 MiB: physical 0 .. 4 GiB. */
    mov $boot_pd, %edi
    mov $0x83, %eax                 /* present | writable | 2 MiB page */
    mov $2048, %ecx
1:  mov %eax, (%edi)
    movl $0, 4(%edi)
    add $0x200000, %eax
    add $8, %edi
    loop 1b

    /* Low PDPT: four directories (4 GiB). */
    mov $boot_pd, %eax
    or $3, %eax
    mov %eax, boot_pdpt_low
    add $4096, %eax
    mov %eax, boot_pdpt_low + 8
    add $4096, %eax
    mov %eax, boot_pdpt_low + 16
    add $4096, %eax
    mov %eax, boot_pdpt_low + 24

    /* High PDPT: entry 510 is 0xffffffff80000000 -> the first GiB. */
    mov $boot_pd, %eax
    or $3, %eax
    mov %eax, boot_pdpt_high + 510 * 8

    /* PML4: 0 (identity) and 256 (direct map) share the low PDPT. */
    mov $boot_pdpt_low, %eax
    or $3, %eax
    mov %eax, boot_pml4
    mov %eax, boot_pml4 + 256 * 8
    mov $boot_pdpt_high, %eax
    or $3, %eax
    mov %eax, boot_pml4 + 511 * 8

    mov %cr4, %eax
    or $(1 << 5), %eax              /* PAE */
    mov %eax, %cr4
    mov $boot_pml4, %eax
    mov %eax, %cr3
    mov $0xC0000080, %ecx           /* EFER */
    rdmsr
    or $((1 << 8) | (1 << 11)), %eax  /* long mode, no-execute */
    wrmsr
    mov %cr0, %eax
    or $((1 << 31) | (1 << 16) | 1), %eax  /* paging, write protect, protected mode */
    mov %eax, %cr0

    lgdt boot_gdt_ptr
    ljmp $0x08, $start64

    .code64
start64:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov %ax, %fs
    mov %ax, %gs
    movabs $__boot_stack_top, %rsp
    mov %esi, %edi                  /* start info address, zero-extended */
    movabs $kernel_entry, %rax
    call *%rax
2:  hlt
    jmp 2b

    .section .boot.data, "aw"
    .balign 8
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff        /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff        /* 0x10: data */
boot_gdt_ptr:
    .word boot_gdt_ptr - boot_gdt - 1
    .long boot_gdt

    /* Zero-filled by the loader, like .bss: no space in the image file. */
    .section .boot.bss, "aw", @nobits
    .balign 4096
boot_pml4:      .space 4096
boot_pdpt_low:  .space 4096
boot_pdpt_high: .space 4096
boot_pd:        .space 4096 * 4

    .section .bss.boot_stack, "aw", @nobits
    .balign 4096
    .global __boot_stack_guard
__boot_stack_guard:
    .space 4096
    .space {stack_size}
    .global __boot_stack_top
__boot_stack_top:
    .text
"#,
    stack_size = const BOOT_STACK_SIZE,
    options(att_syntax)
);
