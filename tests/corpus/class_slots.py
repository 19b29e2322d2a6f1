# __slots__: a fixed set of attributes and no __dict__; a subclass without
# __slots__ has a __dict__ again.
class P:
    __slots__ = ["x", "y"]

    def __init__(self, x):
        self.x = x

    def show(self):
        return [self.x, self.y]


class Q(P):
    def __init__(self, x):
        P.__init__(self, x)
        self.extra = "e"


p = P(1)
p.y = 2
print(p.show(), P.__slots__)
p.x = 10
del p.y
p.y = 20
print(p.show())
q = Q(3)
q.y = 4
print(q.show(), q.extra, q.__dict__)


class One:
    __slots__ = "only"


o = One()
o.only = "yes"
print(o.only)
try_names = ["x", "y"]
for n in try_names:
    print(n)
