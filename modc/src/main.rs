//! `modc`: compile, check, disassemble and assemble Warden modules; load,
//! unload and list them in a system started by `cargo xtask run`.

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use modc::diag::render;
use modc::driver::{compile, rejection_diag, report_text, summary, verify_image, Compiled};
use modc::load::socket_path;

#[derive(Parser)]
#[command(name = "modc", version, about = "The Warden module compiler")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compile a `.wm` module, or a C module (`.c`, or an `.o` clang wrote
    /// for `-target bpf`), into a `.lkm` image (with a line table).
    Build {
        file: PathBuf,
        /// The image to write (default: the source name with `.lkm`).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Write the image even if the verifier rejects it (to see the
        /// kernel refuse it).
        #[arg(long)]
        no_verify: bool,
    },
    /// Compile (for `.wm` and `.c`) and verify every program with the kernel's profile.
    Check {
        file: PathBuf,
        /// Print per-program statistics.
        #[arg(short, long)]
        verbose: bool,
        /// Write the verifier's log (state before each instruction) to this file.
        #[arg(long)]
        log: Option<PathBuf>,
    },
    /// Write a page (HTML, opens from `file://`) showing what the verifier
    /// knew at each instruction, beside the source, and why it refused.
    Explain {
        /// A `.wm` module, a `.s` assembly file (one `load` program) or a `.lkm` image.
        file: PathBuf,
        /// The page to write (default: the file name with `.html`).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Open the page in the default browser.
        #[arg(long)]
        open: bool,
    },
    /// Disassemble an image (or a `.wm`, `.c` or `.o` module), with source lines interleaved.
    Disasm {
        file: PathBuf,
        /// Show the x86-64 code the kernel's JIT makes of each program,
        /// interleaved with the bytecode and source (fixed stand-in addresses).
        #[arg(long)]
        native: bool,
        /// With `--native`: no constant blinding (plain immediates; the kernel always blinds).
        #[arg(long, requires = "native")]
        no_blind: bool,
    },
    /// Assemble textual assembly into a misc-class image.
    Asm {
        file: PathBuf,
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// The module name (default: the file stem).
        #[arg(long)]
        name: Option<String>,
        /// The entry point the program fills (default: `load`).
        #[arg(long, default_value = "load")]
        entry: String,
    },
    /// Verify raw bytecode against a context of N bytes.
    Verify {
        /// A file of 8-byte instruction slots.
        #[arg(long)]
        raw: PathBuf,
        /// The context size in bytes (one readable and writable buffer).
        #[arg(long, default_value_t = 0)]
        ctx_size: u32,
        /// Facts holding at entry, e.g. `r2: scalar in [0, 10]`.
        #[arg(long)]
        pre: Vec<String>,
        /// Print the verifier's log.
        #[arg(short, long)]
        verbose: bool,
    },
    /// Compile (for `.wm` and `.c`) and load a module into the system `cargo xtask run` started.
    Load {
        file: PathBuf,
        /// The channel's socket (default: `target/warden-lkm.sock`).
        #[arg(long)]
        socket: Option<PathBuf>,
        /// Unload a loaded module of the same name first.
        #[arg(long)]
        replace: bool,
    },
    /// Unload a module from the system `cargo xtask run` started.
    Unload {
        name: String,
        #[arg(long)]
        socket: Option<PathBuf>,
    },
    /// List the modules loaded in the system `cargo xtask run` started.
    Stat {
        #[arg(long)]
        socket: Option<PathBuf>,
    },
    /// Write `warden.h`, the header of C modules.
    Header {
        /// The file to write (default: `warden.h`).
        #[arg(short, long, default_value = "warden.h")]
        output: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Build { file, output, no_verify } => build(&file, output, no_verify),
        Command::Check { file, verbose, log } => check(&file, verbose, log.as_deref()),
        Command::Explain { file, output, open } => explain(&file, output, open),
        Command::Disasm { file, native, no_blind } => disasm(&file, native, !no_blind),
        Command::Asm { file, output, name, entry } => asm(&file, output, name, &entry),
        Command::Verify { raw, ctx_size, pre, verbose } => verify_raw(&raw, ctx_size, &pre, verbose),
        Command::Load { file, socket, replace } => load(&file, socket.as_deref(), replace),
        Command::Unload { name, socket } => modc::load::unload(&socket_path(socket.as_deref()), &name).map(|t| print!("{t}")),
        Command::Stat { socket } => modc::load::stat(&socket_path(socket.as_deref())).map(|t| print!("{t}")),
        Command::Header { output } => write(&output, modc::c::header::warden_h().as_bytes()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            if !msg.is_empty() {
                eprint!("{msg}");
            }
            ExitCode::from(1)
        }
    }
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("error: cannot read `{}`: {e}\n", path.display()))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("error: cannot write `{}`: {e}\n", path.display()))
}

/// Whether `path` names a C module (`.c` source or `.o` object).
fn is_c(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "c" || e == "o")
}

