# int(), float(), str(), bool() and abs() conversions.
print(int("42"), int("  -17 "), int("1_000"), int(True), int(-2.9), int())
print(float("2.5"), float(" -1e3 "), float(7), float("inf"), float("-0.0"), float())
print(str(3), str(-0.5), str([1, "a"]), str(None), str(True), str("x"), str())
print(bool(0), bool(3), bool(""), bool("0"), bool([]), bool(None), bool())
print(abs(-3), abs(3), abs(-0.25), abs(True))
print(int(str(12345) + "6") + 1)
print(str(1e22), str(1.5e-7), str(12345678.9))
