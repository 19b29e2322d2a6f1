# Chained comparisons evaluate the middle operand once and stop early.
calls = [0]
def mid(v):
    calls[0] += 1
    return v
print(1 < 2 < 3, 1 < 3 < 2, 3 > 2 > 1 > 0, 1 <= 1 < 2 <= 2)
print(1 < mid(5) < 10, calls[0])
print(1 > mid(5) < 10, calls[0])
a = 5
if 0 <= a < 10:
    print("in range")
if not 0 <= a < 3:
    print("not in small range")
print(1 == 1 == 1, 1 == 1 != 1, 2 != 3 != 2)
print(1 < 2 > 0 < 5 > 4)
