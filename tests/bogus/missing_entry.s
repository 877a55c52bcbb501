; A system-call module with no program at all: its `call` entry is required.
; module: bogus_missing
; class: syscall next
; image-error: `call`
