; A loop that never ends.
; module: bogus_loop
; class: misc
; rule: infinite-loop
; entry: load
    r0 = 0
again:
    goto again
