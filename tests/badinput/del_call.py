def f():
    del f()
