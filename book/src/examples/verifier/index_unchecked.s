; A syscall argument used as an index into a 16-entry table of u64
; without a bound: the verifier sees the offset could be anything.
; module: book_index
; class: syscall next
; map: array 128 1
; rule: out-of-bounds
; entry: call
    r6 = *(u64 *)(r1 + 8)
    *(u32 *)(r10 - 4) = 0
    r1 = map[0] ll
    r2 = r10
    r2 += -4
    call 6
    if r0 == 0 goto out
    r6 <<= 3
    r0 += r6
    r0 = *(u64 *)(r0 + 0)
    exit
out:
    r0 = 0
    exit
