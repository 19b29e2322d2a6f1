# del: names, globals, locals, list items, attributes, dict entries; a
# deleted global that shadowed a builtin lets the builtin show again.
x = 1
y = [10, 20, 30, 40]
del y[1]
print(y)
del y[-1], y[0]
print(y)
del x
x = "again"
print(x)


def local_del():
    a = 5
    b = a * 2
    del a
    a = b + 1
    return a


print(local_del())
counter = 3


def global_del():
    global counter
    del counter
    counter = "new"


global_del()
print(counter)


class Box:
    pass


b = Box()
b.p = 1
b.q = 2
b.r = 3
del b.q
print(b.__dict__)
b.q = 4
print(b.__dict__)
d = b.__dict__
del d["p"]
d["s"] = 5
print(b.__dict__, b.s, len(d))
for k in d:
    print(k, d[k])
len = lambda_free = 7
print(len)
del len
print(len(y), len("abc"))
