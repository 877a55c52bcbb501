//! Several CPUs: every CPU the MADT lists comes online with its own
//! per-CPU record, takes its own timer, answers IPIs, runs functions it is
//! asked to and drops unmapped pages from its TLB. The stage
//! `kernel` runs these tests on 1, 2 and 4 CPUs (`cpus=N` on the command
//! line says how many QEMU was given).

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::arch::percpu::MAX_CPUS;
use crate::arch::{acpi, apic, grace, ipi, percpu, probe, smp, syscall_entry, tlb};
use crate::memory::{self, MapFlags};
use crate::ktest::{TestResult, parameter};
use crate::{ensure, ensure_eq, kernel_test, time};

/// The CPUs QEMU was started with, if the command line says.
fn expected_cpus() -> Result<Option<usize>, alloc::string::String> {
    parameter("cpus").map(|n| n.parse().map_err(|_| alloc::format!("cpus={n} is not a number"))).transpose()
}

fn every_listed_cpu_is_online() -> TestResult {
    let report = smp::report().ok_or("the CPUs were not set up")?;
    ensure!(report.failed.is_empty(), "CPUs that did not start: {:?}", report.failed);
    ensure_eq!(report.online, report.found);
    ensure_eq!(percpu::online().count(), report.online);
    ensure_eq!(percpu::online_count(), report.online);
    if let Some(n) = expected_cpus()? {
        ensure_eq!(report.online, n);
    }
    Ok(())
}
kernel_test!(every_listed_cpu_is_online);

fn cpu_numbers_and_apic_ids_are_distinct() -> TestResult {
    let cpus: Vec<_> = percpu::online().collect();
    let ids: Vec<usize> = cpus.iter().map(|c| c.id()).collect();
    ensure_eq!(ids, (0..cpus.len()).collect::<Vec<_>>());
    let mut apic_ids: Vec<u32> = cpus.iter().map(|c| c.apic_id()).collect();
    apic_ids.sort_unstable();
    apic_ids.dedup();
    ensure_eq!(apic_ids.len(), cpus.len());
    // The tests run on the boot CPU, whose GS base is its own record.
    ensure_eq!(percpu::cpu_id(), 0);
    ensure_eq!(percpu::current().apic_id(), apic::id());
    ensure_eq!(percpu::gs_bases().0, percpu::current().addr());
    Ok(())
}
kernel_test!(cpu_numbers_and_apic_ids_are_distinct);

fn every_cpu_takes_its_own_timer() -> TestResult {
    let before: Vec<u64> = percpu::online().map(|c| c.timer_ticks()).collect();
    // Five ticks of 10 ms; every CPU should see at least two of them even
    // on a loaded host.
    let start = time::uptime_ns();
    while time::uptime_ns() - start < 50_000_000 {
        crate::arch::wait_for_interrupt();
    }
    for (cpu, before) in percpu::online().zip(before) {
        let ticks = cpu.timer_ticks() - before;
        ensure!(ticks >= 2, "CPU {} took {ticks} timer interrupts in 50 ms", cpu.id());
        let count = smp::timer_count(cpu.id());
        let boot = smp::timer_count(0);
        ensure!(count > 0 && count < 2 * boot && boot < 2 * count, "CPU {} calibrated {count} counts per tick, CPU 0 {boot}", cpu.id());
    }
    Ok(())
}
kernel_test!(every_cpu_takes_its_own_timer);

fn a_wake_ipi_reaches_each_other_cpu() -> TestResult {
    for cpu in percpu::online().filter(|c| c.id() != 0) {
        let before = (cpu.wake_ipis(), cpu.wakeups());
        apic::send_ipi(cpu.apic_id(), apic::WAKE_VECTOR);
        let start = time::uptime_ns();
        // The handler counts the IPI; the idle loop counts the wakeup a
        // moment later, when `hlt` returns: wait for both.
        while (cpu.wake_ipis() == before.0 || cpu.wakeups() == before.1) && time::uptime_ns() - start < 1_000_000_000 {
            core::hint::spin_loop();
        }
        ensure_eq!(cpu.wake_ipis(), before.0 + 1);
        ensure!(cpu.wakeups() > before.1, "CPU {} took the IPI without leaving its idle hlt", cpu.id());
    }
    ensure_eq!(percpu::current().wake_ipis(), 0);
    Ok(())
}
kernel_test!(a_wake_ipi_reaches_each_other_cpu);

