//! `cargo xtask`: builds, runs and tests Warden.
//!
//! | command | module |
//! |---|---|
//! | `cargo xtask run [--gdb] [--kvm] [--release]` | [`run`] |
//! | `cargo xtask test` | [`test`] (stages: [`host`], [`ktest`], [`scenario`]) |
//! | `cargo xtask boot-time [-n 5]` | [`boot_time`] |
//! | `cargo xtask book [--serve]` | [`book`] |
//! | `cargo xtask grade LAB [--solution \| --cheat NAME]` | [`grade`] |
//! | `cargo xtask fuzz [--programs N] [--images N] [--seed S]` | [`fuzz`] |
//! | `cargo xtask bench [verifier\|jit\|modc\|all]` | [`bench`] |
//! | `cargo xtask mutants [--group NAME]... [--file PATH]... [--again] [--list] [--table]` | [`mutants`] |
//!
//! Shared pieces: [`kernel`] builds the kernel (and is where the initrd
//! build goes), [`qemu`] finds QEMU and builds its command line.
//!
//! Extending: a new command is a new module with a `clap::Args` struct and
//! a `run` function, plus one variant in [`Command`]. A new test stage is a
//! function returning [`test::StageResult`], listed in `test::stages`.

#![forbid(unsafe_code)]

mod bench;
mod book;
mod boot_time;
mod browser;
mod bogus;
mod charts;
mod clang;
mod fuzz;
mod grade;
mod host;
mod initrd;
mod kernel;
mod ktest;
mod modules;
mod mutants;
mod qemu;
mod run;
mod session;
mod scenario;
mod test;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Build, run and test Warden")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the kernel and boot it in QEMU with the serial console on this terminal
    Run(run::RunArgs),
    /// Run every test: host crates, in-kernel tests in QEMU, boot scenarios
    Test(test::TestArgs),
    /// Measure the time from starting QEMU to the console prompt
    BootTime(boot_time::BootTimeArgs),
    /// Build the book (book/) with mdBook; --serve serves it
    Book(book::BookArgs),
    /// Grade a course lab: boot Warden with your module and run the lab's checks
    Grade(grade::GradeArgs),
    /// Run the long fuzz campaigns (verifier, JIT, images, modc) in release builds
    Fuzz(fuzz::FuzzArgs),
    /// Run the criterion benchmarks and write their results to docs/data/
    Bench(bench::BenchArgs),
    /// Mutation testing of the verifier's domains and pruning, the interpreter and the JIT's encoder
    Mutants(mutants::MutantsArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run::run(&args),
        Command::Test(args) => test::run(&args),
        Command::BootTime(args) => boot_time::run(&args),
        Command::Book(args) => book::run(&args),
        Command::Grade(args) => grade::run(&args),
        Command::Fuzz(args) => fuzz::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Mutants(args) => mutants::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// An error for the user: what went wrong, and optionally how to fix it.
#[derive(Debug)]
pub struct XtaskError {
    pub message: String,
    pub help: Option<String>,
}

impl XtaskError {
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), help: None }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl std::fmt::Display for XtaskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\nhelp: {help}")?;
        }
        Ok(())
    }
}

impl From<std::io::Error> for XtaskError {
    fn from(error: std::io::Error) -> Self {
        XtaskError::new(error.to_string())
    }
}

pub type Result<T> = std::result::Result<T, XtaskError>;
