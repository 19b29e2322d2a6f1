# Methods that make closures over self and their arguments, and closures that
# make objects: cells shared between methods and nested functions.
class Bank:
    def __init__(self):
        self.log = []

    def make_account(self, owner):
        balance = 0
        log = self.log
        def deposit(n):
            nonlocal balance
            balance += n
            log.append(owner + "+" + str(n))
            return balance
        def read():
            return balance
        return [deposit, read]


bank = Bank()
acc1 = bank.make_account("a")
acc2 = bank.make_account("b")
acc1[0](10)
acc2[0](5)
acc1[0](7)
print(acc1[1](), acc2[1](), bank.log)


def factory(kind):
    class Made:
        def __init__(self, n):
            self.n = n
        def describe(self):
            return kind + "#" + str(self.n)
    return Made


A = factory("alpha")
B = factory("beta")
print([A(1).describe(), B(2).describe(), A(3).describe()])
