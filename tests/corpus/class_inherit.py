# Single inheritance: overriding, calling the base class's method through the
# class, attribute lookup along the chain, and isinstance.
class Shape:
    sides = 0

    def __init__(self, name):
        self.name = name

    def describe(self):
        return self.name + " with " + str(self.sides) + " sides, area " + str(self.area())

    def area(self):
        return 0


class Rect(Shape):
    sides = 4

    def __init__(self, w, h):
        Shape.__init__(self, "rect")
        self.w = w
        self.h = h

    def area(self):
        return self.w * self.h


class Square(Rect):
    def __init__(self, s):
        Rect.__init__(self, s, s)
        self.name = "square"


class Tri(Shape):
    sides = 3

    def area(self):
        return 1.5


shapes = [Shape("blob"), Rect(2, 3), Square(4), Tri("tri")]
for s in shapes:
    print(s.describe())
sq = shapes[2]
print(isinstance(sq, Square), isinstance(sq, Rect), isinstance(sq, Shape), isinstance(sq, Tri))
print(isinstance(sq, object), isinstance(3, object), isinstance(True, int), isinstance(3, bool))
print(isinstance("s", str), isinstance(1.5, float), isinstance([], list), isinstance(sq, int))
print(Square.sides, Square.__name__, Rect.area(sq), Shape.area(sq))


class Base(object):
    pass


class Leaf(Base):
    pass


print(isinstance(Leaf(), Base), isinstance(Base(), Leaf))
