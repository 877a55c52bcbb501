//! The verifier case format: many small programs, each with the profile it
//! is verified against, optional entry facts, and the expected verdict.
//!
//! ```text
//! # A comment. Lines before the first case apply to every case of the file.
//! ctx 16 r:0-8 rw:8-16
//! helpers all
//!
//! == reads the first field
//! r0 = *(u64 *)(r1 + 0)
//! exit
//! expect accept
//!
//! == reads past the context
//! pre r2: scalar in [0, 10]
//! r0 = *(u64 *)(r1 + 16)
//! exit
//! expect reject context-access at 0 "no field"
//! ```
//!
//! Directives (a line starting with one of these words):
//!
//! * `ctx SIZE [PERM:A-B ...]` — a context of SIZE bytes with plain value
//!   fields covering bytes A..B, PERM being `r`, `w` or `rw` (named `fA`).
//! * `field NAME OFF SIZE PERM [buffer | len BUFFER | bounded MIN MAX]` — one
//!   context field; `len BUFFER` makes it the length of the buffer field
//!   named BUFFER (so a load of it is within the buffer's capacity).
//! * `map N array value V max M`, `map N hash key K value V max M`,
//!   `map N rodata SIZE` — map number N (numbered in order from 0).
//! * `helper ID NAME(ARG, ...) -> RET` — ARG one of `scalar`, `const`,
//!   `mem_read`, `mem_write`, `len`, `len0` (may be 0), `const_len`,
//!   `map_ref`, `map_key`, `map_value`, `user_addr`, `port8`, `port16`,
//!   `port32`; RET one of `void`, `scalar`, `bounded MIN MAX`,
//!   `map_value_or_null`, `mem_or_null SIZE [rw]`.
//! * `helpers all` (every helper of `lkm`) or `helpers CLASS` (those a class
//!   may call, e.g. `helpers dev`).
//! * `profile CLASS.ENTRY` — the real profile of an entry point from `lkm`
//!   (context layout and helpers), e.g. `profile dev.read`.
//! * `ports START COUNT` — declared I/O ports.
//! * `limit insns N`, `limit depth N`, `limit stack N`, `limit states N`.
//! * `pre FACTS` — the entry state (see `verifier::facts`), e.g.
//!   `pre r2: scalar in [0, 10], r3: stack - 8`; replaces the default `r1: ctx`.
//! * `expect accept` or `expect reject KIND [at PC] ["substring of the report"]`.
//!
//! Every other line is assembly (`verifier::assemble`).

use std::fmt::Write as _;

use verifier::facts;
use verifier::{ArgKind, CtxField, CtxLayout, ErrorKind, FieldKind, HelperSig, MapInfo, PortRange, Profile, RetKind};

/// What a case expects.
#[derive(Clone, Debug, PartialEq)]
pub enum Expect {
    Accept,
    /// `pc` is `None` when the case does not name the instruction (e.g.
    /// for `too-complex`, where it depends on the exploration order).
    Reject { kind: ErrorKind, pc: Option<usize>, message: Option<String> },
}

/// One case, ready to run.
#[derive(Clone, Debug)]
pub struct Case {
    pub file: String,
    pub line: usize,
    pub name: String,
    pub profile: Profile,
    pub pre: String,
    pub asm: String,
    pub expect: Expect,
}

/// Parses a whole case file.
pub fn parse_file(file: &str, text: &str) -> Result<Vec<Case>, String> {
    let mut base = Builder::default();
    let mut cases = Vec::new();
    let mut cur: Option<(usize, String, Builder)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        let at = |e: String| format!("{file}:{line_no}: {e}");
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix("==") {
            if let Some((l, n, b)) = cur.take() {
                cases.push(b.finish(file, l, n)?);
            }
            cur = Some((line_no, name.trim().to_string(), base.clone()));
            continue;
        }
        match &mut cur {
            Some((_, _, b)) => b.line(line).map_err(at)?,
            None => base.line(line).map_err(at)?,
        }
    }
    if let Some((l, n, b)) = cur.take() {
        cases.push(b.finish(file, l, n)?);
    }
    Ok(cases)
}

