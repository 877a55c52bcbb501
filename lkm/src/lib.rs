//! The Warden module interface (the equivalent of `sys/lkm.h`).
#![cfg_attr(not(test), no_std)]
extern crate alloc;
