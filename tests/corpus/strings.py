# String literals, escapes, concatenation, equality and printing.
a = 'single'
b = "double"
c = a + " " + b
print(c)
print(c == "single double", c != "x", "a" < "b", "abc" < "abd", "Z" < "a")
print('it\'s', "say \"hi\"", 'tab\tend', "back\\slash")
print("multi" "part" 'concat')
print(len("hello"), len(""), len("héllo"))
print(str(42) + str(-3) + str(True) + str(None) + str(1.5))
s = ""
for i in range(5):
    s = s + str(i)
print(s)
print("x" * 3, 2 * "ab")
print('''triple
quoted''')
print("\x41\u00e9\101")
print(r"raw\n" + "!")
print("é" == "\u00e9", "caf" + "é")
