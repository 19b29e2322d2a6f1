# Loops with accumulators: the shape of the lab's CPU workloads.
def collatz_steps(n):
    steps = 0
    while n != 1:
        if n % 2 == 0:
            n = n // 2
        else:
            n = 3 * n + 1
        steps += 1
    return steps
best = 0
arg = 0
for i in range(1, 3000):
    s = collatz_steps(i)
    if s > best:
        best = s
        arg = i
print(arg, best)
def primes(limit):
    sieve = [True] * limit
    sieve[0] = False
    sieve[1] = False
    out = []
    for i in range(2, limit):
        if sieve[i]:
            out.append(i)
            j = i * i
            while j < limit:
                sieve[j] = False
                j += i
    return out
p = primes(200)
print(len(p), p[len(p) - 5], p[0])
checksum = 0
for i in range(10000):
    checksum = (checksum * 31 + i) % 1000003
print(checksum)
