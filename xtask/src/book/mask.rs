//! What may differ between two boots is masked before transcripts are
//! compared: the kernel log's timestamps, the clock, times and rates,
//! `modstat`'s load addresses, sizes and run counts, `ps`'s state, CPU and ticks
//! (`lkmd` polls its port, so it may be running or asleep), and the
//! size of native code (the JIT blinds constants with a key drawn at each
//! load, and the key changes the length of some instructions). Everything
//! else (commands, messages, ids, pids, the order of lines) must be the
//! same, and runs of spaces count as one so that a wider number does not
//! shift a table.

/// Units after which a number is a measurement that changes per boot.
const UNITS: &[&str] = &["ns", "µs", "us", "ms", "s", "MHz", "ticks", "cycles", "runs"];

/// `text` with every per-boot value replaced by `#`.
pub fn mask(text: &str) -> String {
    let mut out = String::new();
    let mut ps_table = false;
    for line in text.lines() {
        let line = mask_timestamp(line);
        let mut words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        if words.first().is_some_and(|w| w.starts_with(super::PROMPT.trim_end())) {
            ps_table = false;
        }
        if words == ["PID", "PPID", "USER", "STAT", "CPU", "TICKS", "MEM", "COMMAND"] {
            ps_table = true;
        } else if ps_table && words.len() >= 8 {
            words[3] = "#".into();
            words[4] = "#".into();
            words[5] = "#".into();
        }
        if is_modstat_row(&words) {
            if words[3] != "-" {
                words[3] = "#".into();
            }
            words[4] = "#".into();
            words[5] = "#".into();
        }
        let code_sizes = line.contains("code") || words.first().is_some_and(|w| w == "program");
        for i in 0..words.len() {
            let next = words.get(i + 1).map(|w| w.trim_end_matches([',', ')', ';', '.']));
            let next_is_unit = next.is_some_and(|w| UNITS.contains(&w) || (code_sizes && w == "bytes"));
            if is_clock(&words[i]) || (next_is_unit && is_number(&words[i])) || is_measure(&words[i]) {
                words[i] = "#".into();
            }
        }
        out += &words.join(" ");
        out.push('\n');
    }
    out
}

/// `[    0.218573] ...` → `[#] ...`.
fn mask_timestamp(line: &str) -> String {
    if let Some(rest) = line.strip_prefix('[')
        && let Some((stamp, after)) = rest.split_once(']')
        && !stamp.trim().is_empty()
        && stamp.chars().all(|c| c == ' ' || c == '.' || c.is_ascii_digit())
    {
        return format!("[#]{after}");
    }
    line.to_string()
}

/// A row of `modstat`: `MISC 0 0 ffffffffc0000000 3370 2 1 hello`.
fn is_modstat_row(words: &[String]) -> bool {
    words.len() >= 8 && ["SYSCALL", "VFS", "DEV", "EXEC", "MISC"].contains(&words[0].as_str())
}

fn is_number(word: &str) -> bool {
    let w = word.trim_start_matches('(');
    !w.is_empty() && w.chars().all(|c| c.is_ascii_digit() || c == '.' || c == ',')
}

/// A number glued to its unit: `12.5ms`, `(340µs,`.
fn is_measure(word: &str) -> bool {
    let w = word.trim_start_matches('(').trim_end_matches([',', ')', ';']);
    let digits = w.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(w.len());
    digits > 0 && UNITS.contains(&&w[digits..])
}

/// A date `2026-11-26` or a time of day `13:52:55`.
fn is_clock(word: &str) -> bool {
    let shape: String = word.chars().map(|c| if c.is_ascii_digit() { '9' } else { c }).collect();
    shape == "9999-99-99" || shape == "99:99:99"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_boot_values_are_masked_and_the_rest_kept() {
        let a = "warden:/# dmesg\n[    0.012601] info: TSC 2100 MHz, timer 100 Hz\nwarden:/# cat /dev/rtc\n2026-11-26 13:52:55\n";
        let b = "warden:/# dmesg\n[    0.013737] info: TSC 2095 MHz, timer 100 Hz\nwarden:/# cat /dev/rtc\n2026-12-06 08:20:20\n";
        assert_eq!(mask(a), mask(b));
        assert!(mask(a).contains("timer 100 Hz"), "{}", mask(a));
        let c = "warden:/# dmesg\n[    0.013737] info: TSC 2095 MHz, timer 50 Hz\n";
        assert_ne!(mask(a), mask(c), "a changed rate that is not a measurement must show");
    }

    #[test]
    fn modstat_hides_address_size_and_runs_but_not_id_or_slot() {
        let a = "MISC      0   0 ffffffffc0000000 3370    2   1 hello\n";
        let b = "MISC      0   0 ffffffffc0001000 3380   23   1 hello\n";
        assert_eq!(mask(a), mask(b));
        assert_ne!(mask(a), mask("MISC      1   0 ffffffffc0000000 3370    2   1 hello\n"));
        assert_ne!(mask(a), mask("MISC      0   1 ffffffffc0000000 3370    2   1 hello\n"));
        assert_ne!(mask(a), mask("MISC      0   0 -                3370    2   1 hello\n"));
    }

    #[test]
    fn ps_hides_state_cpu_and_ticks_but_a_missing_process_shows() {
        let head = "warden:/# ps\n  PID  PPID USER     STAT CPU  TICKS    MEM COMMAND\n";
        let a = format!("{head}    1     0 root     S      0      0    32K init\n    6     1 root     S      1      2    68K sh\n");
        let b = format!("{head}    1     0 root     S      2      3    32K init\n    6     1 root     R      0      9    68K sh\n");
        assert_eq!(mask(&a), mask(&b));
        let c = format!("{head}    1     0 root     S      0      0    32K init\n    7     1 root     S      1      2    68K sh\n");
        assert_ne!(mask(&a), mask(&c), "a different pid must show");
        assert_ne!(mask(&a), mask(&format!("{head}    1     0 root     S      0      0    32K init\n")));
    }

    #[test]
    fn native_code_sizes_are_masked_and_other_sizes_kept() {
        let a = "[    0.3] info: lkm: loaded `rtc` as module 2 (dev, 320 insns, 3071 bytes of code)\n  native code: 3639 bytes\n        program tick        24 insns    262 bytes\n";
        let b = "[    0.4] info: lkm: loaded `rtc` as module 2 (dev, 320 insns, 3075 bytes of code)\n  native code: 3643 bytes\n        program tick        24 insns    266 bytes\n";
        assert_eq!(mask(a), mask(b));
        assert_ne!(mask(a), mask(&a.replace("320 insns", "321 insns")));
        assert_ne!(mask("wrote 12 bytes\n"), mask("wrote 13 bytes\n"));
    }

    #[test]
    fn times_with_units_are_masked() {
        assert_eq!(mask("verify 1.25 ms (340µs, 12ns)"), mask("verify 0.98 ms (310µs, 11ns)"));
        assert_eq!(mask("hello: unloaded after 23 ticks"), mask("hello: unloaded after 7 ticks"));
    }
}
