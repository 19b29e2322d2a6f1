# convoy.py -- a CPU-bound thread beside an I/O-style thread: the convoy effect.
#
# io(n, sleep_us) stands for a thread serving requests: it blocks n times (a
# sleep, which releases the lock as a real blocking call does), and records for
# each wake-up how late it got going again, in microseconds. Lateness is the
# time it waited for the lock after the sleep ended (plus the OS's own wake-up
# delay). Beside cpu(), under Python 3's switch-interval lock, each wake-up costs
# about one interval (5 ms): the convoy effect (bpo-7946).
#
# cpu(limit) counts until io() is done (or until limit, so it always ends).
#
# The lab runs them with:
#   gillab run workloads/convoy.py --scenario convoy --entry cpu --arg 100000000 \
#       --io-entry io --io-arg 50 --io-arg 1000
# and workloads/peers/peer.py runs the same pair under CPython's threads.
import time

done = False


def io(n, sleep_us):
    global done
    lateness = []
    for i in range(n):
        t0 = time.perf_counter()
        time.sleep(sleep_us / 1000000)
        late = int((time.perf_counter() - t0) * 1000000) - sleep_us
        lateness.append(late)
        # a little work per request, as a server would do
        k = 0
        while k < 200:
            k += 1
    done = True
    return lateness


def cpu(limit):
    n = 0
    while not done and n < limit:
        n += 1
    return n


def percentile(sorted_values, p):
    k = (len(sorted_values) * p + 99) // 100
    if k < 1:
        k = 1
    return sorted_values[k - 1]


def sort_ints(values):
    out = []
    for j in range(len(values)):
        v = values[j]
        i = len(out)
        out.append(v)
        while i > 0 and out[i - 1] > v:
            out[i] = out[i - 1]
            i -= 1
        out[i] = v
    return out


if __name__ == "__main__":
    # Run as a program (python3 or gillab run), the I/O loop runs alone: its
    # lateness is then only the OS's own wake-up delay, the baseline the convoy
    # is measured against. The convoy itself needs a CPU thread beside it, which
    # the lab starts: gillab run ... --scenario convoy (above), or
    # workloads/peers/peer.py workloads/convoy.py --scenario convoy ... for CPython.
    n = 50
    sleep_us = 1000
    s = sort_ints(io(n, sleep_us))
    print("io alone:", len(s), "wake-ups of", sleep_us, "us; lateness p50", percentile(s, 50),
          "us, p90", percentile(s, 90), "us, max", s[len(s) - 1], "us")
