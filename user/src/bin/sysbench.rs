//! `sysbench [N]`: system call round-trip cost. Measures N `getpid`
//! calls from user space with the time-stamp counter, and asks the kernel
//! for its own in-kernel measurement (`kinfo(KINFO_SYSCALL_CYCLES)`).
#![no_std]
#![no_main]
extern crate alloc;
use user::{println, sys};
user::entry!(main);

fn rdtsc() -> u64 {
    // SAFETY: rdtsc reads a counter and has no memory effects.
    unsafe { core::arch::x86_64::_rdtsc() }
}

fn main(args: user::Args) -> i32 {
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10_000).max(1);
    let mut samples = alloc::vec::Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = rdtsc();
        let _ = sys::getpid();
        samples.push(rdtsc() - t0);
    }
    samples.sort_unstable();
    println!("user getpid round trip: median {} cycles over {} calls", samples[n / 2], n);
    match sys::kinfo(abi::syscall::KINFO_SYSCALL_CYCLES, n) {
        Ok(c) => println!("in-kernel syscall table dispatch: median {c} cycles"),
        Err(e) => println!("in-kernel measurement: {}", e.message()),
    }
    0
}
