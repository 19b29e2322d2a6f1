total = 10
print(total)
del total
print(total)
