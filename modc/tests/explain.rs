//! `modc explain`: the page it writes and what its data says about the
//! analysis (the page itself is driven in a real browser by
//! `cargo xtask test --stage book`).

use std::process::{Command, Output};

use serde_json::Value;

fn modc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_modc")).args(args).output().expect("modc runs")
}

fn tmp(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("modc-explain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name).to_string_lossy().into_owned()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Writes `src` to NAME.s, explains it, and returns the page and its data.
fn explain_asm(name: &str, src: &str) -> (String, Value) {
    let file = tmp(&format!("{name}.s"));
    std::fs::write(&file, src).expect("write");
    let page = tmp(&format!("{name}.html"));
    let o = modc(&["explain", &file, "-o", &page]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).starts_with(&format!("wrote {page} (")), "{}", text(&o.stdout));
    let html = std::fs::read_to_string(&page).expect("page");
    (html.clone(), data(&html))
}

/// The JSON the page's script starts from.
fn data(html: &str) -> Value {
    let start = html.find("const D = ").expect("data") + "const D = ".len();
    let end = start + html[start..].find(";\n").expect("end of data");
    serde_json::from_str(&html[start..end].replace("<\\/", "</")).expect("JSON")
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().expect("array").iter().map(|s| s[0].as_str().unwrap_or_default().to_string()).collect()
}

#[test]
fn a_refusal_is_walked_back_to_where_the_value_came_from() {
    let (html, d) = explain_asm(
        "unbounded",
        "; a number from the context used as a stack offset
r6 = *(u32 *)(r1 + 0)
r6 <<= 3
r7 = r10
r7 += -64
r7 += r6
r0 = 0
exit
",
    );
    // Self-contained: no address of anything outside the page.
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains(" src="), "the page loads nothing");
    let p = &d["programs"][0];
    assert_eq!(p["verdict"]["kind"], "pointer-arithmetic");
    assert_eq!(p["verdict"]["pc"], 4);
    // The refused path: one visit each of slots 0 to 4.
    let path: Vec<u64> = p["path"].as_array().unwrap().iter().map(|v| p["vpc"][v.as_u64().unwrap() as usize].as_u64().unwrap()).collect();
    assert_eq!(path, [0, 1, 2, 3, 4]);
    let walk = strings(&p["walk"]);
    assert_eq!(walk[1], "At line 6 (instruction 4, `r7 += r6`), r6 is a number in [0, 34359738360].");
    assert!(walk[2].starts_with("At line 3 (instruction 1, `r6 <<= 3`), r6 went from a number in [0, 4294967295]"), "{walk:#?}");
    assert!(walk[3].starts_with("At line 2 (instruction 0, `r6 = *(u32 *)(r1 + 0)`), r6 was loaded through r1"), "{walk:#?}");
    assert_eq!(walk[4], "No comparison on this path bounded r6 after it got its value.");
    assert!(walk[5].starts_with("help: check the number against the size of the memory") && walk[5].ends_with("(before line 6)."), "{walk:#?}");
    // Source lines go with the page; instructions know their line.
    assert_eq!(d["source"][5], "r7 += r6");
    assert_eq!(p["insns"][4], serde_json::json!([4, "r7 += r6", 6]));
}

#[test]
fn a_copy_is_followed_back_and_a_check_ends_the_complaint() {
    let (_, d) = explain_asm(
        "copy",
        "r0 = 0
r2 = *(u32 *)(r1 + 0)
if r2 > 100000 goto +5
r6 = r2
r6 <<= 20
r7 = r10
r7 += -64
r7 += r6
exit
",
    );
    let walk = strings(&d["programs"][0]["walk"]);
    assert!(walk[0].contains("`if r2 > 0x186a0 goto +5` at line 3 not taken"), "{walk:#?}");
    assert!(walk.iter().any(|w| w.starts_with("At line 4 (instruction 3, `r6 = r2`), r6 became a copy of r2")), "{walk:#?}");
    assert!(
        walk.iter().any(|w| w.starts_with("The comparison at line 3") && w.contains("narrowed r2 from a number in [0, 4294967295] to a number in [0, 100000]")),
        "{walk:#?}"
    );
    assert!(walk.iter().any(|w| w.starts_with("At line 2 (instruction 1, `r2 = *(u32 *)(r1 + 0)`), r2 was loaded")), "{walk:#?}");
    assert!(!walk.iter().any(|w| w.starts_with("No comparison")), "{walk:#?}");
}

