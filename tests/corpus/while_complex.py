# while loops with compound conditions and nested breaks/continues.
i = 0
j = 10
while i < j and (i % 7 != 6 or j > 100):
    i += 1
    j -= 1
print(i, j)
n = 0
found = []
while n < 50:
    n += 1
    if n % 3 == 0:
        continue
    if n % 5 == 0 and n % 2 == 0:
        found.append(n)
    if len(found) == 3:
        break
print(n, found)
a = 0
while not a >= 5:
    a += 2
print(a)
x = 100
while x:
    x //= 3
print(x)
