# An instance's __dict__: insertion order, deletion, equality, iteration,
# and dicts in reprs.
class Rec:
    def __init__(self, a, b):
        self.a = a
        self.b = b


r = Rec(1, "two")
d = r.__dict__
print(d, len(d), d["a"], d == Rec(1, "two").__dict__, d == Rec(1, "2").__dict__)
d["c"] = [1, 2]
r.d = None
print(r.__dict__)
del r.a
r.a = 11
print(r.__dict__, list(r.__dict__))
keys = []
for k in r.__dict__:
    keys.append(k)
print(keys, bool(Rec(0, 0).__dict__), r.__dict__ != d)
r.inner = Rec(3, 4).__dict__
print(r.__dict__)
r.self_dict = r.__dict__
print(r.__dict__)
