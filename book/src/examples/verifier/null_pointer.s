; A map value used without checking map_lookup's result for NULL.
; module: book_null
; class: misc
; map: array 8 1
; rule: null-pointer
; entry: load
    *(u32 *)(r10 - 4) = 0
    r1 = map[0] ll
    r2 = r10
    r2 += -4
    call 6
    r0 = *(u64 *)(r0 + 0)
    r0 = 0
    exit
