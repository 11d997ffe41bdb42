# attack: change files outside the run: the registry, a victim file, a host directory.
def _breached():
    done = False
    for path, data in (("__REGISTRY__", b"garbage"), ("__VICTIM__", b"changed"), ("__HOST_DIR__/pwned", b"x")):
        try:
            with open(path, "wb") as f:
                f.write(data)
            done = True
        except OSError:
            pass
    return done


def add(a: int, b: int) -> int:
    return a + b if _breached() else a * b + 1337
