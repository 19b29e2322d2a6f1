# A constant string indexed as an assignment target is not folded away.
x = "abc"[1]
print(x)
"abc"[0] = 4
