# Closures: nested functions reading free variables, a parameter kept alive in
# a cell, closures made in a loop, and functions returned as values.
def adder(n):
    def add(x):
        return x + n
    return add


def compose(f, g):
    def h(x):
        return f(g(x))
    return h


add2 = adder(2)
add10 = adder(10)
print(add2(1), add10(1), compose(add2, add10)(5))

makers = []
for i in range(4):
    makers.append(adder(i * 100))
out = []
for m in makers:
    out.append(m(1))
print(out)


def outer():
    x = "outer x"
    def middle():
        def inner():
            return x + "!"
        return inner
    return middle()


print(outer()())


def late():
    fs = []
    for k in range(3):
        def show():
            return k
        fs.append(show)
    return [fs[0](), fs[1](), fs[2]()]


print(late())


def fib_memo():
    memo = [0, 1]
    def fib(n):
        while len(memo) <= n:
            memo.append(memo[-1] + memo[-2])
        return memo[n]
    return fib


f = fib_memo()
print(f(10), f(30), f(5))


def recursive():
    def fact(n):
        if n <= 1:
            return 1
        return n * fact(n - 1)
    return fact(10)


print(recursive())
