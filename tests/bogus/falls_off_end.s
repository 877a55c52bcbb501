; The last instruction is not exit: execution could run past the end.
; module: bogus_falloff
; class: misc
; rule: falls-off-end
; entry: load
    r0 = 0
