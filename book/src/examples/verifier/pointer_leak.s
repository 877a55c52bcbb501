; The stack address returned to the kernel: a pointer leaving the program.
; module: book_leak
; class: misc
; rule: pointer-leak
; entry: load
    r0 = r10
    exit
