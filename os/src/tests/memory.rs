//! Frames, paging, the heap and the code region.

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::SCRATCH;
use crate::arch::fault::{self, pf};
use crate::arch::probe;
use crate::ktest::TestResult;
use crate::memory::code::{self, CodeBlock};
use crate::memory::frame::{self, FreeError};
use crate::memory::stack::{self, KernelStack};
use crate::memory::{self, MapError, MapFlags, heap_stats, phys_to_virt};
use crate::{ensure, ensure_eq, kernel_test};

fn frames_are_distinct_aligned_and_return() -> TestResult {
    // The list's room first: a heap that grows for it takes frames too.
    let mut frames = Vec::with_capacity(64);
    let before = frame::stats();
    for _ in 0..64 {
        frames.push(memory::alloc_frame().ok_or("out of frames")?);
    }
    ensure_eq!(frame::stats().free, before.free - 64);
    for (i, a) in frames.iter().enumerate() {
        ensure_eq!(a.start_address().as_u64() % 4096, 0);
        ensure!(a.start_address().as_u64() >= 0x10_0000, "frame {a:?} in the low megabyte");
        let (start, end) = memory::kernel_image();
        ensure!(!(start..end).contains(&a.start_address().as_u64()), "frame {a:?} inside the kernel image");
        ensure!(!frames[..i].contains(a), "frame {a:?} handed out twice");
    }
    for f in &frames {
        memory::free_frame(*f).map_err(|e| alloc::format!("{e:?}"))?;
    }
    ensure_eq!(frame::stats(), before);
    Ok(())
}
kernel_test!(frames_are_distinct_aligned_and_return);

fn double_free_is_refused() -> TestResult {
    let f = memory::alloc_frame().ok_or("out of frames")?;
    memory::free_frame(f).map_err(|e| alloc::format!("{e:?}"))?;
    ensure_eq!(memory::free_frame(f), Err(FreeError::DoubleFree(f.start_address().as_u64())));
    Ok(())
}
kernel_test!(double_free_is_refused);

fn zeroed_frames_are_zero() -> TestResult {
    let f = memory::alloc_frame().ok_or("out of frames")?;
    let ptr = phys_to_virt(f.start_address().as_u64()) as *mut u8;
    // SAFETY: the frame is ours and reachable through the direct map.
    unsafe { core::ptr::write_bytes(ptr, 0xa5, 4096) };
    memory::free_frame(f).map_err(|e| alloc::format!("{e:?}"))?;
    let z = memory::alloc_zeroed_frame().ok_or("out of frames")?;
    let ptr = phys_to_virt(z.start_address().as_u64()) as *const u8;
    // SAFETY: as above.
    let bytes = unsafe { core::slice::from_raw_parts(ptr, 4096) };
    let nonzero = bytes.iter().filter(|&&b| b != 0).count();
    memory::free_frame(z).map_err(|e| alloc::format!("{e:?}"))?;
    ensure_eq!(nonzero, 0);
    Ok(())
}
kernel_test!(zeroed_frames_are_zero);

fn map_write_read_unmap() -> TestResult {
    let virt = SCRATCH;
    let f = memory::alloc_zeroed_frame().ok_or("out of frames")?;
    memory::map_page(virt, f, MapFlags::KERNEL_DATA).map_err(|e| alloc::format!("{e}"))?;
    ensure_eq!(memory::map_page(virt, f, MapFlags::KERNEL_DATA), Err(MapError::AlreadyMapped(virt)));
    let (phys, flags) = memory::translate(virt + 8).ok_or("mapped page does not translate")?;
    ensure_eq!(phys.as_u64(), f.start_address().as_u64() + 8);
    ensure_eq!(flags, MapFlags::KERNEL_DATA);
    // SAFETY: the page was just mapped writable and belongs to this test.
    unsafe { probe::write_u64(virt, 0x1122_3344_5566_7788) }.map_err(|e| alloc::format!("{e}"))?;
    // The same frame seen through the direct map.
    // SAFETY: the direct map covers the frame.
    let alias = unsafe { *(phys_to_virt(f.start_address().as_u64()) as *const u64) };
    ensure_eq!(alias, 0x1122_3344_5566_7788);
    let unmapped = memory::unmap_page(virt).map_err(|e| alloc::format!("{e}"))?;
    ensure_eq!(unmapped, f);
    ensure!(memory::translate(virt).is_none(), "unmapped page still translates");
    let fault = probe::read_u64(virt).err().ok_or("unmapped page still readable")?;
    ensure_eq!(fault.address, Some(virt));
    ensure_eq!(memory::unmap_page(virt), Err(MapError::NotMapped(virt)));
    memory::free_frame(f).map_err(|e| alloc::format!("{e:?}"))?;
    Ok(())
}
kernel_test!(map_write_read_unmap);

