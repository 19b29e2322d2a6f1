def outer():
    y = 1
    def inner():
        return y
    del y
    return inner()


outer()
