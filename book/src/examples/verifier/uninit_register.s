; A register read before anything was written to it.
; module: book_uninit
; class: misc
; rule: uninit-register
; entry: load
    r0 = r2
    exit
