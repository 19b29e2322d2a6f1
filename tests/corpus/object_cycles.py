# Reference cycles through instance attributes, class attributes and
# closures: all of them are freed when the program ends.
class Peer:
    def __init__(self, name):
        self.name = name
        self.friend = None


a = Peer("a")
b = Peer("b")
a.friend = b
b.friend = a
a.me = a
print(a.friend.friend.name, a.me.me.name)


class Registry:
    instances = []

    def __init__(self):
        Registry.instances.append(self)
        self.reg = Registry


r1 = Registry()
r2 = Registry()
print(len(Registry.instances), r1.reg.instances[1] is r2)


def self_ref():
    def again(n):
        if n == 0:
            return "done"
        return again(n - 1)
    return again


f = self_ref()
print(f(5))
holder = []
holder.append(holder)
obj = Peer("x")
obj.box = [obj, holder]
print(len(obj.box), obj.box[0].name)
