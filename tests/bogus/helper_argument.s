; emit given a number where it needs memory to read.
; module: bogus_harg
; class: exec
; rule: helper-argument
; entry: probe
    r1 = 0
    r2 = 8
    call 9
    r0 = 0
    exit
