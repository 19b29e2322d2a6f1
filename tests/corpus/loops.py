# while and for with break, continue and else clauses.
total = 0
for i in range(20):
    if i % 2 == 0:
        continue
    if i > 15:
        break
    total += i
print(total)
n = 0
while True:
    n += 1
    if n == 7:
        break
print(n)
for i in range(3):
    pass
else:
    print("for else ran", i)
for i in range(5):
    if i == 2:
        break
else:
    print("not printed")
k = 0
while k < 3:
    k += 1
else:
    print("while else", k)
for i in range(10, 0, -3):
    print(i)
for i in range(5, 5):
    print("never")
for i in range(-3, 3, 2):
    print(i)
for i in range(3):
    for j in range(3):
        if j == 1:
            break
        print(i, j)
