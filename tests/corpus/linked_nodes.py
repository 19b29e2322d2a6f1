# A long chain of objects (each holding the next) is built, walked and dropped:
# freeing it must not recurse once per node.
class Node:
    __slots__ = ["value", "next"]

    def __init__(self, value, next):
        self.value = value
        self.next = next


class Cell:
    def __init__(self, value, next):
        self.value = value
        self.next = next


def build(cls, n):
    head = None
    for i in range(n):
        head = cls(i, head)
    return head


def total(head):
    s = 0
    count = 0
    while head is not None:
        s += head.value
        count += 1
        head = head.next
    return [s, count]


a = build(Node, 200000)
print(total(a))
a = None
b = build(Cell, 200000)
print(total(b))
b = build(Cell, 3)
print(total(b))
