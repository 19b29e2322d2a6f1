# nonlocal: a counter and an accumulator that rebind their enclosing
# function's variables, across two levels of nesting.
def counter(start):
    count = start
    def step(by):
        nonlocal count
        count += by
        return count
    def reset():
        nonlocal count
        count = start
    def get():
        return count
    return [step, reset, get]



fns = counter(10)
step = fns[0]
reset = fns[1]
get = fns[2]
print(step(1), step(5), get())
reset()
print(get(), step(2))


def two_levels():
    total = 0
    def level1(xs):
        def level2(x):
            nonlocal total
            total += x
            return total
        for x in xs:
            level2(x)
        return total
    level1([1, 2, 3])
    level1([10])
    return total


print(two_levels())


def shadowing():
    v = "outer"
    def inner():
        v = "inner"
        return v
    def rebinder():
        nonlocal v
        v = "rebound"
    r = inner()
    rebinder()
    return [r, v]


print(shadowing())
