//! The `modc load` channel: frames between `modc` on the host and `lkmd`
//! in the guest, over a serial port (COM3, which `cargo xtask run` puts on
//! a UNIX socket).
//!
//! A frame is
//!
//! ```text
//! magic "WLKC" | op u8 | 3 zero bytes | length u32 | payload | check u32
//! ```
//!
//! (little-endian; `check` is FNV-1a over op, length and payload). A
//! receiver skips bytes until the magic, so noise on the line costs one
//! request, never the channel. Requests: [`OP_LOAD`] (payload: a `str8`
//! file name for messages, then the image), [`OP_UNLOAD`] (the module
//! name), [`OP_STAT`] (empty). Every request gets one [`OP_REPLY`]: an
//! `i32` status (0, or an errno) and a [`Reply`] text.

use alloc::string::String;
use alloc::vec::Vec;

/// The first bytes of every frame.
pub const MAGIC: [u8; 4] = *b"WLKC";
/// Load an image: `str8` file name, then the image bytes.
pub const OP_LOAD: u8 = 1;
/// Unload the module named by the payload.
pub const OP_UNLOAD: u8 = 2;
/// List the loaded modules (`modstat`'s table).
pub const OP_STAT: u8 = 3;
/// The answer to a request.
pub const OP_REPLY: u8 = 0x80;
/// Largest payload accepted: an image of the largest size and its name.
pub const MAX_PAYLOAD: usize = crate::ioctl::MAX_IMAGE_SIZE as usize + 512;
const HEADER: usize = 12;

/// One frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub op: u8,
    pub payload: Vec<u8>,
}

fn fnv1a(parts: &[&[u8]]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for part in parts {
        for &b in *part {
            h ^= b as u32;
            h = h.wrapping_mul(0x0100_0193);
        }
    }
    h
}

impl Frame {
    pub fn new(op: u8, payload: Vec<u8>) -> Frame {
        Frame { op, payload }
    }

    /// The frame as bytes for the line.
    pub fn to_bytes(&self) -> Vec<u8> {
        let len = (self.payload.len() as u32).to_le_bytes();
        let mut out = Vec::with_capacity(HEADER + self.payload.len() + 4);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&[self.op, 0, 0, 0]);
        out.extend_from_slice(&len);
        out.extend_from_slice(&self.payload);
        out.extend_from_slice(&fnv1a(&[&[self.op], &len, &self.payload]).to_le_bytes());
        out
    }
}

/// What went wrong with bytes on the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChanError {
    /// A frame whose check did not match (dropped).
    BadCheck,
    /// A frame announcing more bytes than the receiver takes (dropped):
    /// the length announced and the receiver's limit.
    TooLong(u32, usize),
}

impl core::fmt::Display for ChanError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ChanError::BadCheck => write!(f, "a frame arrived damaged (check mismatch)"),
            ChanError::TooLong(n, max) => write!(f, "a frame announced {n} bytes, more than the {max} this end takes"),
        }
    }
}

/// Collects bytes from the line and cuts them into frames.
pub struct Decoder {
    buf: Vec<u8>,
    limit: usize,
}

impl Default for Decoder {
    fn default() -> Decoder {
        Decoder::new()
    }
}

impl Decoder {
    /// A decoder taking payloads up to [`MAX_PAYLOAD`] bytes.
    pub fn new() -> Decoder {
        Decoder::with_limit(MAX_PAYLOAD)
    }

    /// A decoder taking payloads up to `limit` bytes (a receiver with
    /// little memory; longer frames are refused with [`ChanError::TooLong`]).
    pub fn with_limit(limit: usize) -> Decoder {
        Decoder { buf: Vec::new(), limit: limit.min(MAX_PAYLOAD) }
    }

    /// Adds bytes read from the line.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole frame, an error for a damaged one (which is then
    /// skipped), or `None` until more bytes arrive.
    pub fn next_frame(&mut self) -> Option<Result<Frame, ChanError>> {
        let start = self.buf.windows(4).position(|w| w == MAGIC);
        match start {
            Some(0) => {}
            Some(i) => {
                self.buf.drain(..i);
            }
            None => {
                // Keep a tail that may be the start of the magic.
                let keep = self.buf.len().min(3);
                self.buf.drain(..self.buf.len() - keep);
                return None;
            }
        }
        if self.buf.len() < HEADER {
            return None;
        }
        let op = self.buf[4];
        let len_bytes = [self.buf[8], self.buf[9], self.buf[10], self.buf[11]];
        let len = u32::from_le_bytes(len_bytes);
        if len as usize > self.limit {
            self.buf.drain(..4);
            return Some(Err(ChanError::TooLong(len, self.limit)));
        }
        let total = HEADER + len as usize + 4;
        if self.buf.len() < total {
            return None;
        }
        let payload = &self.buf[HEADER..HEADER + len as usize];
        let check = u32::from_le_bytes([
            self.buf[total - 4],
            self.buf[total - 3],
            self.buf[total - 2],
            self.buf[total - 1],
        ]);
        if check != fnv1a(&[&[op], &len_bytes, payload]) {
            self.buf.drain(..4);
            return Some(Err(ChanError::BadCheck));
        }
        let frame = Frame { op, payload: payload.to_vec() };
        self.buf.drain(..total);
        Some(Ok(frame))
    }
}

