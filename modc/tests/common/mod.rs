//! Running compiled modules on the reference interpreter (`vm`), with
//! helpers that behave like the kernel's: maps for real, `emit` and `log`
//! captured, the other helpers returning fixed values.
#![allow(dead_code)]

use modc::driver::{compile, verify_image, Compiled};
use verifier::Reg;
use vm::memory::{READ, WRITE};
use vm::{Config, Helpers, Map, MapKind, Memory, Value, Vm};

/// What one run produced.
#[derive(Debug, Default)]
pub struct Run {
    pub ret: i64,
    pub output: Vec<u8>,
    pub logs: Vec<String>,
    pub ports_written: Vec<(u64, u64)>,
}

/// Compiles, asserting there are no errors and that every program verifies.
pub fn build(src: &str) -> Compiled {
    let c = match compile(src, "test.wm") {
        Ok(c) => c,
        Err(d) => panic!("does not compile:\n{}", modc::diag::render("test.wm", src, &d)),
    };
    for v in verify_image(&c.image) {
        if let Err(r) = v.result {
            panic!("`{}` does not verify: {r}\n{}", v.entry, modc::listing::listing(&c.image, Some(src)));
        }
    }
    c
}

/// CPUs a per-CPU array map has values for in these runs.
pub const TEST_CPUS: usize = 2;

struct Kernel {
    run: Run,
    inb_value: u64,
}

fn read_bytes(mem: &Memory, addr: u64, len: u64) -> Result<Vec<u8>, vm::ViolationKind> {
    let mut b = vec![0u8; len as usize];
    mem.read(addr, &mut b)?;
    Ok(b)
}

impl Helpers for Kernel {
    fn call(&mut self, id: u32, a: [Value; 5], mem: &mut Memory) -> Result<Value, vm::ViolationKind> {
        use lkm::helpers::*;
        let v = match id {
            LOG => {
                let msg = String::from_utf8_lossy(&read_bytes(mem, a[0].bits, a[1].bits)?).into_owned();
                let msg = msg.replacen("{}", &(a[2].bits as i64).to_string(), 1).replacen("{}", &(a[3].bits as i64).to_string(), 1);
                self.run.logs.push(msg);
                0
            }
            KTIME_NS => 123_456_789,
            GET_PID => 42,
            GET_UID => 1000,
            RANDOM_U32 => 4,
            CPU_ID => mem.cpu() as u64,
            MAP_LOOKUP => return vm::helpers::map_lookup(mem, a[0], a[1]),
            MAP_UPDATE => return vm::helpers::map_update(mem, a[0], a[1], a[2], a[3]),
            MAP_DELETE => return vm::helpers::map_delete(mem, a[0], a[1]),
            EMIT => {
                let b = read_bytes(mem, a[0].bits, a[1].bits)?;
                self.run.output.extend_from_slice(&b);
                a[1].bits
            }
            EMIT_DIRENT => {
                let b = read_bytes(mem, a[1].bits, a[2].bits)?;
                self.run.output.extend_from_slice(format!("{} {}\n", a[0].bits, String::from_utf8_lossy(&b)).as_bytes());
                1
            }
            INB | INW | INL => self.inb_value,
            OUTB | OUTW | OUTL => {
                self.run.ports_written.push((a[0].bits, a[1].bits));
                0
            }
            _ => (-14i64) as u64,
        };
        Ok(Value::scalar(v))
    }
}

/// Runs entry point `entry` with context bytes `ctx`; maps start empty.
pub fn run(c: &Compiled, entry: &str, ctx: Vec<u8>) -> Run {
    run_with(c, entry, ctx, 0)
}

/// Like [`run`], with the value `inb` and friends return.
pub fn run_with(c: &Compiled, entry: &str, ctx: Vec<u8>, inb_value: u64) -> Run {
    run_image(&c.image, entry, ctx, inb_value)
}

/// Like [`run_with`], for an image from anywhere (a C module's).
pub fn run_image(image: &lkm::Image, entry: &str, ctx: Vec<u8>, inb_value: u64) -> Run {
    let (index, p) = image.program(entry).unwrap_or_else(|| panic!("no entry `{entry}`"));
    let program = verifier::decode(&p.code).expect("decodes");
    let profile = lkm::profile_for(image, index).expect("profile");
    let mut vm = Vm::new(&program, Config::checking());
    let size = profile.ctx.size as usize;
    let mut ctx = ctx;
    ctx.resize(size, 0);
    let mut perms = vec![0u8; size];
    for f in &profile.ctx.fields {
        for p in perms.iter_mut().take(f.end() as usize).skip(f.offset as usize) {
            *p |= if f.read { READ } else { 0 } | if f.write { WRITE } else { 0 };
        }
    }
    let mem = vm.memory_mut();
    let base = mem.add_context(ctx, &perms).expect("context");
    for m in &image.maps {
        let kind = match m.kind {
            lkm::MapKind::Array => MapKind::Array,
            lkm::MapKind::Hash => MapKind::Hash,
            lkm::MapKind::PerCpuArray => MapKind::PerCpuArray,
        };
        let map = Map::with_cpus(kind, m.key_size, m.value_size, m.max_entries, TEST_CPUS).expect("map");
        mem.add_map(map).expect("map");
    }
    let rodata = if image.rodata.is_empty() { vec![0] } else { image.rodata.clone() };
    mem.add_map(Map::read_only_data(&rodata).expect("rodata")).expect("rodata");
    vm.set_reg(Reg::R1, Value::pointer(base));
    let mut k = Kernel { run: Run::default(), inb_value };
    match vm.run(&mut k) {
        Ok(out) => {
            k.run.ret = out.r0 as i64;
            k.run
        }
        Err(v) => panic!("violation while running `{entry}`: {v:?}"),
    }
}

/// A misc module whose `load` entry has `body`, after `items`.
pub fn misc(items: &str, body: &str) -> String {
    format!("module t: misc;\n{items}\nfn load(ctx: &LoadCtx) -> i64 {{\n{body}\n}}\n")
}

/// The result of `load` for a misc module.
pub fn load_result(items: &str, body: &str) -> i64 {
    let src = misc(items, body);
    let c = build(&src);
    run(&c, "load", vec![7, 0, 0, 0]).ret
}

/// A small xorshift generator for the fuzz tests (fixed seeds: a failure
/// repeats).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}
