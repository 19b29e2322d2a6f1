"""Constant folding: what CPython 3.8's compiler folds, gillab folds too
(gillab dis shows the same constants); the values are what Python computes."""
HALF = 7 // 2
NEG = -7 // 2
MOD = -7 % 3
REP = "ab" * 3
CAT = "con" + "cat"
NEST = -(-(5))
NOT0 = not 0
IDX = "python"[2] + "python"[-1]
DIV = 1 / 4
MIX = 2 * 3.5 + 1
BIG = "x" * 5000
print(HALF, NEG, MOD, REP, CAT, NEST, NOT0, IDX, DIV, MIX, len(BIG))


def consts():
    "a docstring is not code"
    "this string is a statement, and no code either"
    42
    values = []
    for v in [1, 2.5, "three", None, True, -4]:
        values.append(v)
    for w in [HALF, NEG]:
        values.append(w)
    return values


print(consts())


def dead_code(x):
    if 0:
        print("never")
    if 1:
        x += 1
    else:
        print("never either")
    while 0:
        print("nor this")
    if x and True:
        return x
    return -1


print(dead_code(1), dead_code(-1))
