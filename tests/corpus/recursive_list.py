# A list that contains itself prints as [...], as in CPython.
a = [1]
a.append(a)
print(a)
b = [a, [a]]
print(b)
c = []
c.append(c)
c.append(c)
print(c, len(c))
a.pop()
c.pop()
c.pop()
print(a, c)
