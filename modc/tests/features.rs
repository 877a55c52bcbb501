//! One test per language feature: the program compiles, verifies with the
//! kernel's profile, and computes the expected result on the reference
//! interpreter.

mod common;
use common::*;

#[test]
fn integer_arithmetic_wraps_at_the_type_width() {
    assert_eq!(load_result("", "let a: u8 = 250; let b: u8 = a + 10; return b as i64;"), 4);
    assert_eq!(load_result("", "let a: u16 = 3; let b = a - 5; return b as i64;"), 65534);
    assert_eq!(load_result("", "let mut x: u32 = 0xffff_fff0; x += 0x20; return x as i64;"), 0x10);
    assert_eq!(load_result("", "let x: i32 = 2147483647; let y = x + 1; return y as i64;"), -2147483648);
    assert_eq!(load_result("", "let x: u64 = 7; return (x * 6 - 2) as i64;"), 40);
}

#[test]
fn constants_fold_and_runtime_values_agree() {
    // The same expression once on constants (folded) and once on a
    // context value (computed at run time): ctx.module_id is 7.
    let folded = load_result("", "let a: u64 = 7; return ((a * 13 + 5) % 9 ^ 3) as i64;");
    let runtime = load_result("", "let a = ctx.module_id as u64; return ((a * 13 + 5) % 9 ^ 3) as i64;");
    assert_eq!(folded, (((7 * 13 + 5) % 9) ^ 3) as i64);
    assert_eq!(runtime, folded);
}

#[test]
fn signed_division_shifts_and_comparisons() {
    assert_eq!(load_result("", "let a: i64 = -7; return a / 2;"), -3);
    assert_eq!(load_result("", "let a: i64 = -7; return a % 3;"), -1);
    assert_eq!(load_result("", "let a: i32 = -8; return (a >> 1) as i64;"), -4);
    assert_eq!(load_result("", "let a: u32 = 0x8000_0000; return (a >> 31) as i64;"), 1);
    assert_eq!(load_result("", "let a: i64 = -1; let b: i64 = 1; if a < b { return 1; } return 0;"), 1);
    assert_eq!(load_result("", "let a: u64 = 0 - 1; let b: u64 = 1; if a < b { return 1; } return 0;"), 0);
    // Division by zero gives 0, as the instruction set defines.
    assert_eq!(load_result("", "let z = ctx.module_id - 7; return (100 / z) as i64;"), 0);
}

#[test]
fn casts_extend_and_truncate() {
    assert_eq!(load_result("", "let a: i32 = -1; return (a as u64 == 0xffff_ffff_ffff_ffff) as i64;"), 1);
    assert_eq!(load_result("", "let a: u64 = 0x1_2345_6789; return (a as u32) as i64;"), 0x2345_6789);
    assert_eq!(load_result("", "let a: u64 = 0x1ff; return (a as u8) as i64;"), 0xff);
    assert_eq!(load_result("", "let a: u32 = 0xffff_ffff; return (a as i32) as i64;"), -1);
    assert_eq!(load_result("", "let b = ctx.module_id == 7; return b as i64 + 1;"), 2);
}

#[test]
fn logic_short_circuits() {
    let items = "map m: array<u64>[1];\nfn bump() -> bool { if let Some(v) = m.get(&0) { *v += 1; } return true; }";
    let body = "let a = false && bump(); let b = true || bump(); let c = true && bump();
        let mut n: u64 = 0; if let Some(v) = m.get(&0) { n = *v; }
        return (n * 100 + (a as u64) * 10 + (b as u64) + (c as u64)) as i64;";
    assert_eq!(load_result(items, body), 102);
}

#[test]
fn loops_break_and_continue() {
    assert_eq!(load_result("", "let mut s: u64 = 0; for i in 0..10 { s += i; } return s as i64;"), 45);
    assert_eq!(
        load_result("", "let mut s: u64 = 0; for i in 0..10 { if i % 2 == 0 { continue; } if i > 7 { break; } s += i; } return s as i64;"),
        1 + 3 + 5 + 7
    );
    assert_eq!(load_result("", "let mut n: u64 = 1; while n < 1000 max 10 { n *= 3; } return n as i64;"), 2187);
    // A `for` whose end comes from the context, bounded by `min`.
    assert_eq!(load_result("", "let mut s: u64 = 0; for i in 0..min(ctx.module_id as u64, 16) { s += 1; } return s as i64;"), 7);
    // Nested loops.
    assert_eq!(load_result("", "let mut s: u64 = 0; for i in 0..5 { for j in 0..i { s += j; } } return s as i64;"), 10);
}

