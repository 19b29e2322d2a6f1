x = None
print("before")
print(x.value)
