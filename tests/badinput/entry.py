def count(n):
    while n > 0:
        n -= 1