#[derive(Clone, Default)]
struct Builder {
    profile: Profile,
    pre: String,
    asm: String,
    expect: Option<Expect>,
}

impl Builder {
    fn line(&mut self, line: &str) -> Result<(), String> {
        let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let rest = rest.trim();
        match word {
            "ctx" => self.ctx(rest),
            "field" => self.field(rest),
            "map" => self.map(rest),
            "helper" => {
                let h = parse_helper(rest)?;
                self.profile.helpers.retain(|x| x.id != h.id);
                self.profile.helpers.push(h);
                Ok(())
            }
            "helpers" => {
                let class = match rest {
                    "all" => None,
                    c => Some(lkm::class::Class::from_name(c).ok_or_else(|| format!("no class `{c}`"))?),
                };
                for h in lkm::helpers::HELPERS.iter().filter(|h| class.is_none_or(|c| h.allowed.permits(c))) {
                    self.profile.helpers.retain(|x| x.id != h.id);
                    self.profile.helpers.push(h.sig());
                }
                Ok(())
            }
            "profile" => {
                let (class, entry) = rest.split_once('.').ok_or("`profile CLASS.ENTRY`, e.g. `profile dev.read`")?;
                let class = lkm::class::Class::from_name(class).ok_or_else(|| format!("no class `{class}`"))?;
                let e = class.entry(entry).ok_or_else(|| format!("class {class:?} has no entry `{entry}`"))?;
                self.profile.ctx = lkm::class::entry_layout(e);
                self.profile.helpers = lkm::helpers::for_class(class).map(|h| h.sig()).collect();
                Ok(())
            }
            "ports" => {
                let n = numbers(rest)?;
                let [start, count] = n[..] else { return Err("`ports START COUNT`".into()) };
                self.profile.ports.push(PortRange { start: start as u16, count: count as u16 });
                Ok(())
            }
            "limit" => {
                let (what, n) = rest.split_once(' ').ok_or("`limit insns|depth|stack|states N`")?;
                let n = facts::parse_int(n).ok_or("bad number")? as u64;
                let l = &mut self.profile.limits;
                match what {
                    "insns" => l.max_insns_processed = n,
                    "depth" => l.max_call_depth = n as u32,
                    "stack" => l.max_stack = n as u32,
                    "states" => l.max_states = n as usize,
                    _ => return Err(format!("unknown limit `{what}`")),
                }
                Ok(())
            }
            "pre" => {
                facts::parse(rest)?;
                if !self.pre.is_empty() {
                    self.pre.push_str(", ");
                }
                self.pre.push_str(rest);
                Ok(())
            }
            "expect" => {
                self.expect = Some(parse_expect(rest)?);
                Ok(())
            }
            _ => {
                let _ = writeln!(self.asm, "{line}");
                Ok(())
            }
        }
    }

    fn ctx(&mut self, rest: &str) -> Result<(), String> {
        let mut words = rest.split_whitespace();
        let size = words.next().and_then(facts::parse_int).ok_or("`ctx SIZE ...`")? as u32;
        let mut layout = CtxLayout::new(size);
        for w in words {
            let (perm, range) = w.split_once(':').ok_or_else(|| format!("field `{w}` needs PERM:A-B"))?;
            let (a, b) = range.split_once('-').ok_or_else(|| format!("field `{w}` needs PERM:A-B"))?;
            let a = facts::parse_int(a).ok_or("bad offset")? as u32;
            let b = facts::parse_int(b).ok_or("bad offset")? as u32;
            let (r, wr) = perms(perm)?;
            layout.fields.push(CtxField::value(format!("f{a}"), a, b - a).access(r, wr));
        }
        self.profile.ctx = layout;
        Ok(())
    }

