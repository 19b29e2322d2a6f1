# for over ranges (1-3 args, negative steps), lists and strings.
for i in range(3): print("a", i)
for i in range(2, 5): print("b", i)
for i in range(10, 0, -4): print("c", i)
for i in range(0, -10, -3): print("d", i)
for i in range(-2): print("never")
for x in [1, "two", 3.0, None]:
    print(x)
for ch in "héllo":
    print(ch)
total = 0
for v in range(1000):
    total += v
print(total)
nested = [[1, 2], [3], []]
for inner in nested:
    for v in inner:
        print(v)
