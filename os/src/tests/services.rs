//! The log ring.

use crate::ktest::TestResult;
use crate::{ensure, ensure_eq, kernel_test, klog};

fn log_lines_reach_the_ring() -> TestResult {
    let start = klog::end();
    log::info!("ktest ring marker 4711");
    let mut buf = [0u8; 256];
    let read = klog::read(start, &mut buf);
    let text = core::str::from_utf8(&buf[..read.len]).map_err(|_| "log text is not UTF-8")?;
    ensure!(text.contains("info: ktest ring marker 4711\n"), "ring holds {text:?}");
    ensure_eq!(read.lost, 0);
    ensure_eq!(klog::read(read.next, &mut buf).len, 0);
    Ok(())
}
kernel_test!(log_lines_reach_the_ring);

fn ring_keeps_the_newest_text() -> TestResult {
    let start = klog::end();
    for i in 0..(klog::RING_CAPACITY / 32 + 10) {
        log::trace!("filler line {i:08}");
    }
    let mut buf = [0u8; 64];
    let read = klog::read(start, &mut buf);
    ensure!(read.lost > 0, "nothing reported lost after overflowing the ring");
    ensure_eq!(read.next, start + read.lost + read.len as u64);
    Ok(())
}
kernel_test!(ring_keeps_the_newest_text);

fn positions_past_the_end_read_nothing() -> TestResult {
    let mut buf = [0u8; 16];
    for pos in [klog::end() + 1, u64::MAX] {
        let read = klog::read(pos, &mut buf);
        ensure_eq!(read.len, 0);
        ensure_eq!(read.lost, 0);
        ensure!(read.next <= klog::end(), "next {} beyond the end", read.next);
    }
    Ok(())
}
kernel_test!(positions_past_the_end_read_nothing);
