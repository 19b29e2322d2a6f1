# time.perf_counter is monotonic, time.sleep accepts ints and floats.
import time
t0 = time.perf_counter()
time.sleep(0)
time.sleep(0.001)
t1 = time.perf_counter()
print(t1 >= t0, t1 - t0 >= 0.001)
start = time.monotonic()
print(time.monotonic() >= start)
def timed(n):
    t = time.perf_counter()
    s = 0
    for i in range(n):
        s += i
    return time.perf_counter() - t >= 0
print(timed(1000))
import time as tm
print(tm.perf_counter() > 0)
