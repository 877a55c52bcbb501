; A read past the end of an 8-byte map value.
; module: bogus_mapoob
; class: misc
; map: array 8 1
; rule: out-of-bounds
; entry: load
    *(u32 *)(r10 - 4) = 0
    r1 = map[0] ll
    r2 = r10
    r2 += -4
    call 6
    if r0 == 0 goto out
    r1 = *(u64 *)(r0 + 8)
out:
    r0 = 0
    exit
