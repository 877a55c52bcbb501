; A reference to map 3 in an image that declares none.
; module: bogus_nomap
; class: misc
; rule: unknown-map
; entry: load
    r1 = map[3] ll
    r0 = 0
    exit
