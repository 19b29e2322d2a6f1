x = 7
y = x % (x - 7)
