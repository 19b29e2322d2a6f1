# A runtime error after output: a name read after del.
items = [1, 2, 3]
print(len(items))
del items
print("deleted")
print(items)
