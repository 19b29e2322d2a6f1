# Functions: positional parameters, return values, calls in expressions.
def add(a, b):
    return a + b
def nothing():
    pass
def early(x):
    if x > 0:
        return "positive"
    elif x < 0:
        return "negative"
    return "zero"
def many(a, b, c, d, e, f):
    return a - b + c - d + e - f
def compose(x):
    return add(add(x, 1), add(x, 2))
print(add(2, 3), add("a", "b"), add([1], [2]))
print(nothing(), early(5), early(-5), early(0))
print(many(1, 2, 3, 4, 5, 6), compose(10))
def gcd(a, b):
    while b != 0:
        t = b
        b = a % b
        a = t
    return a
print(gcd(48, 18), gcd(17, 5), gcd(0, 9))
f = add
print(f(1, 1), f is add)
def loop_return(n):
    for i in range(n):
        for j in range(n):
            if i * j == 6:
                return [i, j]
    return None
print(loop_return(5), loop_return(2))
