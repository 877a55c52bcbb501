//! `modc`: the Warden module compiler.
fn main() {
    eprintln!("error: modc is not built yet");
    std::process::exit(1);
}
