//! The in-kernel test runner (built with `--features ktest`).
//!
//! A test is a `fn() -> TestResult` registered with [`kernel_test!`], which
//! puts a [`KernelTest`] record into the `.kernel_tests` linker section; the
//! linker script collects the records between `__kernel_tests_start` and
//! `__kernel_tests_end`, so tests in any module are found without a list.
//!
//! `run_all` runs every test after boot and prints one line per test on the
//! serial port, then `ktest: N passed, N failed`, and leaves QEMU through the
//! debug-exit device (33 = all passed, 35 = a failure or a panic).
//!
//! ```ignore
//! fn frames_are_distinct() -> TestResult {
//!     let a = alloc_frame().ok_or("no frame")?;
//!     let b = alloc_frame().ok_or("no frame")?;
//!     ensure!(a != b, "the same frame twice: {a:?}");
//!     Ok(())
//! }
//! kernel_test!(frames_are_distinct);
//! ```

use alloc::string::String;
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::qemu::{self, ExitCode};
use crate::{print, println};

/// What a test returns: `Err` carries the reason it failed.
pub type TestResult = Result<(), String>;

/// One registered test.
#[repr(C)]
pub struct KernelTest {
    pub name: &'static str,
    pub run: fn() -> TestResult,
}

/// Registers a test function (see the module documentation).
#[macro_export]
macro_rules! kernel_test {
    ($test:ident) => {
        const _: () = {
            #[used]
            #[unsafe(link_section = ".kernel_tests")]
            static TEST: $crate::ktest::KernelTest = $crate::ktest::KernelTest {
                name: concat!(module_path!(), "::", stringify!($test)),
                run: $test,
            };
        };
    };
}

/// Fails the test with a formatted message unless `cond` holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(alloc::format!($($msg)+));
        }
    };
}

/// Fails the test unless `left == right`, showing both values.
#[macro_export]
macro_rules! ensure_eq {
    ($left:expr, $right:expr) => {{
        let (left, right) = (&$left, &$right);
        if left != right {
            return Err(alloc::format!(
                "{} == {} failed\n    left: {:?}\n   right: {:?}",
                stringify!($left), stringify!($right), left, right
            ));
        }
    }};
}

unsafe extern "C" {
    static __kernel_tests_start: u8;
    static __kernel_tests_end: u8;
}

/// Index + 1 of the running test (0: none), for the panic handler.
static CURRENT: AtomicUsize = AtomicUsize::new(0);

/// Every registered test.
pub fn tests() -> &'static [KernelTest] {
    // SAFETY: the linker script places only `KernelTest` records (all of
    // one size and alignment) between these two symbols.
    unsafe {
        let start = (&raw const __kernel_tests_start).cast::<KernelTest>();
        let end = &raw const __kernel_tests_end;
        let count = (end as usize - start as usize) / core::mem::size_of::<KernelTest>();
        core::slice::from_raw_parts(start, count)
    }
}

/// The test filter: the first word of the kernel command line (all tests
/// when it is empty).
pub fn filter() -> &'static str {
    crate::bootinfo::get().and_then(|b| b.cmdline().split_whitespace().next()).unwrap_or("")
}

/// The value of `KEY=VALUE` among the words after the filter on the kernel
/// command line (a campaign's count and seed, for example).
pub fn parameter(key: &str) -> Option<&'static str> {
    let line = crate::bootinfo::get()?.cmdline();
    line.split_whitespace().skip(1).find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
}

/// Runs every test whose name contains the first word of `cmdline` (all
/// if there is none) and exits QEMU.
pub fn run_all(cmdline: &str) -> ! {
    let filter = cmdline.split_whitespace().next().unwrap_or("");
    let selected = || tests().iter().enumerate().filter(|(_, t)| t.name.contains(filter));
    println!("ktest: running {} tests", selected().count());
    let (mut passed, mut failed) = (0, 0);
    for (index, test) in selected() {
        CURRENT.store(index + 1, Ordering::Relaxed);
        // The line is printed when the test is done, so that log lines the
        // test prints do not split it. A lock-order inversion fails the test
        // during which it happened.
        let outcome = (test.run)().and_then(|()| match crate::sync::take_inversion() {
            None => Ok(()),
            Some(i) => Err(alloc::format!(
                "lock order inverted: {:?} was taken while holding {:?}, which comes after it\n    help: take them in the order of docs/locks.md (`sync::LockClass`), or change that order there",
                i.taken, i.held
            )),
        });
        match outcome {
            Ok(()) => {
                passed += 1;
                println!("test {} ... ok", test.name);
            }
            Err(reason) => {
                failed += 1;
                println!("test {} ... FAILED\n    {reason}", test.name);
            }
        }
        CURRENT.store(0, Ordering::Relaxed);
    }
    print!("ktest: lock order seen:");
    for (held, taken) in crate::sync::lock_order_edges() {
        print!(" {held:?}->{taken:?}");
    }
    println!();
    println!("ktest: {passed} passed, {failed} failed");
    qemu::exit(if failed == 0 { ExitCode::Success } else { ExitCode::Failure })
}

/// The test that was running when the kernel panicked, if any.
pub fn current_test() -> Option<&'static str> {
    match CURRENT.load(Ordering::Relaxed) {
        0 => None,
        n => tests().get(n - 1).map(|t| t.name),
    }
}
