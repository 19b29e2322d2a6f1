# Classes made inside functions: a class body reading the function's local
# (a free variable of the class), methods closing over it, qualified names.
def make_class(tag, start):
    class Tagged:
        label = tag + "!"
        def __init__(self):
            self.n = start
        def bump(self):
            self.n += 1
            return tag + str(self.n)
    return Tagged


T = make_class("t", 5)
U = make_class("u", 0)
t1 = T()
t2 = T()
u = U()
print(t1.bump(), t1.bump(), t2.bump(), u.bump())
print(T.label, U.label, T.__qualname__, T.__name__)
print(T.bump.__qualname__, make_class.__name__)


class Outer:
    class Inner:
        def who(self):
            return "inner"
    def make(self):
        return Outer.Inner()


print(Outer().make().who(), Outer.Inner.__qualname__)


def shadow_in_class():
    x = "function x"
    class K:
        x = "class x"
        y = x
        def m(self):
            return x
    return [K.x, K.y, K().m()]


print(shadow_in_class())
