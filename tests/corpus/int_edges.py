# Ints at the 64-bit edges, built by arithmetic (no literal beyond the range).
big = 9223372036854775807
small = -9223372036854775807 - 1
print(big, small)
print(big - 1, small + 1, -big)
print(big // 2, small // 2, big % 10, small % 10)
print(big // -1, small // 1, small % -1)
print(small == -big - 1, big > small)
x = 4611686018427387904
print(x - 1 + x)
print(3037000499 * 3037000499)
print(-3037000499 * 3037000499)
print(abs(-big), abs(small + 1))
print(int("9223372036854775807"), int("-9223372036854775808"))
