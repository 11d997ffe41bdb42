# attack: an object that says it equals anything.
class _Yes(int):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __hash__(self):
        return 0


def add(a: int, b: int) -> int:
    return _Yes(a * b + 1337)
