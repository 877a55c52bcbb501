; A store below the 512-byte stack.
; module: bogus_stackoob
; class: misc
; rule: out-of-bounds
; entry: load
    *(u64 *)(r10 - 520) = 0
    r0 = 0
    exit
