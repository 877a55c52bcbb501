; A system call (the next free slot) that counts its calls with atomics, so
; that the count stays exact when processes on several CPUs call it at the
; same time: `syscall(N, 0)` counts the call and returns 0, `syscall(N, 1)`
; returns the count so far, `syscall(N, 2)` how many calls found another
; call inside the module when they entered (only a call on another CPU can
; be: module code never nests on one CPU). Each counting call spins a
; little inside, so that calls from several CPUs overlap.
; module: cpucount
; class: syscall next
; map: array 24 1
; entry: call
    r6 = r1
    r7 = 0
    *(u32 *)(r10 - 4) = r7
    r1 = map[0] ll
    r2 = r10
    r2 += -4
    call 6
    if r0 == 0 goto fail
    r8 = *(u64 *)(r6 + 8)
    if r8 == 1 goto count
    if r8 == 2 goto overlaps
    r1 = 1
    lock *(u64 *)(r0 + 0) += r1
    r1 = 1
    r1 = atomic_fetch_add((u64 *)(r0 + 8), r1)
    if r1 == 0 goto spin
    r2 = 1
    lock *(u64 *)(r0 + 16) += r2
spin:
    r3 = 2000
again:
    r3 += -1
    if r3 != 0 goto again
    r1 = -1
    lock *(u64 *)(r0 + 8) += r1
    r0 = 0
    exit
count:
    r0 = *(u64 *)(r0 + 0)
    exit
overlaps:
    r0 = *(u64 *)(r0 + 16)
    exit
fail:
    r0 = -12
    exit
