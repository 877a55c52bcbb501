; A read of stack bytes never written.
; module: book_stack
; class: misc
; rule: uninit-stack
; entry: load
    r0 = *(u64 *)(r10 - 8)
    exit
