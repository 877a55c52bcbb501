; The module that takes the verifier longest to accept: the image of the
; kernel's verifier pressure campaign (`vp_five`, os/src/lkm/tests/pressure.rs)
; that once panicked the kernel. Five vfs programs, each a loop of 2,500
; rounds that forks twice per round on a value read from the context and
; keeps a different amount of stack alive (512, 384, 256, 128 and 64 bytes:
; five size classes of the heap), so every round leaves pending paths and
; stored states behind. The verifier accepts it after about 220,000
; instructions processed: seconds under QEMU's emulation, during which
; other programs keep running (tests/scenarios/verify_responsive.scn).
; module: slowverify
; class: vfs slowverify
; entry: lookup
    r6 = r1
    r7 = 0
    *(u64 *)(r10 - 512) = 0
loop:
    r0 = *(u64 *)(r6 + 0)
    if r0 > 5 goto a
    r8 = 1
a:
    if r0 > 7 goto b
    r8 = 2
b:
    r7 += 1
    if r7 < 2500 goto loop
    r0 = 0
    exit
; entry: getattr
    r6 = r1
    r7 = 0
    *(u64 *)(r10 - 384) = 0
loop:
    r0 = *(u64 *)(r6 + 0)
    if r0 > 5 goto a
    r8 = 1
a:
    if r0 > 7 goto b
    r8 = 2
b:
    r7 += 1
    if r7 < 2500 goto loop
    r0 = 0
    exit
; entry: readdir
    r6 = r1
    r7 = 0
    *(u64 *)(r10 - 256) = 0
loop:
    r0 = *(u64 *)(r6 + 0)
    if r0 > 5 goto a
    r8 = 1
a:
    if r0 > 7 goto b
    r8 = 2
b:
    r7 += 1
    if r7 < 2500 goto loop
    r0 = 0
    exit
; entry: read
    r6 = r1
    r7 = 0
    *(u64 *)(r10 - 128) = 0
loop:
    r0 = *(u64 *)(r6 + 0)
    if r0 > 5 goto a
    r8 = 1
a:
    if r0 > 7 goto b
    r8 = 2
b:
    r7 += 1
    if r7 < 2500 goto loop
    r0 = 0
    exit
; entry: write
    r6 = r1
    r7 = 0
    *(u64 *)(r10 - 64) = 0
loop:
    r0 = *(u64 *)(r6 + 0)
    if r0 > 5 goto a
    r8 = 1
a:
    if r0 > 7 goto b
    r8 = 2
b:
    r7 += 1
    if r7 < 2500 goto loop
    r0 = 0
    exit
