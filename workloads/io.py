# io.py -- the I/O-style thread of the convoy scenario.
#
# io(n, sleep_us) blocks n times in time.sleep (which gives the lock up, as a
# blocking system call does) and measures how late it is running again: the
# sleep's own overshoot plus the time spent waiting to get the lock back. It
# does a little work per wake-up, as a server handling a request would, and
# returns the lateness of every wake-up in microseconds.
#   gillab run workloads/io.py --entry io --arg 100 --arg 1000
import time


def io(n, sleep_us):
    samples = []
    for i in range(n):
        t0 = time.perf_counter()
        time.sleep(sleep_us / 1000000)
        late = time.perf_counter() - t0 - sleep_us / 1000000
        k = 0
        while k < 100:
            k += 1
        samples.append(int(late * 1000000))
    return samples


if __name__ == "__main__":
    s = io(20, 1000)
    print("io: 20 sleeps of 1000 us, worst lateness", max(s), "us")