/// A `OP_LOAD` payload: the file name (for messages) and the image.
pub fn load_payload(file: &str, image: &[u8]) -> Vec<u8> {
    let name = &file.as_bytes()[..file.len().min(255)];
    let mut out = Vec::with_capacity(1 + name.len() + image.len());
    out.push(name.len() as u8);
    out.extend_from_slice(name);
    out.extend_from_slice(image);
    out
}

/// The file name and image of a `OP_LOAD` payload.
pub fn split_load_payload(payload: &[u8]) -> Option<(&str, &[u8])> {
    let n = *payload.first()? as usize;
    let name = core::str::from_utf8(payload.get(1..1 + n)?).ok()?;
    Some((name, &payload[1 + n..]))
}

/// The answer to a request: a status (0, or an errno), `key=value`
/// fields, and free text (a verifier report, a table).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reply {
    pub status: i32,
    pub fields: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    /// The value of field `key`.
    pub fn field(&self, key: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The reply as an `OP_REPLY` frame. Fields must not contain newlines
    /// (they are replaced by spaces).
    pub fn to_frame(&self) -> Frame {
        let mut text = String::new();
        for (k, v) in &self.fields {
            text.push_str(k);
            text.push('=');
            text.extend(v.chars().map(|c| if c == '\n' { ' ' } else { c }));
            text.push('\n');
        }
        text.push('\n');
        text.push_str(&self.body);
        let mut payload = Vec::with_capacity(4 + text.len());
        payload.extend_from_slice(&self.status.to_le_bytes());
        payload.extend_from_slice(text.as_bytes());
        Frame::new(OP_REPLY, payload)
    }

    /// The reply carried by an `OP_REPLY` frame.
    pub fn from_frame(frame: &Frame) -> Option<Reply> {
        if frame.op != OP_REPLY || frame.payload.len() < 4 {
            return None;
        }
        let status = i32::from_le_bytes([frame.payload[0], frame.payload[1], frame.payload[2], frame.payload[3]]);
        let text = String::from_utf8_lossy(&frame.payload[4..]);
        let (head, body) = match text.strip_prefix('\n') {
            Some(body) => ("", body),
            None => text.split_once("\n\n").unwrap_or((text.trim_end_matches('\n'), "")),
        };
        let fields = head
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (String::from(k), String::from(v)))
            .collect();
        Some(Reply { status, fields, body: String::from(body) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn frames_survive_noise_and_split_reads() {
        let a = Frame::new(OP_LOAD, load_payload("hello.wm", b"\x7fLKM..."));
        let b = Frame::new(OP_STAT, vec![]);
        let mut line = b"garbage WLK".to_vec();
        line.extend(a.to_bytes());
        line.extend(b"\r\n");
        line.extend(b.to_bytes());
        let mut d = Decoder::new();
        let mut got = vec![];
        for chunk in line.chunks(5) {
            d.push(chunk);
            while let Some(f) = d.next_frame() {
                got.push(f.unwrap());
            }
        }
        assert_eq!(got, vec![a.clone(), b]);
        assert_eq!(split_load_payload(&got[0].payload), Some(("hello.wm", &b"\x7fLKM..."[..])));
    }

    #[test]
    fn a_damaged_frame_is_reported_and_the_next_one_still_arrives() {
        let mut bad = Frame::new(OP_UNLOAD, b"rtc".to_vec()).to_bytes();
        bad[13] ^= 1;
        let good = Frame::new(OP_UNLOAD, b"kvfs".to_vec());
        let mut d = Decoder::new();
        d.push(&bad);
        d.push(&good.to_bytes());
        assert_eq!(d.next_frame(), Some(Err(ChanError::BadCheck)));
        assert_eq!(d.next_frame(), Some(Ok(good)));
        assert_eq!(d.next_frame(), None);
        let mut huge = Frame::new(OP_LOAD, vec![]).to_bytes();
        huge[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        d.push(&huge);
        assert_eq!(d.next_frame(), Some(Err(ChanError::TooLong(u32::MAX, MAX_PAYLOAD))));
        let mut small = Decoder::with_limit(2);
        small.push(&Frame::new(OP_UNLOAD, b"rtc".to_vec()).to_bytes());
        assert_eq!(small.next_frame(), Some(Err(ChanError::TooLong(3, 2))));
    }

    #[test]
    fn replies_round_trip() {
        let r = Reply {
            status: 22,
            fields: vec![("what".into(), "refused\nby the kernel".into()), ("id".into(), "3".into())],
            body: "error[port]: x\n --> insn 7\n\nmore".into(),
        };
        let back = Reply::from_frame(&r.to_frame()).unwrap();
        assert_eq!(back.status, 22);
        assert_eq!(back.field("what"), Some("refused by the kernel"));
        assert_eq!(back.field("id"), Some("3"));
        assert_eq!(back.body, r.body);
        let empty = Reply::from_frame(&Reply::default().to_frame()).unwrap();
        assert_eq!(empty, Reply::default());
        let table = Reply { body: "Type Id\nMISC 0\n".into(), ..Reply::default() };
        assert_eq!(Reply::from_frame(&table.to_frame()).unwrap(), table);
    }
}
