# Methods as values: bound to their instance, stored, passed, called later;
# functions looked up on the class are plain functions.
class Greeter:
    def __init__(self, word):
        self.word = word

    def greet(self, name):
        return self.word + ", " + name


g1 = Greeter("hello")
g2 = Greeter("hi")
calls = [g1.greet, g2.greet, g1.greet]
out = []
for c in calls:
    out.append(c("bob"))
print(out)


def apply(f, arg):
    return f(arg)


print(apply(g2.greet, "ann"), apply(Greeter("yo").greet, "cy"))
unbound = Greeter.greet
print(unbound(g1, "dan"), Greeter.greet(g2, "eve"))
m = g1.greet
g1.word = "changed"
print(m("fay"), m.__name__)


class Counter:
    def __init__(self):
        self.n = 0
        self.inc = self.make_inc()

    def make_inc(self):
        def inc():
            self.n += 1
            return self.n
        return inc


c = Counter()
c.inc()
c.inc()
print(c.n, c.inc())
