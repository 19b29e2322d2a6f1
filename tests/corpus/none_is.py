# None, is / is not, functions returning None implicitly.
def f():
    return
def g():
    pass
r = f()
print(r, r is None, g() is None, r is not None)
x = None
if x is None:
    print("x is None")
x = 0
if x is not None:
    print("x is not None", x)
print(None == None, None != 0, None == 0)
items = [None, 1, None]
n = 0
for it in items:
    if it is None:
        n += 1
print(n)
