//! The kernel console: a line editor and a handful of commands on the serial
//! port, until user space brings a shell.

use alloc::string::String;

use crate::{arch, klog, memory, print, println, qemu, serial, time};

const MAX_LINE: usize = 128;
const PROMPT: &str = "warden> ";

/// Commands and their one-line descriptions.
const COMMANDS: &[(&str, &str)] = &[
    ("help", "list the commands"),
    ("mem", "show physical memory, heap and code-region use"),
    ("uptime", "show the time since boot"),
    ("cpus", "show each CPU and what it runs"),
    ("dmesg", "print the kernel log"),
    ("halt", "stop the machine"),
];

/// Reads and runs commands forever.
pub fn run() -> ! {
    loop {
        print!("{PROMPT}");
        let line = read_line();
        execute(line.trim());
    }
}

/// Reads one line with echo; backspace deletes, other control bytes are ignored.
fn read_line() -> String {
    let mut line = String::new();
    loop {
        let Some(byte) = serial::read_byte() else {
            arch::wait_for_interrupt();
            continue;
        };
        match byte {
            b'\r' | b'\n' => {
                println!();
                return line;
            }
            0x08 | 0x7f if line.pop().is_some() => print!("\x08 \x08"),
            0x20..=0x7e if line.len() < MAX_LINE => {
                line.push(byte as char);
                print!("{}", byte as char);
            }
            _ => {}
        }
    }
}

fn execute(line: &str) {
    let mut words = line.split_whitespace();
    let Some(command) = words.next() else { return };
    match command {
        "help" => {
            for (name, what) in COMMANDS {
                println!("  {name:<8} {what}");
            }
        }
        "mem" => print_memory(),
        "uptime" => {
            let ns = time::uptime_ns();
            println!("up {}.{:03} s ({} ticks)", ns / 1_000_000_000, (ns / 1_000_000) % 1000, time::ticks());
        }
        "cpus" => println!("{}", crate::cpus::Table),
        "dmesg" => print_log(),
        "halt" => {
            println!("Halting.");
            qemu::exit(qemu::ExitCode::Success);
        }
        _ => {
            println!("error: unknown command `{command}`");
            println!("help: type `help` to list the commands");
        }
    }
}

fn print_memory() {
    let frames = memory::frame::stats();
    let heap = memory::heap_stats();
    println!(
        "frames: {} total, {} used, {} free ({} KiB free)",
        frames.total,
        frames.used(),
        frames.free,
        frames.free * 4
    );
    println!(
        "heap:   {} bytes in use, {} KiB mapped ({} frames)",
        heap.bytes_in_use,
        heap.bytes_mapped / 1024,
        heap.frames
    );
    println!("code:   {} pages in use", memory::code::pages_in_use());
}

fn print_log() {
    let mut buf = [0u8; 256];
    let mut pos = 0;
    loop {
        let read = klog::read(pos, &mut buf);
        if read.len == 0 {
            break;
        }
        serial::write_bytes(&buf[..read.len]);
        pos = read.next;
    }
}
