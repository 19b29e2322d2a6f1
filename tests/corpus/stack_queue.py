# Classes wrapping lists: a stack and a queue, with methods returning self for
# chaining and a size that is kept up to date.
class Stack:
    def __init__(self):
        self.items = []

    def push(self, x):
        self.items.append(x)
        return self

    def pop(self):
        return self.items.pop()

    def size(self):
        return len(self.items)


class Queue(Stack):
    def __init__(self):
        Stack.__init__(self)
        self.head = 0

    def pop(self):
        x = self.items[self.head]
        self.head += 1
        return x

    def size(self):
        return len(self.items) - self.head


def drain(c):
    out = []
    while c.size() > 0:
        out.append(c.pop())
    return out


s = Stack().push(1).push(2).push(3)
q = Queue().push(1).push(2).push(3)
print(s.size(), q.size(), drain(s), drain(q), s.size(), q.size())
