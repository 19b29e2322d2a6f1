# Deeply nested blocks (well inside the nesting limit).
def deep(x):
    if x > 0:
        if x > 1:
            if x > 2:
                if x > 3:
                    if x > 4:
                        if x > 5:
                            if x > 6:
                                if x > 7:
                                    for i in range(1):
                                        while True:
                                            if x > 8:
                                                return "deep"
                                            break
                                    return "eight"
    return "shallow"
print(deep(9), deep(8), deep(0))
v = ((((((((((1 + 2))))))))))
print(v, -(-(-(-(-v)))), not not not not v)
