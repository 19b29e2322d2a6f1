# __repr__ and __str__: print uses __str__ and falls back to __repr__; reprs of
# lists use __repr__; str() and repr() call them.
class Vec:
    def __init__(self, x, y):
        self.x = x
        self.y = y

    def __repr__(self):
        return "Vec(" + repr(self.x) + ", " + repr(self.y) + ")"


class Named:
    def __init__(self, name):
        self.name = name

    def __str__(self):
        return "<" + self.name + ">"

    def __repr__(self):
        return "Named(" + repr(self.name) + ")"


class Both(Named):
    def __str__(self):
        return "both " + Named.__str__(self)


v = Vec(1, 2.5)
n = Named("n1")
print(v, n, Both("b"))
print([v, n, Both("b")])
print(str(n), repr(n), str(v), repr(v))
print("x" + str(Vec("a", [1, 2])))
nested = Vec(Vec(1, 2), Named("in"))
print(nested)
print(repr([[v], "s"]))
