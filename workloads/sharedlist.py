# sharedlist.py -- refcount traffic on objects every thread shares.
#
# A module-level list is built once, at import. walk(n) reads its items,
# stores them back (index assignment) and now and then appends and pops, so
# every step increments and decrements the reference counts of objects other
# threads touch at the same time -- what a GIL makes safe for free, and what a
# lock-free interpreter must pay for (atomic counts, per-object locks). The
# values in the first SIZE slots never change, so the result is the same in
# every thread and under python3:
#   gillab run workloads/sharedlist.py --entry walk --arg 100000 --threads 2
# (sharedlist(n) is the same function under the file's name.)

SIZE = 64

shared = []
for i in range(SIZE):
    # 1000 + i: ints outside the shared small-int range, so they are counted
    shared.append(1000 + i)


def walk(n):
    total = 0
    for i in range(n):
        k = i % SIZE
        v = shared[k]
        shared[k] = v
        total += v
        if i % 8 == 0:
            shared.append(v)
            shared.pop()
    return total


def sharedlist(n):
    return walk(n)


if __name__ == "__main__":
    print("walk(100000) =", walk(100000), "list length", len(shared))
