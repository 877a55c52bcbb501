; r0 = 0x12345678 + 1 + 2 + ... + 10
    r0 = 0x12345678
    r1 = 1
again:
    r0 += r1
    r1 += 1
    if r1 <= 10 goto again
    exit