#[test]
fn an_accepted_loop_shows_rounds_stored_and_pruned_states_and_its_cost() {
    let (_, d) = explain_asm(
        "rounds",
        "r6 = 0
loop:
r2 = *(u32 *)(r1 + 0)
if r2 > 5 goto big
r3 = 1
goto join
big:
r3 = 2
join:
r6 += 1
if r6 < 20 goto loop
r0 = 0
exit
",
    );
    let p = &d["programs"][0];
    let v = &p["verdict"];
    assert_eq!(v["ok"], true);
    let processed: u64 = p["processed"].as_array().unwrap().iter().map(|n| n.as_u64().unwrap()).sum();
    assert_eq!(processed, v["processed"].as_u64().unwrap());
    let stored: u64 = p["storedPer"].as_array().unwrap().iter().map(|n| n.as_u64().unwrap()).sum();
    assert_eq!(stored, v["stored"].as_u64().unwrap());
    // Every pruned visit names a stored visit of the same slot.
    let pruned = p["pruned"].as_array().unwrap();
    assert_eq!(pruned.len() as u64, v["pruned"].as_u64().unwrap());
    let stored_visits: Vec<&Value> = p["stored"].as_array().unwrap().iter().collect();
    for e in pruned {
        assert!(stored_visits.contains(&&e[1]), "{e}");
        assert_eq!(p["vpc"][e[0].as_u64().unwrap() as usize], p["vpc"][e[1].as_u64().unwrap() as usize]);
    }
    // The loop head is visited in rounds 1 to 20 on the longest path.
    let head_rounds: Vec<u64> = p["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .filter(|&v| p["vpc"][v] == 1)
        .map(|v| p["vround"][v].as_u64().unwrap())
        .collect();
    assert_eq!(head_rounds, (1..=20).collect::<Vec<u64>>());
}

#[test]
fn modules_and_images_explain_and_other_files_are_refused() {
    let page = tmp("hello.html");
    let src = format!("{}/../modules/hello.wm", env!("CARGO_MANIFEST_DIR"));
    let o = modc(&["explain", &src, "-o", &page]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).ends_with("3 programs (load, tick, unload), 47 instructions; the verifier accepts every program\n"), "{}", text(&o.stdout));
    let d = data(&std::fs::read_to_string(&page).expect("page"));
    assert_eq!(d["module"], "hello");
    assert_eq!(d["maps"][0][1], "ticks");
    let o = modc(&["explain", "notes.txt"]);
    assert!(!o.status.success());
    assert_eq!(
        text(&o.stderr),
        "error: `notes.txt`: modc explain reads `.wm` and C modules, `.s` assembly and `.lkm` images\n  = help: give a file with one of those extensions\n"
    );
}

#[test]
fn too_complex_says_where_the_work_went_and_what_changes_each_round() {
    let (_, d) = explain_asm("counter", "r0 = 0\nr6 = 0\nloop:\nr6 += 1\nif r6 < 3000000 goto loop\nexit\n");
    let p = &d["programs"][0];
    assert_eq!(p["verdict"]["kind"], "too-complex");
    // The page keeps the first visits and counts the rest.
    assert_eq!(p["vpc"].as_array().unwrap().len(), 20_000);
    assert!(p["dropped"].as_u64().unwrap() > 900_000);
    let walk = strings(&p["walk"]);
    assert!(walk[0].starts_with("Line 4 took 5"), "{walk:#?}");
    assert!(walk.iter().any(|w| w.starts_with("One path came back to line 5 ") && w.contains(" times within the visits kept")), "{walk:#?}");
    let last = walk.last().unwrap();
    assert!(last.starts_with("From round ") && last.contains("r6 from the number "), "{walk:#?}");
}
