; A loop of two million rounds: more than the verifier's budget of
; instructions processed.
; module: bogus_complex
; class: misc
; rule: too-complex
; entry: load
    r0 = 0
    r1 = 0
loop:
    r1 += 1
    if r1 < 2000000 goto loop
    exit
