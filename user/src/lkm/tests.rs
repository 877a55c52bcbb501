use super::*;
use ::lkm::{ClassParams, Image, ProgramImage};
use alloc::vec;

fn image() -> Image {
    Image {
        name: "rtc".into(),
        params: ClassParams::Dev { major: 0, name: "rtc".into() },
        programs: vec![ProgramImage { entry: "read".into(), code: vec![0; 16] }],
        maps: vec![],
        rodata: vec![],
        ports: vec![],
        lines: None,
    }
}

#[test]
fn reserve_name_comes_from_the_header_or_the_file() {
    let bytes = image().to_bytes();
    assert_eq!(header_name(&bytes), Some("rtc"));
    assert_eq!(reserve_name("/modules/bogus/x.lkm", &bytes), "rtc");
    assert_eq!(reserve_name("/modules/bogus/truncated.lkm", &bytes[..8]), "truncated");
    assert_eq!(reserve_name("junk", b"\x7fLKM\x01\x00\x00\x00\xff"), "junk");
    let long = "a".repeat(40) + ".lkm";
    assert_eq!(reserve_name(&long, b"").len(), lkm::MAXLKMNAME);
}

#[test]
fn stat_rows_line_up_with_the_classic_header() {
    let s = LmcStat {
        id: 3,
        class: lkm::class::LM_DEV as u32,
        name: ioctl::name_field("rtc").unwrap(),
        offset: 32,
        area: 0xffff_ffff_c000_2000,
        size: 0x1a0,
        private: 32,
        ver: 1,
        ..Default::default()
    };
    let row = stat_row(&s);
    assert_eq!(row, "DEV       3  32 ffffffffc0002000 01a0   32   1 rtc");
    let header = stat_header();
    assert_eq!(header.find("Loadaddr"), row.find("ffff"));
    for col in ["Id", "Off", "Size", "Info", "Rev"] {
        let end = header.find(col).unwrap() + col.len();
        let cell_end = row[..end].trim_end().len();
        assert_eq!(cell_end, end, "column {col} ends at {end} in {header:?} and {row:?}");
    }
    assert_eq!(header.find("Module Name"), row.find("rtc"));
    let hidden = stat_row(&LmcStat { area: 0, ..s });
    assert_eq!(hidden, "DEV       3  32 -                01a0   32   1 rtc");
    let failed = LmcStat { flags: ioctl::LMSTAT_FAILED, ..s };
    assert!(stat_row(&failed).ends_with(" rtc (FAILED: its code faulted or kept running out of time; unload it)"), "{}", stat_row(&failed));
}

#[test]
fn statv_lists_programs_and_maps_with_entry_counts() {
    let mut v = LmcStatv {
        id: 0,
        nprogs: 1,
        nmaps: 1,
        code_size: 96,
        runs: 4,
        out_of_fuel: 2,
        longest_run_ns: 25_400,
        rejected: 3,
        ..Default::default()
    };
    v.progs[0].entry[..4].copy_from_slice(b"read");
    v.progs[0].slots = 12;
    v.progs[0].code_size = 96;
    v.maps[0].name = ioctl::name_field("ticks").unwrap();
    v.maps[0].kind = 0;
    v.maps[0].key_size = 4;
    v.maps[0].value_size = 8;
    v.maps[0].max_entries = 1;
    v.maps[0].entries = 1;
    let lines = statv_lines(&v);
    assert_eq!(
        lines,
        vec![
            "        code: 96 bytes, 4 runs".to_string(),
            "        time: longest run 25 us, 2 runs out of budget".to_string(),
            "        checks: 3 values out of range refused (see dmesg)".to_string(),
            "        program read        12 insns     96 bytes".to_string(),
            "        map ticks array<8>[1]: 1 entries".to_string(),
        ]
    );
    v.state = ioctl::LKM_STATE_FAILED;
    assert!(statv_lines(&v)[0].contains("FAILED"));
}

#[test]
fn errors_name_the_problem_and_the_fix() {
    let f = explain(Step::Open { write: true }, Errno::EACCES, DEV_LKM);
    assert_eq!(
        f.render("modload"),
        "modload: error: /dev/lkm: permission denied (EACCES)\n\
         modload: help: only the superuser may load and unload modules (try `su`)\n"
    );
    let f = explain(Step::Reserve, Errno::EEXIST, "rtc");
    assert!(f.render("modload").contains("a module named `rtc` is already loaded (EEXIST)"));
    let f = explain(Step::Unload, Errno::EBUSY, "module `rtc`");
    assert!(f.render("modunload").contains("module `rtc` is in use (EBUSY)"));
}

#[test]
fn an_unload_refusal_shows_the_kernels_reason() {
    let text = "error: module `wrapwrite` is in use\n  \
                = note: module `countwrite` was loaded on system call 2 after it and chains through it\n  \
                = help: unload `countwrite` first";
    let f = refusal(Step::Unload, Errno::EBUSY, "module `wrapwrite`", text);
    assert_eq!(
        f.render("modunload"),
        "modunload: error: module `wrapwrite` is in use (EBUSY)\n  \
         = note: module `countwrite` was loaded on system call 2 after it and chains through it\n  \
         = help: unload `countwrite` first\n"
    );
}

#[test]
fn an_unload_refusal_without_the_kernels_help_keeps_ours() {
    let f = refusal(Step::Unload, Errno::EBUSY, "module `rtc`", "error: module `rtc` is in use\n  = note: /dev/rtc is open\n");
    let text = f.render("modunload");
    assert!(text.starts_with("modunload: error: module `rtc` is in use (EBUSY)\n  = note: /dev/rtc is open\nmodunload: help: close"), "{text}");
    // No text (an old kernel, an id that names nothing): the errno explained.
    let f = refusal(Step::Unload, Errno::ENOENT, "module `rtc`", "");
    assert_eq!(f, explain(Step::Unload, Errno::ENOENT, "module `rtc`"));
    // Text cut at the buffer's end, or not in the kernel's form: shown under our line.
    let f = refusal(Step::Unload, Errno::EBUSY, "module `rtc`", "a call is in prog");
    assert!(f.render("modunload").starts_with("modunload: error: module `rtc` is in use (EBUSY)\na call is in prog\n"));
}

#[test]
fn map_entries_show_every_cpus_value_and_their_sum() {
    let mut values = Vec::new();
    for v in [3u64, 4, 0] {
        values.extend_from_slice(&v.to_le_bytes());
    }
    assert_eq!(map_entry_line(0, 8, &values, true), "        [0] cpu0 3 cpu1 4 cpu2 0 (sum 7)");
    assert_eq!(map_entry_line(2, 8, &values[..8], false), "        [2] 3");
    assert_eq!(map_entry_line(1, 3, &[1, 2, 0xff, 0, 0, 1], true), "        [1] cpu0 0102ff cpu1 000001");
    assert_eq!(map_entry_line(1, 2, &[0x34, 0x12], true), "        [1] cpu0 4660 (sum 4660)");
}
