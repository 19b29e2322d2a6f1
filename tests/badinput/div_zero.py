def f():
    return 10 // 0
print(f())
