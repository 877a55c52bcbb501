; A wrapper around ioctl(2) (system call 5) that only chains to it: harmless
; as written, yet refused. ioctl(2) is on the path from a shell to /dev/lkm,
; and the kernel lets no module replace a call on that path (a broken
; wrapper could keep the superuser from ever unloading it; see
; docs/modules.md, "Lock-out rule"). The verifier accepts the program: only
; the kernel's policy refuses it, with EPERM.
; module: bogus_ioctl
; class: syscall 5
; refused-by: kernel
; entry: call
    r0 = 0x8000000000000000 ll
    exit
