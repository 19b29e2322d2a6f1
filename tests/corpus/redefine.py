# Functions are values: redefined, rebound, called before and after.
def f():
    return 1
first = f
def f():
    return 2
print(first(), f())
def call_later():
    return helper() * 2
def helper():
    return 21
print(call_later())
def counter_factory_like(n):
    total = 0
    for i in range(n):
        total = total + i
    return total
results = []
for k in range(5):
    results.append(counter_factory_like(k))
print(results)
