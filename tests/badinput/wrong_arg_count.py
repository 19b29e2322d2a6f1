def f(n):
    return n
f(1, 2)
