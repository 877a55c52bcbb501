//! Kernel locks, and the order in which they nest.
//!
//! [`IrqLock`] is a spin lock that also turns interrupts off while it is
//! held, so an interrupt handler that takes the same lock can never spin
//! forever on a lock its own CPU holds. Every lock that an interrupt or
//! exception handler may touch (serial port, log ring, heap, page tables,
//! frame allocator) is an `IrqLock`; so is every other global lock.
//!
//! Every global lock has a [`LockClass`], and the classes have one order:
//! a lock may be taken while holding only locks of earlier classes. The
//! order, top to bottom (docs/locks.md says what each protects and which
//! nestings the kernel really performs):
//!
//! ```text
//! LkmTable > MiscTickers > LkmPorts > SyscallTable > Killed > ExecFormats
//!   > FsTypes > Mounts > Devfs > CharDevices > BlockDevices > ConsoleLine
//!   > Tasks > Ready > TextCache > Sysrq > FaultRegions > LastFault
//!   > Heap > Paging > Frames > LogRing > SerialInput > SerialPort
//! ```
//!
//! Rules that come with spin locks with interrupts off: never sleep or
//! switch tasks while holding one; use `try_lock` where waiting is not
//! allowed (panic, fault recovery); never wait for another CPU's answer to
//! an IPI while holding a lock that CPU may spin on (it takes no
//! interrupts while it spins). In test builds the lock-order checker of
//! `order` fails the running test when a lock is taken against the order.

use core::ops::{Deref, DerefMut};

use crate::arch;

mod order;

pub use order::LockClass;
#[cfg(feature = "ktest")]
pub use order::{Inversion, edges as lock_order_edges, take_inversion};

/// A spin lock that disables interrupts while held.
pub struct IrqLock<T> {
    inner: spin::Mutex<T>,
    class: Option<LockClass>,
}

/// Access to the data of an [`IrqLock`]; restores the interrupt flag on drop.
pub struct IrqLockGuard<'a, T> {
    guard: Option<spin::MutexGuard<'a, T>>,
    interrupts_were_on: bool,
    class: Option<LockClass>,
}

impl<T> IrqLock<T> {
    /// A lock the order checker does not follow (one inside an object).
    pub const fn new(value: T) -> Self {
        Self { inner: spin::Mutex::new(value), class: None }
    }

    /// A global lock of `class` (see the lock table above).
    pub const fn with_class(class: LockClass, value: T) -> Self {
        Self { inner: spin::Mutex::new(value), class: Some(class) }
    }

    /// Turns interrupts off, then spins until the lock is free.
    pub fn lock(&self) -> IrqLockGuard<'_, T> {
        let interrupts_were_on = arch::interrupts_enabled();
        arch::disable_interrupts();
        if let Some(class) = self.class {
            order::acquired(class, true);
        }
        IrqLockGuard { guard: Some(self.inner.lock()), interrupts_were_on, class: self.class }
    }

    /// Takes the lock only if it is free (used by the panic path, which must
    /// not wait for a lock the panicking code may hold).
    pub fn try_lock(&self) -> Option<IrqLockGuard<'_, T>> {
        let interrupts_were_on = arch::interrupts_enabled();
        arch::disable_interrupts();
        match self.inner.try_lock() {
            Some(guard) => {
                if let Some(class) = self.class {
                    order::acquired(class, false);
                }
                Some(IrqLockGuard { guard: Some(guard), interrupts_were_on, class: self.class })
            }
            None => {
                if interrupts_were_on {
                    arch::enable_interrupts();
                }
                None
            }
        }
    }
}

impl<T> Deref for IrqLockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.guard.as_ref().expect("guard is present until drop")
    }
}

impl<T> DerefMut for IrqLockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.guard.as_mut().expect("guard is present until drop")
    }
}

impl<T> Drop for IrqLockGuard<'_, T> {
    fn drop(&mut self) {
        // Release the lock first, then allow interrupts again.
        self.guard = None;
        if let Some(class) = self.class {
            order::released(class);
        }
        if self.interrupts_were_on {
            arch::enable_interrupts();
        }
    }
}
