; A loop that never ends.
; module: book_loop
; class: misc
; rule: infinite-loop
; entry: load
    r0 = 0
again:
    goto again
