# repr of strings inside lists: quotes, escapes and non-ASCII as CPython.
print(['plain', "it's", 'say "x"', 'both \' and "', '\\', '\n\r\t', '\x00\x1f\x7f'])
print(['é', 'ü', '日本', '\u00a0', '\u200b', '😀', 'a\u2028b'])
print(["", " ", "'", '"'])
words = ["alpha", "beta"]
words.append("it's")
print(words, str(words), len(str(words)))
