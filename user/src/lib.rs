//! The Warden user runtime.
#![no_std]
