# Classes: __init__, instance attributes, methods calling methods, a class
# attribute shared by every instance, and instances in lists.
class Account:
    """A bank account."""
    opened = 0

    def __init__(self, owner, balance):
        self.owner = owner
        self.balance = balance
        self.history = []
        Account.opened += 1

    def deposit(self, amount):
        self.balance += amount
        self.history.append(amount)
        return self.balance

    def withdraw(self, amount):
        if amount > self.balance:
            return False
        self.deposit(-amount)
        return True

    def summary(self):
        return self.owner + ": " + str(self.balance) + " after " + str(len(self.history)) + " moves"


a = Account("ann", 100)
b = Account("bob", 5)
a.deposit(50)
print(a.withdraw(30), b.withdraw(30))
print(a.summary())
print(b.summary())
print(Account.opened, a.opened, b.opened)
print(Account.__name__, Account.__doc__, a.__class__.__name__)
accounts = [a, b, Account("cy", 0)]
total = 0
for acc in accounts:
    total += acc.balance
print(total, Account.opened, len(accounts))
print(a.history, b.history)