    fn field(&mut self, rest: &str) -> Result<(), String> {
        let w: Vec<&str> = rest.split_whitespace().collect();
        if w.len() < 4 {
            return Err("`field NAME OFF SIZE PERM [buffer|len BUF|bounded MIN MAX]`".into());
        }
        let off = facts::parse_int(w[1]).ok_or("bad offset")? as u32;
        let size = facts::parse_int(w[2]).ok_or("bad size")? as u32;
        let (r, wr) = perms(w[3])?;
        let kind = match &w[4..] {
            [] => FieldKind::Value,
            ["buffer"] => FieldKind::Buffer,
            ["len", buf] => {
                let fields = &self.profile.ctx.fields;
                let i = fields.iter().position(|f| f.name == *buf).ok_or_else(|| format!("no buffer field `{buf}` yet"))?;
                FieldKind::Length { buffer: i, capacity: fields[i].size }
            }
            ["bounded", a, b] => FieldKind::Bounded {
                min: facts::parse_int(a).ok_or("bad min")? as u64,
                max: facts::parse_int(b).ok_or("bad max")? as u64,
            },
            other => return Err(format!("unknown field kind `{}`", other.join(" "))),
        };
        self.profile.ctx.fields.push(CtxField { name: w[0].to_string().into(), offset: off, size, read: r, write: wr, kind });
        self.profile.ctx.size = self.profile.ctx.size.max(off + size);
        Ok(())
    }

    fn map(&mut self, rest: &str) -> Result<(), String> {
        let w: Vec<&str> = rest.split_whitespace().collect();
        let n = |s: &str| facts::parse_int(s).map(|v| v as u32).ok_or_else(|| format!("bad number `{s}`"));
        if w.is_empty() || n(w[0])? as usize != self.profile.maps.len() {
            return Err(format!("maps are numbered in order: the next is {}", self.profile.maps.len()));
        }
        let info = match &w[1..] {
            ["array", "value", v, "max", m] => MapInfo::array(n(v)?, n(m)?),
            ["hash", "key", k, "value", v, "max", m] => MapInfo::hash(n(k)?, n(v)?, n(m)?),
            ["rodata", s] => MapInfo::read_only(n(s)?),
            _ => return Err("`map N array value V max M`, `map N hash key K value V max M` or `map N rodata SIZE`".into()),
        };
        self.profile.maps.push(info);
        Ok(())
    }

    fn finish(self, file: &str, line: usize, name: String) -> Result<Case, String> {
        let expect = self.expect.ok_or_else(|| format!("{file}:{line}: case `{name}` has no `expect` line"))?;
        Ok(Case { file: file.to_string(), line, name, profile: self.profile, pre: self.pre, asm: self.asm, expect })
    }
}

fn perms(p: &str) -> Result<(bool, bool), String> {
    match p {
        "r" => Ok((true, false)),
        "w" => Ok((false, true)),
        "rw" => Ok((true, true)),
        _ => Err(format!("permission `{p}` is not r, w or rw")),
    }
}

fn numbers(s: &str) -> Result<Vec<i128>, String> {
    s.split_whitespace().map(|w| facts::parse_int(w).ok_or_else(|| format!("bad number `{w}`"))).collect()
}