/// A MADT with `entries` after its header, checksum fixed.
pub(super) fn madt(entries: &[&[u8]]) -> Vec<u8> {
    let mut t = alloc::vec![0u8; 44];
    t[..4].copy_from_slice(b"APIC");
    t[36..40].copy_from_slice(&0xfee0_0000u32.to_le_bytes());
    for e in entries {
        t.extend_from_slice(e);
    }
    let len = t.len() as u32;
    t[4..8].copy_from_slice(&len.to_le_bytes());
    let sum = t.iter().fold(0u8, |s, b| s.wrapping_add(*b));
    t[9] = 0u8.wrapping_sub(sum);
    t
}

fn the_madt_reader_lists_cpus_and_refuses_broken_tables() -> TestResult {
    let cpu = |id: u8, flags: u8| [0u8, 8, id, id, flags, 0, 0, 0];
    let x2 = [9u8, 16, 0, 0, 0x34, 0x12, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0];
    let io = [1u8, 12, 0, 0, 0, 0, 0xc0, 0xfe, 0, 0, 0, 0];
    let good = madt(&[&cpu(0, 1), &cpu(1, 0), &cpu(2, 2), &x2, &io, &[0x7f, 3, 0]]);
    let parsed = acpi::parse_madt(&good).map_err(|e| alloc::format!("{e}"))?;
    ensure_eq!(parsed.local_apic, 0xfee0_0000);
    let listed: Vec<(u32, bool)> = parsed.cpus.iter().map(|c| (c.apic_id, c.usable)).collect();
    ensure_eq!(listed, alloc::vec![(0, true), (1, false), (2, true), (0x1234, true)]);
    ensure_eq!(parsed.io_apics, alloc::vec![acpi::IoApicEntry { id: 0, address: 0xfec0_0000, gsi_base: 0 }]);

    let mut bad_sum = good.clone();
    bad_sum[40] ^= 1;
    ensure_eq!(acpi::parse_madt(&bad_sum), Err(acpi::AcpiError::BadChecksum("MADT")));
    ensure_eq!(acpi::parse_madt(&good[..good.len() - 1]), Err(acpi::AcpiError::BadLength("MADT")));
    ensure_eq!(acpi::parse_madt(b"FACP"), Err(acpi::AcpiError::BadSignature { what: "MADT", at: 0 }));
    // An entry of length 0 would loop forever; one running past the end
    // or too short for its kind would read beyond it.
    for entry in [&[0u8, 0][..], &[0u8, 9, 0, 0, 1, 0, 0, 0][..], &[0u8, 4, 0, 0][..], &[9u8, 8, 0, 0, 0, 0, 0, 0][..]] {
        let table = madt(&[entry]);
        ensure_eq!(acpi::parse_madt(&table), Err(acpi::AcpiError::BadLength("MADT entry")));
    }
    Ok(())
}
kernel_test!(the_madt_reader_lists_cpus_and_refuses_broken_tables);

/// What each CPU read in [`read_on_this_cpu`]: the value, or [`FAULTED`].
static SEEN: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
const FAULTED: u64 = u64::MAX;

/// Run on another CPU through an IPI: reads `addr` and notes what it saw.
fn read_on_this_cpu(addr: u64) {
    let value = probe::read_u64(addr).unwrap_or(FAULTED);
    SEEN[percpu::cpu_id()].store(value, Ordering::Relaxed);
}

/// Calls run by each online CPU so far.
fn calls_run() -> Vec<u64> {
    percpu::online().map(|c| ipi::calls_run(c.id())).collect()
}

/// Every other CPU ran exactly one call since `before` (from [`calls_run`]).
fn each_other_cpu_ran_one_call(before: Vec<u64>) -> TestResult {
    for (cpu, before) in percpu::online().zip(before) {
        let expected = if cpu.id() == percpu::cpu_id() { before } else { before + 1 };
        ensure_eq!((cpu.id(), ipi::calls_run(cpu.id())), (cpu.id(), expected));
    }
    Ok(())
}

fn every_other_cpu_runs_a_called_function() -> TestResult {
    let before = calls_run();
    ipi::call_on_others(read_on_this_cpu, 0);
    each_other_cpu_ran_one_call(before)
}
kernel_test!(every_other_cpu_runs_a_called_function);

