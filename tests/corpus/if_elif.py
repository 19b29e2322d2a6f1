# if / elif / else chains, nested conditions, conditions of every type.
def classify(n):
    if n < 0:
        return "neg"
    elif n == 0:
        return "zero"
    elif n < 10:
        return "small"
    elif n < 100:
        return "medium"
    else:
        return "large"
for v in [-5, 0, 3, 42, 1000]:
    print(v, classify(v))
for v in [0, 1, "", "a", [], [0], None, 0.0, 0.5, True, False]:
    if v:
        print("truthy", v)
    else:
        print("falsy", v)
x = 5
if x > 3:
    if x > 4:
        if x > 5:
            print("gt5")
        else:
            print("is5")
if x == 5: print("one-line if")
if x != 5: print("no")
else: print("one-line else")