fn parse_helper(s: &str) -> Result<HelperSig, String> {
    let (head, ret) = s.split_once("->").ok_or("`helper ID NAME(ARGS) -> RET`")?;
    let (id, call) = head.trim().split_once(' ').ok_or("`helper ID NAME(ARGS) -> RET`")?;
    let id = facts::parse_int(id).ok_or("bad helper id")? as u32;
    let (name, args) = call.trim().split_once('(').ok_or("missing `(`")?;
    let args = args.trim().strip_suffix(')').ok_or("missing `)`")?;
    let mut kinds = Vec::new();
    for a in args.split(',').map(str::trim).filter(|a| !a.is_empty()) {
        kinds.push(match a {
            "scalar" => ArgKind::Scalar,
            "const" => ArgKind::Const,
            "mem_read" => ArgKind::MemRead,
            "mem_write" => ArgKind::MemWrite,
            "len" => ArgKind::Len { allow_zero: false },
            "len0" => ArgKind::Len { allow_zero: true },
            "const_len" => ArgKind::ConstLen,
            "map_ref" => ArgKind::MapRef,
            "map_key" => ArgKind::MapKey,
            "map_value" => ArgKind::MapValue,
            "user_addr" => ArgKind::UserAddr,
            "port8" => ArgKind::Port { width: 1 },
            "port16" => ArgKind::Port { width: 2 },
            "port32" => ArgKind::Port { width: 4 },
            _ => return Err(format!("unknown argument kind `{a}`")),
        });
    }
    let ret_words: Vec<&str> = ret.split_whitespace().collect();
    let ret = match &ret_words[..] {
        ["void"] => RetKind::Void,
        ["scalar"] => RetKind::Scalar,
        ["bounded", a, b] => RetKind::Bounded {
            min: facts::parse_int(a).ok_or("bad min")? as u64,
            max: facts::parse_int(b).ok_or("bad max")? as u64,
        },
        ["map_value_or_null"] => RetKind::MapValueOrNull,
        ["mem_or_null", n] => RetKind::MemOrNull { size: facts::parse_int(n).ok_or("bad size")? as u32, writable: false },
        ["mem_or_null", n, "rw"] => RetKind::MemOrNull { size: facts::parse_int(n).ok_or("bad size")? as u32, writable: true },
        _ => return Err(format!("unknown return kind `{}`", ret.trim())),
    };
    Ok(HelperSig::new(id, name.trim().to_string(), &kinds, ret))
}

fn parse_expect(s: &str) -> Result<Expect, String> {
    if s == "accept" {
        return Ok(Expect::Accept);
    }
    let rest = s.strip_prefix("reject").ok_or("`expect accept` or `expect reject KIND [at PC] [\"text\"]`")?.trim();
    let (kind, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let kind = ErrorKind::from_name(kind).ok_or_else(|| format!("unknown error kind `{kind}`"))?;
    let rest = rest.trim();
    let (pc, rest) = match rest.strip_prefix("at ") {
        Some(r) => {
            let r = r.trim();
            let (pc, more) = r.split_once(' ').unwrap_or((r, ""));
            (Some(pc.parse().map_err(|_| format!("bad pc `{pc}`"))?), more.trim())
        }
        None => (None, rest),
    };
    let message = (!rest.is_empty()).then(|| rest.trim_matches('"').to_string());
    Ok(Expect::Reject { kind, pc, message })
}

/// Runs one case; `Err` describes how the verdict differs from the expected one.
pub fn run(case: &Case) -> Result<(), String> {
    let program = verifier::assemble(&case.asm).map_err(|e| format!("assembly error: {e}"))?;
    let entry = verifier::Entry { regs: facts::parse(&case.pre)? };
    let got = verifier::verify_with(&program, &case.profile, &entry, None);
    match (&case.expect, got) {
        (Expect::Accept, Ok(_)) => Ok(()),
        (Expect::Accept, Err(r)) => Err(format!("expected accept, got:\n{r}")),
        (Expect::Reject { kind, .. }, Ok(_)) => Err(format!("expected reject {kind}, but the program was accepted")),
        (Expect::Reject { kind, pc, message }, Err(r)) => {
            if r.kind != *kind || pc.is_some_and(|pc| r.pc != pc) {
                let at = pc.map(|pc| format!(" at {pc}")).unwrap_or_default();
                return Err(format!("expected reject {kind}{at}, got:\n{r}"));
            }
            match message {
                Some(m) if !r.to_string().contains(m.as_str()) => Err(format!("expected the report to mention \"{m}\", got:\n{r}")),
                _ => Ok(()),
            }
        }
    }
}
