//! The exec switch and program start-up.
//!
//! To run a file, the kernel reads its first bytes and asks each binary
//! format in the switch, in order, whether the file is its kind
//! ([`BinaryFormat::probe`]). ELF comes first and loads the file itself;
//! other formats (the execution-interpreter module class adds them, e.g.
//! for `#!` scripts) name an interpreter, which is then run with the file
//! as an argument. A file no format claims fails with `ENOEXEC`.
//!
//! [`load`] builds the complete new image: address space, segments, and a
//! stack holding the arguments the way `_start` in `user/` reads them:
//! `[rsp] = argc`, then `argc` pointers to NUL-terminated strings, then 0.

use super::elf;
use super::space::{STACK_SIZE, STACK_TOP, UserSpace};
use crate::fs::vfs::{self, Access};
use crate::fs::{file, path};
use crate::memory::MapFlags;
use crate::sync::{IrqLock, LockClass};
use abi::Errno;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// Bytes of the file a format's probe sees.
pub const HEADER_LEN: usize = 128;
/// Largest program file.
pub const MAX_FILE: u64 = 16 << 20;
/// How many interpreters may be stacked (script run by a script ...).
const MAX_INTERPRETERS: usize = 4;

/// What a format says about a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// Not this format: ask the next one.
    NotMine,
    /// A native ELF executable: the kernel loads it.
    Elf,
    /// Run `path` (with `arg` if any) with the file's path as an argument.
    Interpreter { path: String, arg: Option<String> },
}

/// A binary format in the exec switch.
pub trait BinaryFormat: Send + Sync {
    fn name(&self) -> &str;
    /// Looks at the first [`HEADER_LEN`] bytes (fewer for a short file).
    fn probe(&self, header: &[u8], path: &str) -> Probe;
}

struct ElfFormat;

impl BinaryFormat for ElfFormat {
    fn name(&self) -> &str {
        "elf"
    }

    fn probe(&self, header: &[u8], _path: &str) -> Probe {
        if header.starts_with(elf::MAGIC) { Probe::Elf } else { Probe::NotMine }
    }
}

static FORMATS: IrqLock<Vec<Arc<dyn BinaryFormat>>> = IrqLock::with_class(LockClass::ExecFormats, Vec::new());

/// Puts ELF first in the switch.
pub fn init() {
    let mut formats = FORMATS.lock();
    if formats.is_empty() {
        formats.push(Arc::new(ElfFormat));
    }
}

/// Appends a format; `EEXIST` if one of that name is there.
pub fn register_format(format: Arc<dyn BinaryFormat>) -> Result<(), Errno> {
    let mut formats = FORMATS.lock();
    if formats.iter().any(|f| f.name() == format.name()) {
        return Err(Errno::EEXIST);
    }
    formats.push(format);
    Ok(())
}

/// Removes the format named `name`; `ENOENT` if none, `EPERM` for ELF.
pub fn unregister_format(name: &str) -> Result<Arc<dyn BinaryFormat>, Errno> {
    if name == "elf" {
        return Err(Errno::EPERM);
    }
    let mut formats = FORMATS.lock();
    let i = formats.iter().position(|f| f.name() == name).ok_or(Errno::ENOENT)?;
    Ok(formats.remove(i))
}

/// Names of the formats, in the order they are asked.
pub fn format_names() -> Vec<String> {
    FORMATS.lock().iter().map(|f| String::from(f.name())).collect()
}

/// A program ready to run.
pub struct Image {
    pub space: UserSpace,
    pub entry: u64,
    pub stack_pointer: u64,
    /// The file name, for `ps` and messages.
    pub name: String,
}

