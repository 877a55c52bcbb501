//! Random well-typed programs: nested loops, maps, arrays, helpers and
//! local functions. Every one must compile; every program must verify, or
//! be reported as too complex at a source span; every verified program must
//! run on the checking interpreter without a violation.
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

/// Builds one program. Every variable is a `u64`; arrays hold `u64`s.
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
}

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
                _ => match self.arrays().len() {
                    0 => "7".into(),
                    n => {
                        let a = self.arrays()[self.rng.below(n as u64) as usize].clone();
                        let i = self.var().unwrap_or_else(|| "1".into());
                        format!("{a}[{i} % 8]")
                    }
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
            8 => {
                let name = format!("a{}", self.next);
                self.next += 1;
                self.line(indent, &format!("let mut {name} = [0u64; 8];"));
                if let Some(sc) = self.scopes.last_mut() {
                    sc.push((name.clone(), true));
                }
                let i = self.expr(1);
                let e = self.expr(1);
                self.line(indent, &format!("{name}[({i}) % 8] = {e};"));
            }
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
