; A map of 65536 entries of 64 KiB (4 GiB): over the per-module budget.
; module: bogus_budget
; class: misc
; map: array 65536 65536
; refused-by: kernel
; entry: load
    r0 = 0
    exit
