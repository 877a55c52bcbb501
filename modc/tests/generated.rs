//! Random well-typed programs: nested loops, maps, arrays, helpers and
//! local functions. Every one must compile; every program must verify, or
//! be reported as too complex at a source span; every verified program must
//! run on the checking interpreter without a violation. Arrays (on the
//! stack: of `u8` to `u64`, of several lengths, nested) are read and written
//! at arbitrary index expressions, in range or not.
//! `WARDEN_GEN_PROGRAMS=N` sets the count (default 40), `WARDEN_GEN_FIRST`
//! the first seed (default 0).

mod common;

use modc::driver::{compile, rejection_diag, verify_image};
use verifier::ErrorKind;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// A local array: its element type and its lengths (outermost first).
#[derive(Clone)]
struct Array {
    elem: &'static str,
    dims: Vec<u64>,
}

/// Builds one program. Every variable is a `u64`; array elements are read
/// as `u64`s and written from them.
struct Gen {
    rng: Rng,
    out: String,
    /// Variables in scope (name, mutable), by nesting level.
    scopes: Vec<Vec<(String, bool)>>,
    fns: Vec<(String, usize)>,
    next: usize,
    loop_depth: usize,
    budget: usize,
    in_entry: bool,
    /// Every array declared so far, by name (names start with `a`).
    array_types: Vec<(String, Array)>,
    /// Whether an index expression is being built.
    in_index: bool,
    /// Bytes of the arrays of the function being built: its frame, and
    /// those of the functions it calls, must fit in 512 bytes together.
    array_bytes: u64,
}

/// Most bytes of arrays in one function (three functions can be on a call
/// chain, and each spills values too).
const ARRAY_BYTES: u64 = 128;

impl Gen {
    fn var(&mut self) -> Option<String> {
        let all: Vec<&String> = self.scopes.iter().flatten().filter(|(n, _)| !n.starts_with('a')).map(|(n, _)| n).collect();
        (!all.is_empty()).then(|| all[self.rng.below(all.len() as u64) as usize].clone())
    }

    fn mutable_var(&mut self) -> Option<String> {
        let all: Vec<&String> = self.scopes.iter().flatten().filter(|(n, m)| *m && !n.starts_with('a')).map(|(n, _)| n).collect();
        (!all.is_empty()).then(|| all[self.rng.below(all.len() as u64) as usize].clone())
    }

    /// Arrays in scope (their names start with `a`).
    fn arrays(&self) -> Vec<String> {
        self.scopes.iter().flatten().filter(|(n, _)| n.starts_with('a')).map(|(n, _)| n.clone()).collect()
    }

    fn expr(&mut self, depth: u32) -> String {
        let leaf = depth == 0 || self.rng.chance(30);
        if leaf {
            return match self.rng.below(5) {
                0 | 1 => self.var().unwrap_or_else(|| "3".into()),
                2 => format!("{}", self.rng.below(1000)),
                3 if self.in_entry => "ctx.module_id as u64".into(),
                3 => "11".into(),
                _ => match self.element(depth) {
                    Some((e, "u64")) => e,
                    Some((e, _)) => format!("({e} as u64)"),
                    None => "7".into(),
                },
            };
        }
        match self.rng.below(9) {
            0 => format!("({} + {})", self.expr(depth - 1), self.expr(depth - 1)),
            1 => format!("({} * {})", self.expr(depth - 1), self.expr(depth - 1)),
            2 => format!("({} - {})", self.expr(depth - 1), self.expr(depth - 1)),
            3 => format!("({} / {})", self.expr(depth - 1), self.expr(depth - 1)),
            4 => format!("({} ^ {})", self.expr(depth - 1), self.expr(depth - 1)),
            5 => format!("({} >> {})", self.expr(depth - 1), self.rng.below(64)),
            6 => format!("((({}) as u32) as u64)", self.expr(depth - 1)),
            7 => format!("min({}, {})", self.expr(depth - 1), self.expr(depth - 1)),
            _ => match self.fns.len() {
                0 => format!("({} % 17)", self.expr(depth - 1)),
                n => {
                    let (f, arity) = self.fns[self.rng.below(n as u64) as usize].clone();
                    let args: Vec<String> = (0..arity).map(|_| self.expr(depth - 1)).collect();
                    format!("{f}({})", args.join(", "))
                }
            },
        }
    }

