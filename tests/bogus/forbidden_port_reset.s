; A driver declaring the keyboard controller (0x64, whose command 0xfe
; resets the machine): refused by the kernel's allowlist.
; module: bogus_kbdport
; class: dev boguskbd
; port: 0x64 1
; refused-by: kernel
; entry: write
    r1 = 0x64
    r2 = 0xfe
    call 14
    r0 = 0
    exit
