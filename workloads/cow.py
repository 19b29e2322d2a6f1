# cow.py -- copy-on-write after fork: a parent builds, forked workers only read.
#
# The fork scenario calls build(mb) in the parent, then forks workers that each
# call walk(): every element of the structure is read once, which writes
# nothing a program can see. Whether the reads write the memory they read is
# the experiment: under reference counts each read writes the object's count,
# and the kernel copies the page it lives on into the worker.
#
#     gillab run workloads/cow.py --scenario fork --setup build --arg 100 \
#         --entry walk --workers 2 --refcount-policy immortal
#     python3 workloads/peers/peer.py workloads/cow.py --scenario fork \
#         --setup build --arg 100 --entry walk --workers 2 --gc-freeze
#
# The structure is a list of rows, each a list of twelve small objects: four
# strings of 40 characters, four ints and four floats, every one distinct, made
# in order so that they lie side by side in memory (a page holds dozens of
# them). Strings long enough to span pages would leave most of their bytes
# unread by a count; rows of a dozen items keep the rows' item arrays, which a
# walk reads but never writes, a small part of the whole. build(mb) makes
# about mb megabytes of objects in gillab (about 1.4 times that in CPython 3,
# whose objects are bigger); the fork scenario's heap_kb column says exactly.

PAD = "abcdefghijklmnopqrstuvwxyz0123456789-"
ROW_BYTES = 770   # what one row takes in gillab, item array and malloc's headers included

data = []


def build(mb):
    global data
    rows = []
    k = 1000
    for i in range(mb * 1024 * 1024 // ROW_BYTES):
        rows.append([PAD + str(k), k, k * 0.5, PAD + str(k + 1), k + 1, (k + 1) * 0.5,
                     PAD + str(k + 2), k + 2, (k + 2) * 0.5, PAD + str(k + 3), k + 3,
                     (k + 3) * 0.5])
        k += 4
    data = rows
    return len(rows)


def walk():
    seen = 0
    for row in data:
        for x in row:
            seen += 1
    return seen


if __name__ == "__main__":
    print(build(1), walk())