#[test]
fn while_loops_stop_after_their_stated_limit() {
    assert_eq!(load_result("", "let mut n: u64 = 0; while true max 1024 { n += 1; } return n as i64;"), 1024);
    assert_eq!(load_result("", "let mut n: u64 = 0; while n < 5 max 1024 { n += 1; } return n as i64;"), 5);
}

#[test]
fn while_loops_the_compiler_can_count_run_every_round() {
    // Once stopped silently at 1,024 rounds (`i = 1024`).
    assert_eq!(load_result("", "let mut i: u32 = 0; while i < 5000 { i += 1; } return i as i64;"), 5000);
    assert_eq!(load_result("", "let mut i: u8 = 0; while i <= 250 { i += 5; } return i as i64;"), 255);
    assert_eq!(load_result("", "let mut i: u64 = 3; let mut s: u64 = 0; while s < 100 && i < 3000 { s += 1; i += 7; } return i as i64;"), 3 + 7 * 100);
}

#[test]
fn arrays_with_variable_indices_are_bounds_checked() {
    let body = "let mut a = [0u32; 8]; for i in 0..8 { a[i] = (i * i) as u32; }
        let k = ctx.module_id as u64; return (a[k] + a[k - 2]) as i64;";
    assert_eq!(load_result("", body), 49 + 25);
    // Out of bounds: a read gives 0 and a write is dropped.
    let body = "let mut a = [5u8; 4]; let k = ctx.module_id as u64; a[k] = 9; return (a[k] as u64 * 100 + a[3] as u64) as i64;";
    assert_eq!(load_result("", body), 5);
    assert_eq!(load_result("", "let a = [1u16, 2, 3]; return (a[0] + a[1] + a[2]) as i64;"), 6);
}

#[test]
fn any_index_expression_is_checked_against_its_length() {
    // `load_result` runs with ctx.module_id = 7.
    let k = "let k = ctx.module_id as u64;";
    // Nested: each index is checked against its own length (the inner
    // stride, 6 bytes, is not a power of two).
    let body = format!(
        "{k} let mut g = [[0u16; 3]; 5];
        g[k - 3][k - 6] = 11; g[k][0] = 99; g[0][k] = 99; g[k - 8][1] = 99;
        let mut s: u64 = 0; for i in 0..5 {{ for j in 0..3 {{ s += g[i][j] as u64; }} }}
        return (s * 100 + g[k - 3][k - 6] as u64 + g[k][0] as u64 + g[1][k] as u64) as i64;"
    );
    assert_eq!(load_result("", &body), 11 * 100 + 11);
    // A negative signed index, and a wrapped unsigned one, are out of range.
    let body = format!(
        "{k} let mut a = [1u32, 2, 3, 4, 5]; let m = (k as i32) - 9;
        a[m] = 50; a[k * 3 % 5] += 40; a[min(k, 4)] = 7;
        return (a[m] as u64 * 1000 + a[0] as u64 + a[1] as u64 * 10 + a[4] as u64 * 100 + a[k - 8] as u64) as i64;"
    );
    assert_eq!(load_result("", &body), 1 + 42 * 10 + 7 * 100);
    // Arrays of structs, indexed by an expression with a call in it.
    let items = "struct P { x: u8, y: u32 }
        fn half(v: u64) -> u64 { return v / 2; }";
    let body = format!(
        "{k} let mut ps = [P {{ x: 1, y: 2 }}; 4];
        ps[half(k)].y = 30; ps[half(k) + 1].y = 99;
        let q = ps[half(k)]; let r = ps[k];
        return (q.y as u64 + q.x as u64 * 100 + r.y as u64 * 1000 + r.x as u64 * 10000) as i64;"
    );
    assert_eq!(load_result(items, &body), 30 + 100);
}

#[test]
fn structs_and_nested_aggregates() {
    let items = "struct P { x: u8, y: u32, tags: [u16; 3] }";
    let body = "let mut p = P { x: 1, y: 2, tags: [3, 4, 5] }; p.tags[1] = 40; p.y += p.x as u32;
        let q = p; return (q.x as u64 + q.y as u64 * 10 + q.tags[1] as u64 * 100 + q.tags[2] as u64 * 1000) as i64;";
    assert_eq!(load_result(items, body), 1 + 30 + 4000 + 5000);
}

