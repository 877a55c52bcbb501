//! The heap's figures as the verifier's limit reads them: blocks count at
//! their real size, and the injected failures of the test kernel fail
//! exactly the allocations asked for.

use alloc::boxed::Box;
use alloc::vec::Vec;

use crate::ktest::TestResult;
use crate::memory::heap::{fail_after, heap_stats};
use crate::{ensure, ensure_eq, kernel_test};

fn blocks_count_at_their_real_size() -> TestResult {
    let before = heap_stats();
    // 17 bytes take a block of the 32-byte class; 3000 bytes one of 4096.
    let small = Box::new([7u8; 17]);
    ensure_eq!(heap_stats().bytes_in_use - before.bytes_in_use, 32);
    let middle = Box::new([7u8; 3000]);
    ensure_eq!(heap_stats().bytes_in_use - before.bytes_in_use, 32 + 4096);
    // A large block counts at least its size, rounded to 8 bytes.
    let large: Vec<u8> = alloc::vec![1; 10_001];
    let grown = heap_stats().bytes_in_use - before.bytes_in_use - 32 - 4096;
    ensure!((10_008..10_008 + 64).contains(&grown), "a 10,001-byte block counted as {grown} bytes");
    ensure!(heap_stats().bytes_available > 0, "nothing available: {:?}", heap_stats());
    drop((small, middle, large));
    ensure_eq!(heap_stats().bytes_in_use, before.bytes_in_use);
    Ok(())
}
kernel_test!(blocks_count_at_their_real_size);

fn injected_failures_fail_from_the_nth_allocation_on() -> TestResult {
    let mut v: Vec<u64> = Vec::new();
    let mut w: Vec<u64> = Vec::new();
    fail_after(Some(1));
    let first = v.try_reserve_exact(4);
    let second = w.try_reserve_exact(4);
    let third = w.try_reserve_exact(8);
    fail_after(None);
    ensure!(first.is_ok() && second.is_err() && third.is_err(), "{first:?} {second:?} {third:?}");
    ensure!(w.try_reserve_exact(4).is_ok(), "allocations still fail after the injection was turned off");
    Ok(())
}
kernel_test!(injected_failures_fail_from_the_nth_allocation_on);