    /// An index into a dimension of length `len`: any expression, in range
    /// or not (out of range, a read gives 0 and a write does nothing). A
    /// constant index must be in range, so an expression that may fold to
    /// a constant is taken modulo the length.
    ///
    /// Inside an expression (`depth` 0) the index is a variable with one
    /// operation: an element read deep in an expression already holds
    /// registers, and more than six at once do not compile.
    fn index(&mut self, depth: u32, len: u64) -> String {
        // No array reads inside an index (they would nest without bound).
        let outer = std::mem::replace(&mut self.in_index, true);
        let e = if depth == 0 { format!("{}", self.rng.below(1000)) } else { self.expr(depth - 1) };
        self.in_index = outer;
        let Some(v) = self.var() else { return format!("(({e}) % {len})") };
        if depth == 0 {
            return match self.rng.below(3) {
                0 => v,
                1 => format!("({v} - {})", self.rng.below(len + 2)),
                _ => format!("(({v} + {e}) & {})", len.next_power_of_two() - 1),
            };
        }
        match self.rng.below(7) {
            0 => v,
            1 => format!("(({e}) % {len})"),
            2 => format!("min({e} + {v}, {})", len - 1),
            3 => format!("(({e} + {v}) & {})", len.next_power_of_two() - 1),
            4 => format!("((({e}) as i32) + ({v} as i32))"),
            5 => format!("({v} - {})", self.rng.below(len + 2)),
            _ => format!("({e} + {v})"),
        }
    }

    /// A random element of a random array in scope, and its type.
    fn element(&mut self, depth: u32) -> Option<(String, &'static str)> {
        let names = self.arrays();
        if names.is_empty() || self.in_index {
            return None;
        }
        let name = names[self.rng.below(names.len() as u64) as usize].clone();
        let a = self.array_types.iter().find(|(n, _)| *n == name).map(|(_, a)| a.clone())?;
        let mut place = name;
        for len in a.dims {
            let i = self.index(depth, len);
            place += &format!("[{i}]");
        }
        Some((place, a.elem))
    }

    /// Declares a new array (zeroed, filled with one value, or listed) and
    /// stores one value in it; only stores when the function has its fill
    /// of arrays.
    fn array(&mut self, indent: usize) {
        let (elem, size) = [("u8", 1), ("u16", 2), ("u32", 4), ("u64", 8)][self.rng.below(4) as usize];
        let len = [8u64, 1, 3, 5, 13, 32][self.rng.below(6) as usize];
        let (dims, init) = match self.rng.below(4) {
            0 => (vec![len], format!("[0{elem}; {len}]")),
            1 => (vec![len], format!("[{}{elem}; {len}]", self.rng.below(200))),
            2 => {
                let items: Vec<String> = (0..len).map(|k| format!("{}{elem}", (k * 37) % 251)).collect();
                (vec![len], format!("[{}]", items.join(", ")))
            }
            _ => {
                let inner = 1 + self.rng.below(4);
                (vec![len.min(5), inner], format!("[[0{elem}; {inner}]; {}]", len.min(5)))
            }
        };
        let bytes = size * dims.iter().product::<u64>();
        if self.array_bytes + bytes > ARRAY_BYTES {
            return self.store(indent);
        }
        self.array_bytes += bytes;
        let name = format!("a{}", self.next);
        self.next += 1;
        self.line(indent, &format!("let mut {name} = {init};"));
        if let Some(sc) = self.scopes.last_mut() {
            sc.push((name.clone(), true));
        }
        self.array_types.push((name, Array { elem, dims }));
        self.store(indent);
    }

    /// `a[i] = e` or `a[i] += e` into an array in scope.
    fn store(&mut self, indent: usize) {
        let Some((place, elem)) = self.element(2) else { return };
        let e = self.expr(1);
        let op = if self.rng.chance(30) { "+=" } else { "=" };
        self.line(indent, &format!("{place} {op} ({e}) as {elem};"));
    }

    fn cond(&mut self) -> String {
        let op = ["<", "<=", ">", ">=", "==", "!="][self.rng.below(6) as usize];
        let c = format!("{} {op} {}", self.expr(1), self.expr(1));
        if self.rng.chance(20) { format!("{c} && {} != 0", self.expr(1)) } else { c }
    }

    fn line(&mut self, indent: usize, s: &str) {
        self.out += &"    ".repeat(indent);
        self.out += s;
        self.out += "\n";
    }

    fn block(&mut self, indent: usize, n: usize) {
        self.scopes.push(Vec::new());
        for _ in 0..n {
            if self.budget == 0 {
                break;
            }
            self.budget -= 1;
            self.stmt(indent);
        }
        self.scopes.pop();
    }

