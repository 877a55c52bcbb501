//! A headless Chromium driven over WebDriver, for tests of pages a user
//! opens in a browser (the explorer pages of `modc explain`).
//!
//! Chromium and chromedriver are Debian's packages (`chromium`,
//! `chromium-driver`), installed with apt-get when missing and running as
//! root, as QEMU is. The WebDriver protocol is JSON over HTTP on a local
//! port; the few commands used here (open a page, find, click, read text,
//! run a script, take a screenshot) need no more than one request each,
//! written on a `TcpStream`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{Result, XtaskError};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The key of an element reference in WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Makes sure Chromium and chromedriver are installed: `false`, with a
/// printed notice, when they are not and cannot be (the caller skips).
pub fn ensure_installed() -> bool {
    crate::qemu::ensure_optional(
        &["chromium", "chromium-driver"],
        || Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists(),
        "Chromium or chromedriver was not found",
        "the browser tests are skipped: Chromium is not installed",
    )
}

/// A browser session; dropping it closes the browser and its driver.
pub struct Browser {
    driver: Child,
    port: u16,
    session: String,
    profile: PathBuf,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a fresh profile
    /// in `scratch`, its window `width` × `height`.
    pub fn start(scratch: &Path, width: u32, height: u32) -> Result<Browser> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| XtaskError::new(format!("cannot start {CHROMEDRIVER}: {e}")))?;
        let profile = scratch.join(format!("chromium-profile-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        std::fs::create_dir_all(&profile)?;
        let mut browser = Browser { driver, port, session: String::new(), profile };
        let started = Instant::now();
        while request(port, "GET", "/status", None).is_err() {
            if started.elapsed() > Duration::from_secs(10) {
                return Err(XtaskError::new("chromedriver did not answer within 10 s"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ]
        .map(String::from)
        .into_iter()
        .chain([format!("--user-data-dir={}", browser.profile.display()), format!("--window-size={width},{height}")])
        .collect::<Vec<_>>();
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {"binary": CHROMIUM, "args": args}}}});
        let answer = request(port, "POST", "/session", Some(&caps))?;
        browser.session = answer["sessionId"].as_str().unwrap_or_default().to_string();
        Ok(browser)
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        request(self.port, method, &format!("/session/{}{path}", self.session), body)
    }

    /// Opens `file` and waits until its script set `data-render-ms` on the
    /// body; returns that time (milliseconds from the start of navigation).
    pub fn open(&self, file: &Path) -> Result<f64> {
        let url = format!("file://{}", file.display());
        self.call("POST", "/url", Some(&json!({"url": url})))?;
        let ms = self.script("return document.body.dataset.renderMs || null")?;
        ms.as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| XtaskError::new(format!("{} did not finish drawing (no data-render-ms on its body)", file.display())))
    }

    /// Runs `script` (a function body) in the page and returns its value.
    pub fn script(&self, script: &str) -> Result<Value> {
        self.call("POST", "/execute/sync", Some(&json!({"script": script, "args": []})))
    }

    /// Clicks the first element matching `css`.
    pub fn click(&self, css: &str) -> Result<()> {
        let id = self.find(css)?;
        self.call("POST", &format!("/element/{id}/click"), Some(&json!({})))?;
        Ok(())
    }

    /// The text of the first element matching `css`, as displayed.
    pub fn text(&self, css: &str) -> Result<String> {
        let id = self.find(css)?;
        Ok(self.call("GET", &format!("/element/{id}/text"), None)?.as_str().unwrap_or_default().to_string())
    }

    fn find(&self, css: &str) -> Result<String> {
        let v = self.call("POST", "/element", Some(&json!({"using": "css selector", "value": css})))?;
        v[ELEMENT].as_str().map(String::from).ok_or_else(|| XtaskError::new(format!("no element matches `{css}`")))
    }

    /// A PNG of the window.
    pub fn screenshot(&self) -> Result<Vec<u8>> {
        let v = self.call("GET", "/screenshot", None)?;
        decode_base64(v.as_str().unwrap_or_default()).ok_or_else(|| XtaskError::new("the screenshot is not base64"))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.call("DELETE", "", None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// One WebDriver command: its `value`, or the driver's error as an error.
fn request(port: u16, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let (head, body) = read_answer(&mut stream)?;
    let text = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") { unchunk(&body) } else { body };
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| XtaskError::new(format!("chromedriver answered {method} {path} with something else than JSON ({e})")))?;
    let value = v["value"].clone();
    if let Some(error) = value["error"].as_str() {
        return Err(XtaskError::new(format!("{method} {path}: {error}: {}", value["message"].as_str().unwrap_or_default())));
    }
    Ok(value)
}

/// An HTTP answer's head and body. The driver may keep the connection
/// open, so the body ends where its length (or its last chunk) says.
fn read_answer(stream: &mut TcpStream) -> Result<(String, String)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    loop {
        let n = stream.read(&mut chunk)?;
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let lower = head.to_ascii_lowercase();
            let length = lower.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse::<usize>().ok());
            let done = match length {
                Some(len) => body.len() >= len,
                None => !lower.contains("transfer-encoding: chunked") || body.ends_with("0\r\n\r\n"),
            };
            if done || n == 0 {
                return Ok((head.to_string(), body.to_string()));
            }
        }
        if n == 0 {
            return Err(XtaskError::new("chromedriver closed the connection without an answer"));
        }
    }
}

/// The body of a chunked HTTP answer.
fn unchunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}

/// Standard base64 (with padding) to bytes.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes().filter(|&c| c != b'=' && !c.is_ascii_whitespace()) {
        acc = (acc << 6 | digit(c)? as u32) & 0xffff;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_and_chunks_decode() {
        assert_eq!(decode_base64("aGVsbG8gd29ybGQ=").as_deref(), Some(&b"hello world"[..]));
        assert_eq!(decode_base64("iVBORw0KGgo=").as_deref(), Some(&b"\x89PNG\r\n\x1a\n"[..]));
        assert_eq!(decode_base64("a*b"), None);
        assert_eq!(unchunk("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"), "hello world");
    }
}
