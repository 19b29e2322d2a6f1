# Python's floor semantics for // and % with every sign combination.
for a in [7, -7, 0, 1, -1, 13, -13]:
    for b in [2, -2, 3, -3, 1, -1, 7]:
        print(a, b, a // b, a % b, (a // b) * b + a % b == a)
print(-5 // 2, -5 % 2, 5 // -2, 5 % -2, -5 // -2, -5 % -2)
x = -17
x //= 5
print(x)
x = -17
x %= 5
print(x)
