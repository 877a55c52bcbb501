; A write to the read-only frame pointer r10.
; module: bogus_fp
; class: misc
; rule: frame-pointer-write
; entry: load
    r10 = 0
    r0 = 0
    exit
