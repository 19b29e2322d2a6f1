# A global declaration in a function makes the module's own code use the
# global, as CPython's compiler does; the values are the same either way.
total = 0
names = []


def add(n):
    global total
    total += n
    names.append(n)


add(3)
add(4)
print(total, names)


def reset():
    global total, names
    total = 0
    names = []


reset()
print(total, names)
global late
late = "declared at module level"
print(late)


def rebind():
    global late
    del late
    late = "rebound"


rebind()
print(late)
