//! The Warden JIT: verified bytecode to x86-64 machine code.
#![cfg_attr(not(test), no_std)]

mod x86;
extern crate alloc;