#[test]
fn maps_get_insert_remove() {
    let items = "map h: hash<u32, u64>[8];";
    let body = "h.insert(3, 30); h.insert(4, 40);
        let mut s: u64 = 0;
        if let Some(v) = h.get(&3) { *v += 1; s += *v; }
        h.remove(&4);
        if let Some(v) = h.get(&4) { s += 1000; } else { s += 5; }
        if h.contains_key(&3) { s += 100; }
        return s as i64;";
    assert_eq!(load_result(items, body), 31 + 5 + 100);
    // Struct values and keys.
    let items = "struct K { a: u32, b: u32 }\nstruct V { n: u64, hist: [u8; 4] }\nmap m: hash<K, V>[4];";
    let body = "let k = K { a: 1, b: 2 }; let v = V { n: 5, hist: [1, 2, 3, 4] }; m.insert(k, v);
        let mut r: u64 = 0;
        if let Some(x) = m.get(&k) { x.hist[2] = 30; r = x.n + x.hist[2] as u64 + x.hist[3] as u64; }
        return r as i64;";
    assert_eq!(load_result(items, body), 5 + 30 + 4);
    // A full hash map refuses new keys.
    let items = "map h: hash<u64, u8>[2];";
    let body = "h.insert(1, 1); h.insert(2, 2); return h.insert(3, 3);";
    assert!(load_result(items, body) < 0);
}

#[test]
fn per_cpu_array_maps_and_the_cpu_id_helper() {
    let items = "map hits: percpu_array<u64>[2];";
    let body = "if let Some(v) = hits.get(&1) { *v += 5; }
        let mut r: u64 = 0;
        if let Some(v) = hits.get(&1) { r = *v; }
        if !hits.contains_key(&2) { r += 10; }
        return (r + cpu_id() as u64 * 100) as i64;";
    let c = build(&misc(items, body));
    assert_eq!(c.image.maps[0].kind, lkm::MapKind::PerCpuArray);
    assert_eq!((c.image.maps[0].key_size, c.image.maps[0].value_size, c.image.maps[0].max_entries), (4, 8, 2));
    assert_eq!(run(&c, "load", vec![7, 0, 0, 0]).ret, 5 + 10);
}

#[test]
fn local_functions_with_arguments_and_nesting() {
    let items = "fn sq(x: u64) -> u64 { return x * x; }
fn hyp(a: u64, b: u64, c: u64, d: u64, e: u64) -> u64 { return sq(a) + sq(b) + c * d - e; }";
    assert_eq!(load_result(items, "return hyp(3, 4, 5, 6, 7) as i64;"), 9 + 16 + 30 - 7);
    // Arguments computed with calls inside (values kept across calls).
    assert_eq!(load_result(items, "return (sq(2) + sq(sq(2)) * sq(3)) as i64;"), 4 + 16 * 9);
    let items = "fn even(n: u64) -> bool { return n % 2 == 0; }\nfn noop() { }";
    assert_eq!(load_result(items, "noop(); if even(ctx.module_id as u64) { return 1; } return 2;"), 2);
}

#[test]
fn many_locals_spill_to_the_stack() {
    let mut body = String::new();
    for i in 0..12 {
        body += &format!("let mut v{i}: u64 = {i} + ctx.module_id as u64;\n");
    }
    body += "for k in 0..3 {\n";
    for i in 0..12 {
        body += &format!("v{i} += k;\n");
    }
    body += "}\nreturn (";
    body += &(0..12).map(|i| format!("v{i}")).collect::<Vec<_>>().join(" + ");
    body += ") as i64;";
    let expected: i64 = (0..12).map(|i| i + 7 + 3).sum();
    assert_eq!(load_result("", &body), expected);
}