fn write_to_read_only_page_is_caught() -> TestResult {
    let virt = SCRATCH + 0x1000;
    let f = memory::alloc_zeroed_frame().ok_or("out of frames")?;
    memory::map_page(virt, f, MapFlags::KERNEL_RODATA).map_err(|e| alloc::format!("{e}"))?;
    ensure_eq!(probe::read_u64(virt), Ok(0));
    // SAFETY: the page belongs to this test.
    let fault = unsafe { probe::write_u64(virt, 1) }.err().ok_or("write to a read-only page succeeded")?;
    ensure_eq!(fault.vector, 14);
    ensure_eq!(fault.address, Some(virt));
    ensure_eq!(fault.error_code & (pf::PRESENT | pf::WRITE | pf::USER), pf::PRESENT | pf::WRITE);
    ensure!(alloc::format!("{fault}").contains("(protection violation, write, kernel mode)"), "report: {fault}");
    // Flipping the permission makes the same write work.
    memory::protect_page(virt, MapFlags::KERNEL_DATA).map_err(|e| alloc::format!("{e}"))?;
    // SAFETY: as above.
    unsafe { probe::write_u64(virt, 7) }.map_err(|e| alloc::format!("{e}"))?;
    ensure_eq!(probe::read_u64(virt), Ok(7));
    memory::unmap_page(virt).map_err(|e| alloc::format!("{e}"))?;
    memory::free_frame(f).map_err(|e| alloc::format!("{e:?}"))?;
    Ok(())
}
kernel_test!(write_to_read_only_page_is_caught);

fn permission_bits_are_as_asked() -> TestResult {
    let f = memory::alloc_zeroed_frame().ok_or("out of frames")?;
    for (i, flags) in [MapFlags::USER_DATA, MapFlags::USER_CODE, MapFlags::USER_RODATA, MapFlags::KERNEL_CODE]
        .into_iter()
        .enumerate()
    {
        let virt = SCRATCH + 0x10_0000 + i as u64 * 0x1000;
        memory::map_page(virt, f, flags).map_err(|e| alloc::format!("{e}"))?;
        let (_, got) = memory::translate(virt).ok_or("no translation")?;
        ensure_eq!(got, flags);
        memory::unmap_page(virt).map_err(|e| alloc::format!("{e}"))?;
    }
    memory::free_frame(f).map_err(|e| alloc::format!("{e:?}"))?;
    // The direct map and kernel data are never executable.
    let (_, direct) = memory::translate(phys_to_virt(0x20_0000)).ok_or("direct map missing")?;
    ensure!(!direct.executable && direct.writable && !direct.user, "direct map flags {direct:?}");
    Ok(())
}
kernel_test!(permission_bits_are_as_asked);

fn heap_churn_returns_to_start() -> TestResult {
    let before = heap_stats().bytes_in_use;
    for round in 0..20usize {
        let mut boxes: Vec<Box<[u8]>> = Vec::new();
        for i in 0..200usize {
            let size = 1 + (i * 37 + round * 101) % 3000;
            boxes.push(alloc::vec![i as u8; size].into_boxed_slice());
        }
        for (i, b) in boxes.iter().enumerate() {
            ensure!(b.iter().all(|&x| x == i as u8), "box {i} was overwritten");
        }
        // Free every other one first, then the rest.
        let mut odd = Vec::new();
        for (i, b) in boxes.into_iter().enumerate() {
            if i % 2 == 1 {
                odd.push(b);
            }
        }
        drop(odd);
    }
    ensure_eq!(heap_stats().bytes_in_use, before);
    Ok(())
}
kernel_test!(heap_churn_returns_to_start);