/// The image in a `.lkm` file, or of a C module.
fn image_file(path: &Path) -> Result<lkm::Image, String> {
    if is_c(path) {
        return modc::c::image_of_file(path);
    }
    lkm::parse(&read(path)?).map_err(|e| format!("error: `{}`: {e}\n", path.display()))
}

/// Verifies an image without its compiler's knowledge; a rejection is
/// rendered at the source line its line table names.
fn verify_at_source(image: &lkm::Image, verbose: bool) -> Result<(), String> {
    let mut out = String::new();
    for (i, v) in verify_image(image).into_iter().enumerate() {
        match v.result {
            Ok(stats) if verbose => println!("{}", stats_line(&v.entry, &image.programs[i].code, &stats)),
            Ok(_) => {}
            Err(r) => {
                let source = image.lines.as_ref().and_then(|l| std::fs::read_to_string(&l.source).ok());
                match source.and_then(|src| modc::driver::rejection_at_source(image, i, &r, &src)) {
                    Some(text) => out += &text,
                    None => out += &report_text(image, i, &r),
                }
            }
        }
    }
    if out.is_empty() { Ok(()) } else { Err(out) }
}

/// Compiles a source file, or returns the rendered diagnostics.
fn compile_file(path: &Path) -> Result<(Compiled, String), String> {
    let bytes = read(path)?;
    let source = String::from_utf8(bytes).map_err(|_| format!("error: `{}` is not UTF-8 text\n", path.display()))?;
    let name = path.display().to_string();
    match compile(&source, &name) {
        Ok(c) => Ok((c, source)),
        Err(diags) => {
            let n = diags.len();
            let mut out = render(&name, &source, &diags);
            out += &format!("error: could not compile `{name}` due to {n} previous error{}\n", if n == 1 { "" } else { "s" });
            Err(out)
        }
    }
}

/// What `-v` prints for one accepted program.
fn stats_line(entry: &str, code: &[u8], stats: &verifier::Stats) -> String {
    format!(
        "{entry}: {} instructions in {} slots (a slot is 8 bytes; a 64-bit constant load takes two); \
         the verifier processed {} instructions (each one once on every path it followed) and stored {} states",
        modc::driver::instructions(code),
        code.len() / 8,
        stats.insns_processed,
        stats.states_stored
    )
}

/// Verifies a compiled module; rejections rendered at the source.
fn verify_compiled(c: &Compiled, source: &str, name: &str, verbose: bool) -> Result<(), String> {
    let mut diags = Vec::new();
    for (i, v) in verify_image(&c.image).into_iter().enumerate() {
        match v.result {
            Ok(stats) if verbose => println!("{}", stats_line(&v.entry, &c.image.programs[i].code, &stats)),
            Ok(_) => {}
            Err(report) => diags.push(rejection_diag(c, i, &report)),
        }
    }
    if diags.is_empty() {
        return Ok(());
    }
    Err(render(name, source, &diags))
}

fn build(file: &Path, output: Option<PathBuf>, no_verify: bool) -> Result<(), String> {
    let image = if is_c(file) {
        let image = modc::c::image_of_file(file)?;
        if !no_verify {
            verify_at_source(&image, false)?;
        }
        image
    } else {
        let (c, source) = compile_file(file)?;
        if !no_verify {
            verify_compiled(&c, &source, &file.display().to_string(), false)?;
        }
        c.image
    };
    let out = output.unwrap_or_else(|| file.with_extension("lkm"));
    write(&out, &image.to_bytes())?;
    let verdict = if no_verify { "not verified (--no-verify)" } else { "the verifier accepts every program" };
    println!("built {} from {}: {}; {verdict}", out.display(), file.display(), summary(&image));
    Ok(())
}

fn check(file: &Path, verbose: bool, log: Option<&Path>) -> Result<(), String> {
    let is_wm = file.extension().is_some_and(|e| e == "wm");
    if let Some(log) = log {
        let image = if is_wm { compile_file(file)?.0.image } else { image_file(file)? };
        write(log, modc::driver::verifier_log(&image).as_bytes())?;
    }
    let image = if !is_wm {
        let image = image_file(file)?;
        verify_at_source(&image, verbose)?;
        image
    } else {
        let (c, source) = compile_file(file)?;
        verify_compiled(&c, &source, &file.display().to_string(), verbose)?;
        c.image
    };
    println!("checked {}: {}; the verifier accepts every program", file.display(), summary(&image));
    Ok(())
}

