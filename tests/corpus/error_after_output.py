# Output before a runtime error is kept; the exit status is 1 in both.
def divide(a, b):
    return a // b
print("before")
print(divide(10, 3))
print(divide(1, 0))
print("never")
