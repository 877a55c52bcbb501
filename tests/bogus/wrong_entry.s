; A misc module with a program for `read`, which misc modules do not have.
; module: bogus_entry
; class: misc
; image-error: no entry point `read`
; entry: read
    r0 = 0
    exit
