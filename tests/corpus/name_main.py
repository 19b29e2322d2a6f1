# __name__ is "__main__" when run directly.
def main():
    print("main ran", __name__)
    return 0
print(__name__)
if __name__ == "__main__":
    main()
else:
    print("imported")
