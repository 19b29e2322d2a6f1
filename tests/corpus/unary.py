# Unary minus, plus and not, on ints, floats and bools; bool arithmetic.
x = 5
print(-x, +x, - -x, -(-x), --x, -+-x)
print(-2.5, +2.5, -0.0, -(1 - 1))
print(True + True, True * 3, -True, +False, True - 1)
print(not True, not not True, not x, not -x)
y = -x * -2
print(y, -y // 3, -(y % 7))
print(1 - -1, 1 + -1, 1 - +1)
print(True == 1, False == 0, True is True, 1.0 == True)