    fn stmt(&mut self, indent: usize) {
        match self.rng.below(11) {
            0 | 1 => {
                let name = format!("v{}", self.next);
                self.next += 1;
                let e = self.expr(2);
                self.line(indent, &format!("let mut {name}: u64 = {e};"));
                if let Some(s) = self.scopes.last_mut() {
                    s.push((name, true));
                }
            }
            2 | 3 => {
                if let Some(v) = self.mutable_var() {
                    let e = self.expr(2);
                    let op = ["=", "+=", "^=", "-="][self.rng.below(4) as usize];
                    self.line(indent, &format!("{v} {op} {e};"));
                }
            }
            4 => {
                let c = self.cond();
                self.line(indent, &format!("if {c} {{"));
                self.block(indent + 1, 3);
                if self.rng.chance(50) {
                    self.line(indent, "} else {");
                    self.block(indent + 1, 2);
                }
                self.line(indent, "}");
            }
            5 if self.loop_depth < 2 => {
                let name = format!("i{}", self.next);
                self.next += 1;
                let bound = 1 + self.rng.below(6);
                self.line(indent, &format!("for {name} in 0..{bound} {{"));
                self.loop_depth += 1;
                self.scopes.push(vec![(name, false)]);
                self.block(indent + 1, 3);
                if self.rng.chance(25) {
                    let c = self.cond();
                    let word = if self.rng.chance(50) { "break" } else { "continue" };
                    self.line(indent + 1, &format!("if {c} {{ {word}; }}"));
                }
                self.scopes.pop();
                self.loop_depth -= 1;
                self.line(indent, "}");
            }
            6 => {
                let k = self.expr(1);
                let v = self.expr(1);
                self.line(indent, &format!("h.insert(({k}) as u32, {v});"));
            }
            7 => {
                let k = self.expr(1);
                let name = format!("p{}", self.next);
                self.next += 1;
                self.line(indent, &format!("if let Some({name}) = h.get(&(({k}) as u32)) {{"));
                let e = self.expr(1);
                self.line(indent + 1, &format!("*{name} += {e};"));
                self.block(indent + 1, 1);
                self.line(indent, "}");
            }
            8 if self.rng.chance(50) => self.array(indent),
            8 => self.store(indent),
            9 => {
                let e = self.expr(1);
                self.line(indent, &format!("log(\"value {{}}\", {e});"));
            }
            _ => {
                if let Some(v) = self.mutable_var() {
                    let c = self.cond();
                    self.line(indent, &format!("while {c} && {v} < 40 {{"));
                    self.line(indent + 1, &format!("{v} += 1;"));
                    self.line(indent, "}");
                }
            }
        }
    }

    fn function(&mut self, name: &str, arity: usize) {
        let params: Vec<String> = (0..arity).map(|k| format!("x{k}: u64")).collect();
        self.line(0, &format!("fn {name}({}) -> u64 {{", params.join(", ")));
        self.scopes = vec![(0..arity).map(|k| (format!("x{k}"), false)).collect()];
        self.budget = 6;
        self.array_bytes = 0;
        self.block(1, 6);
        let e = self.expr(2);
        self.line(1, &format!("return {e};"));
        self.line(0, "}");
        self.fns.push((name.to_string(), arity));
    }

    fn program(seed: u64) -> String {
        let mut g = Gen {
            rng: Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1),
            out: String::new(),
            scopes: Vec::new(),
            fns: Vec::new(),
            next: 0,
            loop_depth: 0,
            budget: 0,
            in_entry: false,
            array_types: Vec::new(),
            in_index: false,
            array_bytes: 0,
        };
        g.line(0, "module gen: misc;");
        g.line(0, "map h: hash<u32, u64>[16];");
        for f in 0..g.rng.below(3) {
            let arity = g.rng.below(4) as usize;
            g.function(&format!("f{f}"), arity);
        }
        g.line(0, "fn load(ctx: &LoadCtx) -> i64 {");
        g.in_entry = true;
        g.scopes = vec![Vec::new()];
        g.budget = 14;
        g.array_bytes = 0;
        g.block(1, 10);
        let e = g.expr(2);
        g.line(1, &format!("return ({e}) as i64;"));
        g.line(0, "}");
        g.out
    }
}

#[test]
fn random_programs_compile_verify_and_run_safely() {
    let count: u64 = std::env::var("WARDEN_GEN_PROGRAMS").ok().and_then(|s| s.parse().ok()).unwrap_or(40);
    let first: u64 = std::env::var("WARDEN_GEN_FIRST").ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    let (mut verified, mut complex) = (0, 0);
    for seed in first..first + count {
        let src = Gen::program(seed);
        let c = match compile(&src, "gen.wm") {
            Ok(c) => c,
            Err(d) => panic!("seed {seed} does not compile:\n{}\n{src}", modc::diag::render("gen.wm", &src, &d)),
        };
        for (i, v) in verify_image(&c.image).into_iter().enumerate() {
            match v.result {
                Ok(_) => {
                    verified += 1;
                    let run = common::run(&c, &v.entry, vec![3, 0, 0, 0]);
                    let _ = run.ret;
                }
                Err(r) if r.kind == ErrorKind::TooComplex => {
                    complex += 1;
                    let d = rejection_diag(&c, i, &r);
                    assert!(d.span.hi > d.span.lo, "seed {seed}: too complex without a span");
                }
                Err(r) => panic!("seed {seed}: `{}` rejected: {r}\n{src}\n{}", v.entry, modc::listing::listing(&c.image, Some(&src))),
            }
        }
    }
    println!("{count} programs: {verified} verified and ran, {complex} too complex");
    assert!(verified > count / 2);
}
