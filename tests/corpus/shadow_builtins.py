# Shadowing builtins: a global named len hides the builtin in every function
# that reads len as a global, until it is deleted; a local only in its function.
def use_len(s):
    return len(s)


print(use_len("four"))
len = lambda_like = None


def my_len(s):
    n = 0
    for c in s:
        n += 1
    return n * 10


len = my_len
print(use_len("four"), len([1, 2]))
del len
print(use_len("four"))


def local_shadow():
    len = 99
    return len


print(local_shadow(), len("xy"))
str = "not a function"
print(str)
del str
print(str(12) + "!")


def global_shadow():
    global max
    max = min
    return max(3, 8)


print(global_shadow(), max(3, 8))
del max
print(max(3, 8))
