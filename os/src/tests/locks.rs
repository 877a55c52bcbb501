//! The lock-order checker: taking a lock while holding one that comes
//! after it in `LockClass` is reported, with both names, even on one CPU
//! where it cannot deadlock.

use crate::ktest::TestResult;
use crate::sync::{Inversion, IrqLock, LockClass, take_inversion};
use crate::{ensure, ensure_eq, kernel_test};

static A: IrqLock<u32> = IrqLock::with_class(LockClass::TestA, 0);
static B: IrqLock<u32> = IrqLock::with_class(LockClass::TestB, 0);

fn taking_locks_against_the_order_is_an_inversion() -> TestResult {
    ensure_eq!(take_inversion(), None);
    {
        let _a = A.lock();
        let _b = B.lock();
    }
    // The same order again, and each lock alone, are fine.
    {
        let _a = A.lock();
        let _b = B.lock();
    }
    drop(B.lock());
    ensure_eq!(take_inversion(), None);
    ensure!(
        crate::sync::lock_order_edges().any(|e| e == (LockClass::TestA, LockClass::TestB)),
        "the order TestA -> TestB was not recorded"
    );
    {
        let _b = B.lock();
        let _a = A.lock();
    }
    ensure_eq!(take_inversion(), Some(Inversion { held: LockClass::TestB, taken: LockClass::TestA }));
    // `try_lock` cannot wait, so it cannot deadlock: not an inversion.
    {
        let _b = B.lock();
        let _a = A.try_lock().ok_or("A is free")?;
    }
    ensure_eq!(take_inversion(), None);
    Ok(())
}
kernel_test!(taking_locks_against_the_order_is_an_inversion);
