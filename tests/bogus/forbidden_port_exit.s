; A driver declaring QEMU's exit device (0xf4): the verifier accepts the
; program (the port is declared), the kernel refuses the grant.
; module: bogus_exitport
; class: dev bogusexit
; port: 0xf4 1
; refused-by: kernel
; entry: write
    r1 = 0xf4
    r2 = 0x10
    call 14
    r0 = 0
    exit
