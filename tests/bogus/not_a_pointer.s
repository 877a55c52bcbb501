; A load through a number.
; module: bogus_scalar
; class: misc
; rule: not-a-pointer
; entry: load
    r1 = 4096
    r0 = *(u64 *)(r1 + 0)
    exit
