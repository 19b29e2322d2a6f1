# A binary search tree: recursive methods, None children, an in-order walk.
class Tree:
    def __init__(self, key):
        self.key = key
        self.left = None
        self.right = None

    def insert(self, key):
        if key < self.key:
            if self.left is None:
                self.left = Tree(key)
            else:
                self.left.insert(key)
        elif key > self.key:
            if self.right is None:
                self.right = Tree(key)
            else:
                self.right.insert(key)

    def walk(self, out):
        if self.left is not None:
            self.left.walk(out)
        out.append(self.key)
        if self.right is not None:
            self.right.walk(out)
        return out

    def height(self):
        hl = 0
        hr = 0
        if self.left is not None:
            hl = self.left.height()
        if self.right is not None:
            hr = self.right.height()
        return 1 + max(hl, hr)

    def __repr__(self):
        return "Tree(" + str(self.key) + ")"


root = Tree(50)
x = 7
for i in range(60):
    x = (x * 37 + 11) % 101
    root.insert(x)
print(root.walk([]))
print(root.height(), root, root.left, root.right)
