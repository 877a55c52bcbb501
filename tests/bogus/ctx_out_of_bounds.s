; A read past the end of the context (LoadCtx is one 4-byte field).
; module: bogus_ctx
; class: misc
; rule: context-access
; entry: load
    r0 = *(u32 *)(r1 + 64)
    exit
