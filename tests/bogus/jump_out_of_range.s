; A jump past the end of the program.
; module: bogus_jump
; class: misc
; rule: jump-out-of-range
; entry: load
    r0 = 0
    goto +5
    exit