/// A page every CPU has just read is unmapped on CPU 0: afterwards no CPU
/// can read it (without the shootdown, the others' TLBs would still hold
/// the translation and the reads would succeed).
fn an_unmapped_page_leaves_every_cpus_tlb() -> TestResult {
    const VALUE: u64 = 0x5eed_0000_0000_1234;
    let addr = super::SCRATCH + 0x40_0000_0000;
    let frame = memory::alloc_zeroed_frame().ok_or("out of frames")?;
    memory::map_page(addr, frame, MapFlags::KERNEL_DATA).map_err(|e| alloc::format!("{e}"))?;
    // SAFETY: the page was just mapped for this test and nothing else uses it.
    unsafe { probe::write_u64(addr, VALUE) }.map_err(|f| alloc::format!("{f}"))?;
    ipi::call_on_others(read_on_this_cpu, addr);
    let others = || percpu::online().filter(|c| c.id() != percpu::cpu_id());
    for cpu in others() {
        ensure_eq!((cpu.id(), SEEN[cpu.id()].load(Ordering::Relaxed)), (cpu.id(), VALUE));
    }
    let shot = tlb::shootdowns();
    let unmapped = memory::unmap_page(addr).map_err(|e| alloc::format!("{e}"));
    let freed = memory::free_frame(frame).map_err(|e| alloc::format!("{e:?}"));
    unmapped?;
    freed?;
    ensure!(probe::read_u64(addr).is_err(), "CPU 0 still reads the unmapped page");
    ipi::call_on_others(read_on_this_cpu, addr);
    for cpu in others() {
        ensure_eq!((cpu.id(), SEEN[cpu.id()].load(Ordering::Relaxed)), (cpu.id(), FAULTED));
    }
    ensure_eq!(tlb::shootdowns(), shot + u64::from(others().count() > 0));
    Ok(())
}
kernel_test!(an_unmapped_page_leaves_every_cpus_tlb);

/// A grace period returns only after every other CPU has run a call (a
/// quiescent point); with one CPU it waits for nothing.
fn a_grace_period_waits_for_every_other_cpu() -> TestResult {
    let before = calls_run();
    let completed = grace::completed();
    grace::wait();
    each_other_cpu_ran_one_call(before)?;
    ensure_eq!(grace::completed(), completed + u64::from(percpu::online_count() > 1));
    // What one costs with the other CPUs idle.
    let (n0, cycles0, _) = grace::waited();
    for _ in 0..GRACE_ROUNDS {
        grace::wait();
    }
    let (n1, cycles1, _) = grace::waited();
    if n1 > n0 {
        let mean_ns = crate::time::cycles_to_ns((cycles1 - cycles0) / (n1 - n0));
        crate::println!("    grace period on {} CPUs, others idle: {mean_ns} ns on average over {} waits", percpu::online_count(), n1 - n0);
    }
    Ok(())
}

/// Grace periods timed by [`a_grace_period_waits_for_every_other_cpu`].
const GRACE_ROUNDS: usize = 1000;
kernel_test!(a_grace_period_waits_for_every_other_cpu);

/// Where `syscall` enters the kernel on each CPU, noted by [`note_syscall_entry`].
static ENTRY: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(u64::MAX) }; MAX_CPUS];

fn note_syscall_entry(_: u64) {
    ENTRY[percpu::cpu_id()].store(syscall_entry::entry_on_this_cpu(), Ordering::Relaxed);
}

/// The `syscall` MSRs are per CPU: once the system-call table is
/// installed, every CPU enters the kernel at the same place.
fn every_cpu_enters_at_the_same_syscall_entry() -> TestResult {
    crate::syscall::init();
    let entry = syscall_entry::entry_on_this_cpu();
    ensure!(entry != 0, "syscall is off on CPU 0");
    ipi::call_on_others(note_syscall_entry, 0);
    for cpu in percpu::online().filter(|c| c.id() != percpu::cpu_id()) {
        ensure_eq!((cpu.id(), ENTRY[cpu.id()].load(Ordering::Relaxed)), (cpu.id(), entry));
    }
    Ok(())
}
kernel_test!(every_cpu_enters_at_the_same_syscall_entry);