fn heap_grows_to_several_mib() -> TestResult {
    let before = heap_stats();
    let big: Vec<u64> = (0..(6 << 20) / 8).map(|i| i as u64).collect();
    ensure_eq!(big[123_456], 123_456);
    let grown = heap_stats();
    ensure!(grown.bytes_mapped >= before.bytes_mapped.max(6 << 20), "heap did not grow: {grown:?}");
    ensure!(grown.frames * 4096 == grown.bytes_mapped, "frame count {grown:?}");
    drop(big);
    ensure_eq!(heap_stats().bytes_in_use, before.bytes_in_use);
    Ok(())
}
kernel_test!(heap_grows_to_several_mib);

/// `mov eax, 42; ret`
const RETURN_42: &[u8] = &[0xb8, 0x2a, 0, 0, 0, 0xc3];
/// `mov rax, [rdi]; ret`: loads from the address passed as argument.
const LOAD_ARG: &[u8] = &[0x48, 0x8b, 0x07, 0xc3];

fn code_block(code: &[u8]) -> Result<CodeBlock, alloc::string::String> {
    let mut block = CodeBlock::new(code.len()).map_err(|e| alloc::format!("{e}"))?;
    block.bytes_mut().ok_or("new block not writable")?[..code.len()].copy_from_slice(code);
    block.make_executable().map_err(|e| alloc::format!("{e}"))?;
    Ok(block)
}

fn code_block_is_never_writable_and_executable() -> TestResult {
    // A first block may allocate page tables (and split a direct-map page)
    // that stay; count from after it.
    drop(CodeBlock::new(100).map_err(|e| alloc::format!("{e}"))?);
    let pages_before = code::pages_in_use();
    let frames_before = frame::stats().free;
    {
        let mut block = CodeBlock::new(100).map_err(|e| alloc::format!("{e}"))?;
        let (_, flags) = memory::translate(block.addr()).ok_or("block not mapped")?;
        ensure!(flags.writable && !flags.executable, "fresh block flags {flags:?}");
        let alias = code::direct_alias(block.addr()).ok_or("no alias")?;
        // SAFETY: a failed probe changes nothing; a successful one would be a bug reported below.
        ensure!(unsafe { probe::write_u64(alias, 0) }.is_err(), "direct-map alias of code is writable");
        block.bytes_mut().ok_or("not writable")?[..RETURN_42.len()].copy_from_slice(RETURN_42);
        block.make_executable().map_err(|e| alloc::format!("{e}"))?;
        ensure!(block.bytes_mut().is_none(), "executable block still hands out bytes");
        let (_, flags) = memory::translate(block.addr()).ok_or("block not mapped")?;
        ensure!(!flags.writable && flags.executable, "executable block flags {flags:?}");
        let addr = block.addr();
        // SAFETY: writing the byte already there; must fault since the page is read-only.
        let fault = unsafe { probe::write_u64(addr, probe::read_u64(addr).unwrap_or(0)) }
            .err()
            .ok_or("executable block is writable")?;
        ensure_eq!(fault.error_code & pf::WRITE, pf::WRITE);
        // SAFETY: the block holds RETURN_42, a complete System V function.
        let value = unsafe { probe::call_guarded(addr, 0) }.map_err(|f| alloc::format!("{f}"))?;
        ensure_eq!(value, 42);
        ensure!(addr.abs_diff(code_block_is_never_writable_and_executable as *const () as u64) < 1 << 31,
            "code block {addr:#x} is out of rel32 reach of kernel text");
    }
    ensure_eq!(code::pages_in_use(), pages_before);
    ensure_eq!(frame::stats().free, frames_before);
    Ok(())
}
kernel_test!(code_block_is_never_writable_and_executable);

