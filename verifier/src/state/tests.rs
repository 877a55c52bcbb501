//! Tests of states: what the verbose log prints, stack offsets and slots,
//! when one state covers another (values, links, stack bytes) or is the
//! same, and what a state is counted at for the memory limit.

use super::*;

#[test]
fn a_state_prints_what_the_verbose_log_shows() {
    // The running (innermost) frame only: its live registers, then its
    // written slots from fp-8 down, a spill by value and other bytes
    // by kind (? never written, m data, 0 zero).
    let mut state = State { frames: alloc::vec![Frame::new(0, 0, 0), Frame::new(1, 3, 1)] };
    state.set(Reg::R1, Value::ptr(Region::Stack { frame: 1 }, -16));
    state.set(Reg::R2, Value::ptr(Region::MapValue { map: 2 }, 8));
    let frame = state.frames.last_mut().unwrap();
    frame.stack.resize(3, Slot::INVALID);
    frame.stack[0].bytes = [Byte::Zero, Byte::Misc, Byte::Invalid, Byte::Invalid, Byte::Zero, Byte::Zero, Byte::Zero, Byte::Zero];
    frame.stack[2] = Slot::spilled(Value::constant(5), 0);
    assert_eq!(
        alloc::format!("{state}"),
        "frame1: r1=fp1 - 16 r2=map_value(m2) + 8 r10=fp1 + 0 fp-8=0m??0000 fp-24=5"
    );
    // The outermost frame has no frame prefix.
    let outer = State { frames: alloc::vec![Frame::new(0, 0, 0)] };
    assert_eq!(alloc::format!("{outer}"), "r10=fp0 + 0");
}

#[test]
fn stack_offsets_map_to_slots() {
    assert_eq!((slot_index(-1), byte_index(-1)), (0, 7));
    assert_eq!((slot_index(-8), byte_index(-8)), (0, 0));
    assert_eq!((slot_index(-9), byte_index(-9)), (1, 7));
    assert_eq!((slot_index(-512), byte_index(-512)), (63, 0));
}

#[test]
fn uninit_registers_cover_anything_and_ranges_cover_subranges() {
    let old = State { frames: alloc::vec![Frame::new(0, 0, 0)] };
    let mut new = old.try_clone().unwrap();
    new.set(Reg::R1, Value::Scalar(Scalar::range(0, 5)));
    assert!(old.covers(&new, &[0x7ff], &[Exact::ALL], &[Exact::ALL]));
    assert!(!new.covers(&old, &[0x7ff], &[Exact::ALL], &[Exact::ALL]));
    // Dead registers are not compared.
    assert!(new.covers(&old, &[0x7ff & !2], &[Exact::ALL], &[Exact::ALL]));
    let mut wider = new.try_clone().unwrap();
    wider.set(Reg::R1, Value::Scalar(Scalar::range(0, 10)));
    assert!(wider.covers(&new, &[0x7ff], &[Exact::ALL], &[Exact::ALL]));
    assert!(!new.covers(&wider, &[0x7ff], &[Exact::ALL], &[Exact::ALL]));
    // A number whose value does not matter need only be a number.
    assert!(new.covers(&wider, &[0x7ff], &[Exact { regs: !2, slots: 0 }], &[Exact::ALL]));
    let mut ptr = new.try_clone().unwrap();
    ptr.set(Reg::R1, Value::ptr(Region::Ctx, 0));
    assert!(!new.covers(&ptr, &[0x7ff], &[Exact { regs: !2, slots: 0 }], &[Exact::ALL]));
}

#[test]
fn links_are_compared_only_where_they_may_matter() {
    // r1, r2 and a spill are copies in the old state; the new state
    // has them linked apart.
    let n = Value::Scalar(Scalar::range(0, 5));
    let mut old = State { frames: alloc::vec![Frame::new(0, 0, 0)] };
    old.set_linked(Reg::R1, n, 1);
    old.set_linked(Reg::R2, n, 1);
    old.cur_mut().stack.push(Slot::spilled(n, 1));
    let mut new = State { frames: alloc::vec![Frame::new(0, 0, 0)] };
    new.set_linked(Reg::R1, n, 2);
    new.set_linked(Reg::R2, n, 3);
    new.cur_mut().stack.push(Slot::spilled(n, 4));
    let covers = |regs: u16, slots: u64| old.covers(&new, &[0x7ff], &[Exact::ALL], &[Exact { regs, slots }]);
    assert!(!covers(u16::MAX, u64::MAX));
    assert!(covers(0, 0));
    // One copy whose link may matter maps it to its new link; a second
    // must follow, register or slot.
    assert!(covers(1 << 1, 0) && covers(0, 1));
    assert!(!covers(1 << 1 | 1 << 2, 0) && !covers(1 << 2, 1));
}

#[test]
fn a_spilled_pointer_is_not_data() {
    let mut data = Slot::INVALID;
    data.bytes = [Byte::Misc; 8];
    let spill = Slot::spilled(Value::ptr(Region::Ctx, 0), 0);
    let mut ids = Ids::default();
    assert!(!data.covers(&spill, true, true, &mut ids));
    let scalar = Slot::spilled(Value::constant(3), 0);
    assert!(data.covers(&scalar, true, true, &mut ids));
    // A spilled number whose value cannot matter covers any number,
    // never a pointer.
    let other = Slot::spilled(Value::constant(4), 0);
    assert!(!scalar.covers(&other, true, true, &mut ids));
    assert!(scalar.covers(&other, false, true, &mut ids));
    assert!(!scalar.covers(&spill, false, true, &mut ids));
}

#[test]
fn only_a_state_equal_in_every_live_register_and_slot_is_the_same() {
    // `same` tells a loop that comes back unchanged (an infinite loop);
    // the fingerprint only screens, so `same` must see every difference.
    let old = State { frames: alloc::vec![Frame::new(0, 0, 0)] };
    let mut new = old.try_clone().unwrap();
    assert!(old.same(&new, &[0x7ff]));
    new.set(Reg::R2, Value::constant(1));
    assert!(!old.same(&new, &[0x7ff]));
    // A dead register does not count.
    assert!(old.same(&new, &[0x7ff & !(1 << 2)]));
    let mut spilled = old.try_clone().unwrap();
    spilled.frames[0].stack.push(Slot { bytes: [Byte::Zero; 8], spill: Value::Uninit, link: 0 });
    assert!(!old.same(&spilled, &[0x7ff]));
    let mut called = old.try_clone().unwrap();
    called.frames[0].callsite = 3;
    assert!(!old.same(&called, &[0x7ff]));
}

#[test]
fn a_state_is_counted_at_least_at_what_its_frames_and_slots_occupy() {
    // The memory limit rests on this estimate: never below the memory
    // the frames and their slots take, and not far above it.
    let mut state = State { frames: alloc::vec![Frame::new(0, 0, 0), Frame::new(1, 3, 1)] };
    state.frames[1].stack.resize(64, Slot::INVALID);
    let occupied = 2 * core::mem::size_of::<Frame>() + 64 * core::mem::size_of::<Slot>();
    assert!(state.bytes() >= occupied, "{} < {occupied}", state.bytes());
    assert!(state.bytes() <= 2 * occupied, "{} > 2 * {occupied}", state.bytes());
}
