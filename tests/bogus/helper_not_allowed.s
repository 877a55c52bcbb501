; A misc module calling inb, a helper only device drivers may call.
; module: bogus_helper
; class: misc
; rule: unknown-helper
; entry: load
    r1 = 0x70
    call 13
    r0 = 0
    exit