fn fault_in_generated_code_is_contained() -> TestResult {
    let heap_before = heap_stats().bytes_in_use;
    let block = code_block(LOAD_ARG)?;
    // An overlapping region that declines: recovery must ask the next one.
    let declining = fault::register_region(code::CODE_START, code::CODE_START + code::CODE_SIZE, |_| None)
        .map_err(|_| "region table full")?;
    let region = fault::register_region(block.addr(), block.addr() + block.size() as u64, probe::guarded_resume)
        .map_err(|_| "region table full")?;
    let bad = SCRATCH + 0x77_0000;
    // SAFETY: the block holds LOAD_ARG; its fault is recovered through the region.
    let result = unsafe { probe::call_guarded(block.addr(), bad) };
    let fault = result.err().ok_or("load from an unmapped address returned a value")?;
    ensure_eq!(fault.address, Some(bad));
    ensure_eq!(fault.rip, block.addr());
    // The same code with a good pointer still works afterwards.
    let value = 0x5eed_u64;
    // SAFETY: as above, with a valid pointer.
    let read = unsafe { probe::call_guarded(block.addr(), &value as *const u64 as u64) };
    ensure_eq!(read.map_err(|f| alloc::format!("{f}"))?, 0x5eed);
    fault::unregister_region(region);
    fault::unregister_region(declining);
    drop(block);
    ensure_eq!(heap_stats().bytes_in_use, heap_before);
    Ok(())
}
kernel_test!(fault_in_generated_code_is_contained);

fn kernel_stacks_have_guard_pages() -> TestResult {
    // Page tables made for the first stack stay; count from after it. It
    // is left dirty, for the next stack to show it holds none of that.
    {
        let first = KernelStack::new(16 * 1024).map_err(|e| alloc::format!("{e}"))?;
        for a in (first.base()..first.top()).step_by(8) {
            // SAFETY: the stack's pages are mapped and belong to this test.
            unsafe { probe::write_u64(a, 0x5a5a) }.map_err(|f| alloc::format!("{f}"))?;
        }
    }
    let frames_before = frame::stats().free;
    let pages_before = stack::pages_in_use();
    {
        let stack = KernelStack::new(16 * 1024).map_err(|e| alloc::format!("{e}"))?;
        ensure_eq!(stack.top() - stack.base(), 16 * 1024);
        ensure_eq!(stack.top() % 16, 0);
        // A new stack holds nothing of what its frames held before.
        let dirty = (stack.base()..stack.top()).step_by(8).find(|&a| probe::read_u64(a) != Ok(0));
        ensure_eq!(dirty, None);
        // SAFETY: the stack's pages are mapped and belong to this test.
        unsafe { probe::write_u64(stack.top() - 8, 0xabcd) }.map_err(|f| alloc::format!("{f}"))?;
        // SAFETY: as above.
        unsafe { probe::write_u64(stack.base(), 0xdcba) }.map_err(|f| alloc::format!("{f}"))?;
        ensure_eq!(probe::read_u64(stack.top() - 8), Ok(0xabcd));
        let below = stack.base() - 8;
        let fault = probe::read_u64(below).err().ok_or("the guard page is readable")?;
        ensure_eq!(fault.address, Some(below));
        ensure!(stack::is_guard_page(below), "the guard page is not recognised");
        ensure!(!stack::is_guard_page(stack.base()), "a stack page is taken for a guard page");
        let (_, flags) = memory::translate(stack.base()).ok_or("stack not mapped")?;
        ensure_eq!(flags, MapFlags::KERNEL_DATA);
        ensure_eq!(stack::pages_in_use(), pages_before + 5);
    }
    ensure_eq!(stack::pages_in_use(), pages_before);
    ensure_eq!(frame::stats().free, frames_before);
    Ok(())
}
kernel_test!(kernel_stacks_have_guard_pages);