/// Reads the program at `path` for `uid` (who needs execute permission).
fn read_program(uid: u32, abs: &str) -> Result<Vec<u8>, Errno> {
    let vnode = vfs::resolve(abs)?;
    let attr = vnode.getattr()?;
    if attr.is_dir() || attr.kind() != Some(abi::fs::FileKind::Regular) {
        return Err(Errno::EACCES);
    }
    if !vfs::permits(&attr, uid, Access::Execute) {
        return Err(Errno::EACCES);
    }
    if attr.size > MAX_FILE {
        return Err(Errno::ENOMEM);
    }
    let f = file::open_vnode(0, vnode, abi::fs::O_RDONLY)?;
    let mut data = Vec::new();
    data.try_reserve(attr.size as usize).map_err(|_| Errno::ENOMEM)?;
    data.resize(attr.size as usize, 0);
    let mut done = 0;
    while done < data.len() {
        let n = f.read(&mut data[done..])?;
        if n == 0 {
            break;
        }
        done += n;
    }
    data.truncate(done);
    Ok(data)
}

/// Loads the program at `path` (relative to `cwd`) with arguments `argv`
/// for `uid`, going through the exec switch.
pub fn load(uid: u32, cwd: &str, path_in: &str, mut argv: Vec<String>) -> Result<Image, Errno> {
    let mut abs = path::absolute(cwd, path_in)?;
    for _ in 0..=MAX_INTERPRETERS {
        let data = read_program(uid, &abs)?;
        let header = &data[..data.len().min(HEADER_LEN)];
        let formats: Vec<Arc<dyn BinaryFormat>> = FORMATS.lock().clone();
        let verdict = formats.iter().map(|f| f.probe(header, &abs)).find(|p| *p != Probe::NotMine);
        match verdict {
            Some(Probe::Elf) => {
                let mut space = UserSpace::new()?;
                let entry = elf::load(&abs, &data, &mut space)?;
                let stack_pointer = build_stack(&mut space, &argv)?;
                let name = String::from(abs.rsplit('/').next().unwrap_or(&abs));
                return Ok(Image { space, entry, stack_pointer, name });
            }
            Some(Probe::Interpreter { path: interp, arg }) => {
                // argv becomes: interpreter [arg] file original-args-after-argv[0]
                let mut new_argv = Vec::with_capacity(argv.len() + 2);
                new_argv.push(interp.clone());
                new_argv.extend(arg);
                new_argv.push(abs.clone());
                new_argv.extend(argv.into_iter().skip(1));
                argv = new_argv;
                abs = path::absolute(cwd, &interp)?;
            }
            Some(Probe::NotMine) | None => return Err(Errno::ENOEXEC),
        }
    }
    Err(Errno::ENOEXEC)
}

/// Reserves the stack and writes the arguments into it (through
/// [`UserSpace::write`], which writes only where the program itself could);
/// returns the initial rsp.
fn build_stack(space: &mut UserSpace, argv: &[String]) -> Result<u64, Errno> {
    let bytes: usize = argv.iter().map(|a| a.len() + 1).sum();
    if argv.len() > abi::proc::ARG_MAX || bytes > abi::proc::ARG_BYTES_MAX {
        return Err(Errno::E2BIG);
    }
    // The stack is reserved; the pages the arguments go to are mapped by
    // the writes below, the rest when the program reaches them.
    space.reserve(STACK_TOP - STACK_SIZE, STACK_TOP, MapFlags::USER_DATA)?;
    let mut at = STACK_TOP;
    let mut pointers = Vec::new();
    pointers.try_reserve_exact(argv.len() + 2).map_err(|_| Errno::ENOMEM)?;
    pointers.push(argv.len() as u64);
    for arg in argv {
        at -= arg.len() as u64 + 1;
        space.write(at, arg.as_bytes())?;
        space.write(at + arg.len() as u64, &[0])?;
        pointers.push(at);
    }
    pointers.push(0);
    let table = pointers.len() as u64 * 8;
    let rsp = (at - table) & !15;
    for (i, p) in pointers.iter().enumerate() {
        space.write(rsp + 8 * i as u64, &p.to_le_bytes())?;
    }
    Ok(rsp)
}
