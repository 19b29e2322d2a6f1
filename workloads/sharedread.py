# sharedread.py -- threads that share data they only read: reference counts alone.
#
# A module-level table (ROWS lists of COLS ints each) is built once, at import,
# and never written again. walk(n) reads n of its items and sums them, so every
# step increments and decrements the reference counts of objects all threads
# share -- the table, a row, an item -- while no thread writes any of them.
# Under a GIL that costs nothing more than in one thread. Without one it is the
# price of reference counting by itself, with no container lock (gillab reads
# lists without locking, as CPython 3.13t does): atomic counts make each shared
# object's count a cache line bouncing between cores; biased counts do too,
# since no worker owns what the module made; objects made immortal when the
# workers start (immortal_at_start=on) are never written at all. The result is
# the same in every thread and under python3:
#   gillab run workloads/sharedread.py --entry walk --arg 100000 --threads 2
# (sharedread(n) is the same function under the file's name.)

ROWS = 64
COLS = 16

table = []
for r in range(ROWS):
    row = []
    for c in range(COLS):
        # 1000 + ...: ints outside the shared small-int range, so they are counted
        row.append(1000 + r * COLS + c)
    table.append(row)


def walk(n):
    total = 0
    for i in range(n):
        row = table[i % ROWS]
        total += row[i % COLS]
    return total


def sharedread(n):
    return walk(n)


if __name__ == "__main__":
    print("walk(100000) =", walk(100000), "rows", len(table), "cols", len(table[0]))
