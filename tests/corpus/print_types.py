# print of every type the subset has, with CPython's exact text.
print(1, -2, 0, True, False, None)
print(1.0, 0.1, -0.5, 1e-05, 1e16, 1e15, 123.456, 2.5e-310)
print("text", 'quoted')
print([1, 'a', "it's", 'say "x"', None, True, 1.5, [2, ['b']]])
print([])
print([[]])
print(['\n', '\t', '\\', "'", '"'])
print([1.0, -0.0, 100.0, 1e100])
print()
print("a", "b", 3)
v = 1
print(print is print, None is None, v is not None)
print(range(5), range(1, 10, 2))