#[test]
fn strings_log_and_emit() {
    let src = "module t: dev(\"t\");
fn read(ctx: &DevReadCtx) -> i64 {
    log(\"reading {} bytes at {}\", ctx.len, ctx.offset);
    let mut buf = b\"abc\";
    buf[1] = b'X';
    emit(\"hi \");
    emit(&buf, min(ctx.len, 3));
    return 0;
}";
    let c = build(src);
    let mut ctx = vec![0u8; 24];
    ctx[8] = 5; // offset
    ctx[16] = 2; // len
    let r = run(&c, "read", ctx);
    assert_eq!(r.logs, vec!["reading 2 bytes at 5".to_string()]);
    assert_eq!(r.output, b"hi aX");
}

#[test]
fn matches_and_starts_with_compare_buffers() {
    let src = "module t: vfs(\"t\");
fn lookup(ctx: &LookupCtx) -> i64 {
    if matches(&ctx.name, ctx.name_len, \"motd\") { return 2; }
    if starts_with(&ctx.name, ctx.name_len, \"tmp\") { return 3; }
    return ENOENT;
}
fn getattr(ctx: &GetattrCtx) -> i64 { ctx.mode = 0o100644; ctx.size = 12; return 0; }
fn readdir(ctx: &ReaddirCtx) -> i64 { if ctx.index == 0 { emit_dirent(2, \"motd\"); return 1; } return 0; }
fn read(ctx: &FileReadCtx) -> i64 { return 0; }";
    let c = build(src);
    let lookup = |name: &[u8]| {
        let mut ctx = vec![0u8; 80];
        ctx[8..8 + name.len()].copy_from_slice(name);
        ctx[72] = name.len() as u8;
        run(&c, "lookup", ctx).ret
    };
    assert_eq!(lookup(b"motd"), 2);
    assert_eq!(lookup(b"motd2"), -2);
    assert_eq!(lookup(b"tmpfile"), 3);
    assert_eq!(lookup(b"mot"), -2);
    assert_eq!(run(&c, "readdir", vec![0; 16]).output, b"2 motd\n");
}

#[test]
fn writable_context_fields_are_written() {
    let src = "module t: vfs(\"t\");
fn lookup(ctx: &LookupCtx) -> i64 { return ENOENT; }
fn getattr(ctx: &GetattrCtx) -> i64 { ctx.mode = 0o100644; ctx.size = ctx.ino * 2; return 0; }
fn readdir(ctx: &ReaddirCtx) -> i64 { return 0; }
fn read(ctx: &FileReadCtx) -> i64 { return 0; }";
    let c = build(src);
    let mut ctx = vec![0u8; 24];
    ctx[0] = 21;
    assert_eq!(run(&c, "getattr", ctx).ret, 0);
}

#[test]
fn syscall_context_and_chain() {
    let src = "module t: syscall(next);
fn call(ctx: &SyscallCtx) -> i64 {
    if ctx.args[0] == 1 { return CHAIN; }
    return (ctx.args[1] + ctx.args[5] + ctx.uid as u64) as i64;
}";
    let c = build(src);
    let mut ctx = vec![0u8; 64];
    ctx[8] = 1;
    assert_eq!(run(&c, "call", ctx.clone()).ret as u64, lkm::LKM_CHAIN);
    ctx[8] = 0;
    ctx[16] = 5;
    ctx[48] = 6;
    ctx[60] = 100;
    assert_eq!(run(&c, "call", ctx).ret, 111);
}

#[test]
fn ports_and_device_helpers() {
    let src = "module t: dev(\"t\");
ports 0x70..0x72;
fn ioctl(ctx: &IoctlCtx) -> i64 { outb(0x70, 0x0b); return inb(0x71) as i64; }";
    let c = build(src);
    let r = run_with(&c, "ioctl", vec![0; 280], 0x42);
    assert_eq!(r.ret, 0x42);
    assert_eq!(r.ports_written, vec![(0x70, 0x0b)]);
}

#[test]
fn every_example_module_builds_verifies_and_has_a_line_table() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../modules");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("modules/") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "wm") {
            continue;
        }
        let src = std::fs::read_to_string(&path).expect("read");
        let c = build(&src);
        let lines = c.image.lines.as_ref().expect("line table");
        assert_eq!(lines.programs.len(), c.image.programs.len());
        let bytes = c.image.to_bytes();
        assert_eq!(lkm::parse(&bytes).as_ref(), Ok(&c.image), "{}", path.display());
        n += 1;
    }
    assert!(n >= 6, "expected at least six example modules, found {n}");
}

#[test]
fn constant_arrays_live_in_read_only_data() {
    let items = "const HEX: [u8; 16] = b\"0123456789abcdef\";
        const PRIMES: [u32; 4] = [2, 3, 5, 7];
        const WIDE: [u64; 2] = [0x1122334455667788, 9];";
    // ctx.module_id is 7: a variable index, checked at run time.
    let k = "let k = ctx.module_id as u64;";
    assert_eq!(load_result(items, &format!("{k} return HEX[k + 7] as i64;")), b'e' as i64);
    assert_eq!(load_result(items, &format!("{k} return HEX[k + 9] as i64;")), 0, "out of bounds reads 0");
    assert_eq!(load_result(items, &format!("{k} return (PRIMES[k - 4] + PRIMES[0]) as i64;")), 9);
    assert_eq!(load_result(items, &format!("{k} return WIDE[k - 7] as i64;")), 0x1122334455667788);
    assert_eq!(load_result(items, "let mut copy = PRIMES; copy[0] = 11; return (copy[0] + PRIMES[0]) as i64;"), 13);
    assert_eq!(load_result(items, "if matches(&HEX, 3, \"012\") { return 1; } return 0;"), 1);
    let c = build(&misc(items, "return HEX[1] as i64;"));
    assert!(c.image.rodata.starts_with(b"0123456789abcdef"), "the bytes are in the read-only data");
}
