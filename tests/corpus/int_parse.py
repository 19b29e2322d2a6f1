# int() of strings in every base Python accepts, and repr().
for pair in [["ff", 16], ["0xff", 0], ["0o17", 0], ["0b101", 0], ["  -0x_1f ", 16], ["1_000", 10],
             ["00", 0], ["z", 36], ["12", 3], ["+7", 8], ["-0b11", 0], ["0b11", 16]]:
    s = pair[0]
    b = pair[1]
    print(repr(s), b, int(s, b))
print(int("7fffffffffffffff", 16), int("-8000000000000000", 16))
print(repr(1), repr(1.0), repr("a'b"), repr([1, "x"]), repr(None), str(repr("q")))
