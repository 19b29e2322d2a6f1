# The gc module as a pre-fork server uses it: the same output as python3's.
import gc
import gc as collector


class Row:
    def __init__(self, k):
        self.k = k
        self.cells = [k * 1000, str(k), k * 0.5]


print(gc.isenabled())
gc.disable()
print(gc.isenabled(), collector.isenabled())
gc.enable()
print(gc.isenabled())

data = []
for i in range(50):
    data.append(Row(i))
data.append(data)
print(gc.freeze())
data.append(Row(99))
data[0].cells.append([123456])
gc.freeze()
total = 0
for r in data:
    if r is data:
        continue
    total += r.k + len(r.cells)
print(total, len(data))
