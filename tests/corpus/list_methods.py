# list.append, pop, insert, extend and len/min/max on lists.
a = []
for i in range(5):
    a.append(i * i)
print(a, len(a))
print(a.pop(), a.pop(0), a)
a.insert(0, "first")
a.insert(-1, "before last")
a.insert(100, "end")
print(a)
a.extend([7, 8])
a.extend(range(2))
print(a, len(a))
b = [3, 1, 2]
print(min(b), max(b), min(5, 2, 8), max("a", "b"))
c = [1, 2, 3]
app = c.append
app(4)
print(c)
stack = []
stack.append(1)
stack.append(2)
print(stack.pop() + stack.pop(), stack)
print(len([[], []]), len("abc"), len(range(10)), len(range(10, 0, -3)))
empty = []
empty += empty
b.extend(empty)
empty.extend([])
print(empty, b, empty + empty, empty * 3)
