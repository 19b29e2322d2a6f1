class Money:
    def __init__(self, n):
        self.n = n

    def __eq__(self, other):
        return self.n == other.n
