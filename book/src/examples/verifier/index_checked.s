; The same table, with the bound checked first: on the branch where
; `r6 < 16` holds, the verifier knows r6 is in [0, 15], so the offset
; r6 * 8 is in [0, 120] and the 8-byte load stays inside the 128-byte value.
; module: book_index_ok
; class: syscall next
; map: array 128 1
; rule: none
; entry: call
    r6 = *(u64 *)(r1 + 8)
    *(u32 *)(r10 - 4) = 0
    r1 = map[0] ll
    r2 = r10
    r2 += -4
    call 6
    if r0 == 0 goto out
    if r6 >= 16 goto out
    r6 <<= 3
    r0 += r6
    r0 = *(u64 *)(r0 + 0)
    exit
out:
    r0 = 0
    exit
