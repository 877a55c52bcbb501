; A call to a helper id that does not exist.
; module: bogus_nohelper
; class: misc
; rule: unknown-helper
; entry: load
    call 999
    r0 = 0
    exit
