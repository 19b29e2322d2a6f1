# count.py -- Beazley's countdown: the CPU-bound loop of the GIL literature.
#
# count(n) spends all its time in the eval loop (a compare, a subtract, a jump
# per iteration) and never blocks, so two threads running it show exactly what
# the lock costs. The lab calls count(N) in each thread:
#   gillab run workloads/count.py --entry count --arg 10000000 --threads 2
# and `python3 workloads/count.py` runs it once under CPython.
import time


def count(n):
    while n > 0:
        n -= 1


if __name__ == "__main__":
    n = 10000000
    t0 = time.perf_counter()
    count(n)
    print("count", n, "took", time.perf_counter() - t0, "s")
