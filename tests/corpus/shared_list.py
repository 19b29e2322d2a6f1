# Module-level shared list read and written by a function (like sharedlist.py).
shared = []
for i in range(16):
    shared.append(i)
def walk(n):
    s = 0
    for i in range(n):
        k = i % len(shared)
        v = shared[k]
        shared[k] = v + 1
        s += v
        if i % 7 == 0:
            shared.append(i)
    return s
print(walk(100), len(shared), shared[0], shared[-1])
