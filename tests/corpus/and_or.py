# and/or return one of their operands, not a bool.
print(1 and 2, 0 and 2, 1 or 2, 0 or 2, None or "x", "" or 0, [] or [1])
print(0 and 1/0, 1 or 1/0)
print(not 0, not 1, not [], not [0], not None, not "")
x = 3
y = x > 2 and "big" or "small"
print(y)
print(None and 1, False or None, True and True and 7, 0 or 0 or 9)
if x and not x - 3:
    print("x is 3")
while x and x > 0:
    x -= 1
print(x)
