; A store into a read-only context field.
; module: bogus_ctxw
; class: misc
; rule: context-access
; entry: load
    *(u32 *)(r1 + 0) = 7
    r0 = 0
    exit
