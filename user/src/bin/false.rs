//! `false`: exits with status 1.
#![no_std]
#![no_main]
user::entry!(main);

fn main(_args: user::Args) -> i32 {
    1
}