/// `modc explain`: the image and the source its line table names, then the page.
fn explain(file: &Path, output: Option<PathBuf>, open: bool) -> Result<(), String> {
    let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
    let (image, source) = match ext {
        "wm" => {
            let (c, source) = compile_file(file)?;
            (c.image, Some(source))
        }
        "s" => {
            let text = String::from_utf8_lossy(&read(file)?).into_owned();
            let name = file.file_stem().map_or("asm".into(), |s| s.to_string_lossy().into_owned());
            (modc::explain::asm_file_image(&file.display().to_string(), &text, &name)?, Some(text))
        }
        "lkm" | "c" | "o" => {
            let image = image_file(file)?;
            let source = image.lines.as_ref().and_then(|l| std::fs::read_to_string(&l.source).ok());
            (image, source)
        }
        _ => {
            return Err(format!(
                "error: `{}`: modc explain reads `.wm` and C modules, `.s` assembly and `.lkm` images\n  = help: give a file with one of those extensions\n",
                file.display()
            ));
        }
    };
    let (page, refused) = modc::explain::explain(&image, source.as_deref());
    let out = output.unwrap_or_else(|| file.with_extension("html"));
    write(&out, page.as_bytes())?;
    let refused: Vec<String> = refused.iter().map(|(entry, kind)| format!("`{entry}` ({kind})")).collect();
    let verdict = if refused.is_empty() { "the verifier accepts every program".to_string() } else { format!("refused: {}", refused.join(", ")) };
    println!("wrote {} ({} KiB): {}; {verdict}", out.display(), page.len().div_ceil(1024), summary(&image));
    if open {
        let opener = if cfg!(target_os = "macos") { "open" } else { "xdg-open" };
        if !std::process::Command::new(opener).arg(&out).status().is_ok_and(|s| s.success()) {
            eprintln!("note: could not start a browser with `{opener}`\n  = help: open {} in a browser", out.display());
        }
    }
    Ok(())
}

fn disasm(file: &Path, native: bool, blind: bool) -> Result<(), String> {
    let (image, source, names) = if file.extension().is_some_and(|e| e == "wm") {
        let (c, source) = compile_file(file)?;
        let names: Vec<(usize, usize, String)> = c
            .programs
            .iter()
            .enumerate()
            .flat_map(|(i, p)| p.regions.iter().filter(|r| !r.is_loop).map(move |r| (i, r.start, r.func.clone())))
            .collect();
        (c.image, Some(source), names)
    } else {
        let image = image_file(file)?;
        let source = image.lines.as_ref().and_then(|l| std::fs::read_to_string(&l.source).ok());
        (image, source, Vec::new())
    };
    if native {
        print!("{}", modc::native::native_listing(&image, source.as_deref(), blind)?);
        return Ok(());
    }
    print!("{}", modc::listing::listing_with_names(&image, source.as_deref(), &names));
    Ok(())
}

fn asm(file: &Path, output: Option<PathBuf>, name: Option<String>, entry: &str) -> Result<(), String> {
    let bytes = read(file)?;
    let text = String::from_utf8_lossy(&bytes);
    let program = verifier::assemble(&text).map_err(|e| format!("{}:{e}\n", file.display()))?;
    let name = name.unwrap_or_else(|| file.file_stem().map_or("asm".into(), |s| s.to_string_lossy().into_owned()));
    let image = modc::listing::asm_image(&name, entry, &program);
    let image = lkm::parse(&image.to_bytes()).map_err(|e| format!("error: {e}\n"))?;
    let out = output.unwrap_or_else(|| file.with_extension("lkm"));
    write(&out, &image.to_bytes())
}

/// `modc load`: a `.wm` or C module is compiled first (compile errors stop
/// here); the verdict is the kernel's, shown at the source line.
fn load(file: &Path, socket: Option<&Path>, replace: bool) -> Result<(), String> {
    let bytes = if file.extension().is_some_and(|e| e == "wm") {
        compile_file(file)?.0.image.to_bytes()
    } else if is_c(file) {
        modc::c::image_of_file(file)?.to_bytes()
    } else {
        read(file)?
    };
    let text = modc::load::load(&socket_path(socket), &file.display().to_string(), &bytes, replace)?;
    print!("{text}");
    Ok(())
}

fn verify_raw(raw: &Path, ctx_size: u32, pre: &[String], verbose: bool) -> Result<(), String> {
    let bytes = read(raw)?;
    let program = verifier::decode(&bytes).map_err(|e| format!("error: {e}\n"))?;
    let mut profile = verifier::Profile::new();
    if ctx_size > 0 {
        profile = profile.with_ctx(
            verifier::CtxLayout::new(ctx_size).with_field(verifier::CtxField::buffer("data", 0, ctx_size).writable()),
        );
    }
    let mut entry = verifier::Entry::default();
    for p in pre {
        entry.regs.extend(verifier::facts::parse(p).map_err(|e| format!("error: --pre: {e}\n"))?);
    }
    if !entry.regs.is_empty() && !entry.regs.iter().any(|(r, _)| *r == verifier::Reg::R1) && ctx_size > 0 {
        entry.regs.extend(verifier::facts::parse("r1: ctx").unwrap_or_default());
    }
    let mut log = String::new();
    let result = verifier::verify_with(&program, &profile, &entry, verbose.then_some(&mut log));
    print!("{log}");
    match result {
        Ok(v) => {
            println!("accepted: {} instructions processed", v.stats().insns_processed);
            Ok(())
        }
        Err(r) => Err(format!("{r}\n")),
    }
}
