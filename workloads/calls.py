# calls.py -- function calls and integer arithmetic: frames, argument passing and
# returns dominate, the shape of ordinary Python code (unlike count.py's single
# loop). calls(n) returns a checksum that python3 and gillab agree on.
#   gillab run workloads/calls.py --entry calls --arg 100000


def gcd(a, b):
    while b != 0:
        t = a % b
        a = b
        b = t
    return a


def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def square(x):
    return x * x


def mix(i):
    return gcd(i, 360) + fib(i % 8) + square(i % 100)


def calls(n):
    total = 0
    for i in range(n):
        total = (total * 31 + mix(i)) % 1000000007
    return total


if __name__ == "__main__":
    print("calls(100000) =", calls(100000))
