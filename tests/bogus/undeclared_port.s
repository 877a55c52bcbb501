; A driver reading port 0x71, but declaring only 0x70.
; module: bogus_port
; class: dev bogusport
; port: 0x70 1
; rule: port
; entry: read
    r1 = 0x71
    call 13
    r0 = 0
    exit
