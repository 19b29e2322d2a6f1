# Globals: read without declaration, write with global, shadowing locals.
counter = 0
name = "module"
def bump():
    global counter
    counter += 1
    return counter
def shadow():
    name = "local"
    return name
def reader():
    return counter * 10
def setter(v):
    global name, counter
    name = v
    counter = len(v)
bump()
bump()
print(counter, reader(), shadow(), name)
setter("xyz")
print(counter, name)
def uses_builtin_name():
    len = 3
    return len
print(uses_builtin_name(), len([1, 2]))
