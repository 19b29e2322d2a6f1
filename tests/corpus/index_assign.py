# Index assignment, negative indexes and augmented assignment on items.
a = [10, 20, 30, 40]
a[0] = 1
a[-1] = 4
a[1] += 5
a[-2] -= 7
print(a)
counts = [0] * 5
for i in range(20):
    counts[i % 5] += i
print(counts)
m = [[0, 0], [0, 0]]
m[1][0] = 5
m[0][-1] *= 3
m[-1][-1] += 2
print(m)
print(a[-4], a[3], a[-1] * a[0])
s = "hello"
print(s[0], s[-1], s[1])
x = [5, 6, 7]
i = 0
x[i] = x[i] + x[i + 1]
print(x)
x[0] //= 2
x[1] %= 4
print(x)
