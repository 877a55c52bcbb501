//! The reference interpreter of Warden bytecode.
#![cfg_attr(not(test), no_std)]
extern crate alloc;
