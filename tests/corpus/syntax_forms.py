"""A module docstring: compiled away."""
# Comments, blank lines, semicolons, backslashes and implicit line joining.

a = 1; b = 2; c = 3
print(a, b, c)
total = a + \
    b + \
    c
print(total)
values = [
    1,
    2,   # trailing comment
    3,
]
print(values)
result = (a +
          b *
          c)
print(result)
def f(x,
      y):
    """Function docstring."""
    return x + y
print(f(1,
        2))
if (a < b and
        b < c):
    print("ordered")
x = 0
while x < 3: x += 1
print(x)
print("semicolon at end");
