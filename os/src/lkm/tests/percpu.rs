//! Per-CPU array maps on every CPU: each CPU's lookups reach a value of
//! its own, the map has a value for each CPU that is online, and the
//! map-read path returns them all. The stage `kernel` runs them on 1, 2
//! and 4 CPUs (the first one's name contains `smp`, for `--filter smp`). They hold whichever
//! CPUs run module code: the system calls here are made on the CPU running
//! the test.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use lkm::{MapDecl, MapKind};

use super::helpers::syscall_image;
use super::{setup, unload_named};
use crate::arch::percpu::{self, MAX_CPUS};
use crate::arch::ipi;
use crate::ktest::TestResult;
use crate::lkm::module::Module;
use crate::lkm::{device, helpers, load_image};
use crate::syscall::{self, Args};
use crate::{ensure, ensure_eq, kernel_test};

/// A system call that adds 1 to its CPU's value of the per-CPU array
/// `hits` and returns the CPU's number (`cpu_id`), or -1 if the lookup
/// finds nothing.
const COUNT: &str = "call 19
                     r6 = r0
                     r1 = map[0] ll
                     *(u32 *)(r10 - 4) = 0
                     r2 = r10
                     r2 += -4
                     call 6
                     if r0 == 0 goto miss
                     r1 = *(u64 *)(r0 + 0)
                     r1 += 1
                     *(u64 *)(r0 + 0) = r1
                     r0 = r6
                     exit
                     miss:
                     r0 = -1
                     exit";

/// The image of [`COUNT`], with its per-CPU array `hits`.
fn count_image() -> Result<Vec<u8>, String> {
    let mut image = lkm::parse(&syscall_image("cpucount", COUNT)?).map_err(|e| alloc::format!("{e}"))?;
    let hits = MapDecl { name: String::from("hits"), kind: MapKind::PerCpuArray, key_size: 4, value_size: 8, max_entries: 1 };
    image.maps.push(hits);
    Ok(image.to_bytes())
}

/// The module [`on_this_cpu`] looks in.
static PROBED: spin::Mutex<Option<Arc<Module>>> = spin::Mutex::new(None);
/// The address of each CPU's value of key 0, as its own lookup found it.
static FOUND: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// Notes where this CPU's lookup of key 0 in [`PROBED`]'s map lands.
fn on_this_cpu(_: u64) {
    let found = PROBED.lock().as_ref().and_then(|m| {
        m.maps[0].with(|map| helpers::slot_on_this_cpu(map, &0u32.to_le_bytes()).map(|s| map.value(s).as_ptr() as u64))
    });
    FOUND[percpu::cpu_id()].store(found.unwrap_or(0), Ordering::Relaxed);
}

fn smp_per_cpu_map_gives_each_cpu_its_own_value() -> TestResult {
    setup()?;
    let module = load_image(&count_image()?, "cpucount", None)
        .map_err(|r| alloc::format!("loading cpucount: {}\n{}", r.errno, r.message))?;
    let me = percpu::cpu_id();
    let nr = module.slot() as usize;
    let returned: Vec<isize> = (0..3).map(|_| syscall::dispatch(&Args { nr, a: [0; 6] })).collect();
    for f in &FOUND {
        f.store(0, Ordering::Relaxed);
    }
    *PROBED.lock() = Some(module.clone());
    on_this_cpu(0);
    ipi::call_on_others(on_this_cpu, 0);
    PROBED.lock().take();
    let (base, len, cpus) = module.maps[0].with(|m| (m.values().as_ptr() as u64, m.values().len() as u64, m.cpus()));
    let values = device::entry_values(&module.maps[0], &0u32.to_le_bytes()).map_err(|e| alloc::format!("{e}"));
    unload_named(module)?;

    ensure_eq!(returned, [me as isize; 3]);
    let online: Vec<usize> = percpu::online().map(|c| c.id()).collect();
    ensure_eq!(cpus, online.iter().max().map_or(1, |m| m + 1));
    ensure_eq!(len, 8 * cpus as u64);
    for &cpu in &online {
        // CPU `cpu`'s value is the `cpu`-th 8 bytes: distinct for each CPU.
        ensure_eq!((cpu, FOUND[cpu].load(Ordering::Relaxed)), (cpu, base + 8 * cpu as u64));
    }
    let mut want = alloc::vec![0u8; 8 * cpus];
    want[8 * me] = 3;
    ensure_eq!(values?, want);
    Ok(())
}
kernel_test!(smp_per_cpu_map_gives_each_cpu_its_own_value);

/// A per-CPU map's values cannot be reached by a fixed address (which
/// CPU's would it be?): the load is refused with the verifier's reason.
fn per_cpu_map_values_have_no_fixed_address() -> TestResult {
    setup()?;
    let src = "r1 = map_value[0] + 0 ll\n r0 = 0\n exit";
    let program = verifier::assemble(src).map_err(|e| alloc::format!("{e}"))?;
    let mut image = lkm::parse(&count_image()?).map_err(|e| alloc::format!("{e}"))?;
    image.programs[0].code = verifier::encode(&program);
    let refused = load_image(&image.to_bytes(), "cpucount", None).err().ok_or("the module loaded")?;
    ensure!(refused.message.contains("has no fixed value to point to"), "{}", refused.message);
    Ok(())
}
kernel_test!(per_cpu_map_values_have_no_fixed_address);
