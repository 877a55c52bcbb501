//! `echo [-n] WORDS...`: prints its arguments separated by spaces.
#![no_std]
#![no_main]
extern crate alloc;
user::entry!(main);

fn main(args: user::Args) -> i32 {
    let mut words = args.rest();
    let newline = words.first() != Some(&"-n");
    if !newline {
        words = &words[1..];
    }
    let mut line = alloc::string::String::new();
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            line.push(' ');
        }
        line.push_str(w);
    }
    if newline {
        line.push('\n');
    }
    match user::sys::write_all(1, line.as_bytes()) {
        Ok(()) => 0,
        Err(e) => user::report("write error", e),
    }
}
