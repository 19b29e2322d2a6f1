# Nested lists: build, index, print, mutate through aliases.
grid = []
for i in range(3):
    row = []
    for j in range(4):
        row.append(i * j)
    grid.append(row)
print(grid)
print(grid[1][2], grid[-1][-1], len(grid), len(grid[0]))
alias = grid[0]
alias[0] = "changed"
print(grid[0])
deep = [[[1, 2], [3]], [], [[[]]]]
print(deep, len(deep[2][0]))
a = [1, 2]
b = [a, a]
a.append(3)
print(b)
print([[], [[]], [[], [[]]]])
c = [0] * 3
d = [c] * 2
c[1] = 9
print(d)
print([1, 2] + [3], [1, 2] * 2, 2 * [0])
e = [1]
e += [2, 3]
e *= 2
print(e)
