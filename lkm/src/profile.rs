//! The verifier profile of each program of an image: the one function the
//! kernel and `modc` both call, so both verify against the same facts.

use alloc::string::String;

use crate::class::Class;
use crate::image::{Image, MapKind};
use crate::{ctx, helpers};
use verifier::{MapInfo, PortRange, Profile};

/// Why no profile could be built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProfileError {
    /// The image has no program with that index.
    NoProgram(usize),
    /// The program names an entry point its class does not have.
    UnknownEntry(String),
}

impl core::fmt::Display for ProfileError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ProfileError::NoProgram(i) => write!(f, "the image has no program {i}"),
            ProfileError::UnknownEntry(e) => write!(f, "no entry point `{e}` in this class"),
        }
    }
}

/// The profile of program `program_index` of `image`: its entry point's
/// context, the helpers its class may call, the image's maps followed by
/// the read-only data (map number [`Image::rodata_map`]), and its ports.
pub fn profile_for(image: &Image, program_index: usize) -> Result<Profile, ProfileError> {
    let program = image.programs.get(program_index).ok_or(ProfileError::NoProgram(program_index))?;
    let class: Class = image.params.class();
    let entry = class.entry(&program.entry).ok_or_else(|| ProfileError::UnknownEntry(program.entry.clone()))?;
    let mut profile = Profile::new().with_ctx(ctx::layout(entry.ctx));
    for h in helpers::for_class(class) {
        profile = profile.with_helper(h.sig());
    }
    for m in &image.maps {
        let info = match m.kind {
            MapKind::Array => MapInfo::array(m.value_size, m.max_entries),
            MapKind::Hash => MapInfo::hash(m.key_size, m.value_size, m.max_entries),
            MapKind::PerCpuArray => MapInfo::per_cpu_array(m.value_size, m.max_entries),
        };
        profile = profile.with_map(info);
    }
    // Zero-length read-only data is still a (one-byte) map so that map
    // numbers never depend on whether a module has string literals.
    profile = profile.with_map(MapInfo::read_only(image.rodata.len().max(1) as u32));
    if class == Class::Dev {
        for p in &image.ports {
            profile = profile.with_ports(PortRange { start: p.start, count: p.count });
        }
    }
    Ok(profile)
}
