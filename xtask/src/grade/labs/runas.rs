//! Lab 6, `runas`: an execution interpreter for `#!NAME` files. The
//! grader's files (in the initrd, with random names and contents) name
//! several programs, short and long, one with an argument after the name,
//! one a program that does not exist, one an absolute path (not this
//! module's business), so a table of the names the grader once used
//! fails. Each must print exactly what the grader sees when it runs
//! `/bin/NAME FILE` itself.

use super::load;
use crate::grade::guest::Guest;
use crate::grade::{Check, Rng, Setup};
use crate::Result;
use crate::modules::ModuleFile;

/// One file for the interpreter: its path, its contents, and the program
/// it must run as (`/bin/PROGRAM PATH`; `None` for a name of no program).
struct Script {
    path: String,
    contents: String,
    check: &'static str,
    program: Option<&'static str>,
}

/// The files, made the same way by [`setup`] and [`checks`].
fn scripts(rng: &mut Rng) -> Vec<Script> {
    let arg = rng.word(6);
    let missing = rng.word(10);
    let mut script = |check: &'static str, first_line: &str, program: Option<&'static str>| {
        let path = format!("/modules/lab_{}", rng.word(8));
        let contents = format!("{first_line}\n{}\n", rng.word(12));
        Script { path, contents, check, program }
    };
    vec![
        script("runs #!cat with /bin/cat", "#!cat", Some("cat")),
        script("runs #!head with /bin/head", "#!head", Some("head")),
        script("runs #!wc with /bin/wc", "#!wc", Some("wc")),
        script("passes the file to the interpreter (#!echo)", "#!echo", Some("echo")),
        script("runs a longer name (#!modstat)", "#!modstat", Some("modstat")),
        script("the name ends at a space, the rest is ignored (#!cat ARG)", &format!("#!cat {arg}"), Some("cat")),
        script("any name is looked for in /bin (#!NAME of no program)", &format!("#!{missing}"), None),
    ]
}

/// A file the module must leave alone: `#!/bin/cat` (absolute, the
/// `shebang` module's business) and plain text.
fn not_mine(rng: &mut Rng) -> Vec<(String, String)> {
    let absolute = (format!("/modules/lab_{}", rng.word(8)), format!("#!/bin/cat\n{}\n", rng.word(12)));
    let plain = (format!("/modules/lab_{}", rng.word(8)), format!("plain {}\n", rng.word(12)));
    vec![absolute, plain]
}

pub fn setup(rng: &mut Rng) -> Result<Setup> {
    let scripts = scripts(rng).into_iter().map(|s| (s.path, s.contents));
    let files: Vec<ModuleFile> = scripts
        .chain(not_mine(rng))
        .map(|(path, text)| (path.trim_start_matches("/modules/").to_string(), 0o755, text.into_bytes()))
        .collect();
    Ok(Setup { files, ..Setup::default() })
}

pub fn checks(g: &mut Guest, rng: &mut Rng, checks: &mut Vec<Check>) {
    let scripts = scripts(rng);
    let not_mine = not_mine(rng);
    let before: Vec<String> = not_mine.iter().map(|(path, _)| g.out(path)).collect();
    let cat_before = g.out(&scripts[0].path);
    if load(g, "runas", checks).is_none() {
        return;
    }
    for s in &scripts {
        let out = g.out(&s.path);
        // What the program prints when the grader runs it on the file itself.
        let (expect, why) = match s.program {
            Some(program) => {
                let command = format!("/bin/{program} {}", s.path);
                (g.out(&command), format!("what `{command}` prints"))
            }
            None => (format!("sh: {}: No such file or directory\n", s.path), "no such program in /bin".to_string()),
        };
        checks.push(Check::new(
            s.check,
            out == expect,
            format!("{} holds:\n{}running it printed:\n{out}expected ({why}):\n{expect}", s.path, s.contents),
        ));
    }
    let mut alone = true;
    let mut note = String::new();
    for ((path, text), was) in not_mine.iter().zip(&before) {
        let out = g.out(path);
        if &out != was || out.contains("No such file") {
            alone = false;
            note = format!("{path} holds:\n{text}before loading, running it printed:\n{was}after:\n{out}");
        }
    }
    checks.push(Check::new("leaves #!/absolute/path and plain text alone", alone, note));
    g.out("modunload -n runas");
    let out = g.out(&scripts[0].path);
    checks.push(Check::new("unloading ends it", out == cat_before && out.contains("Exec format error"), out));
}
