//! `cargo xtask`: builds and runs Warden.
fn main() {
    eprintln!("error: xtask is not built yet");
    std::process::exit(1);
}
