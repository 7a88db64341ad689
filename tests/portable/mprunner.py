# Runs the test_* functions of the portable test modules named on the command line under
# MicroPython (pytest collects the same modules on CPython); module.test_name runs that test
# alone. Prints one line per test and closes with "N passed, N failed, N skipped"; exits 1 when
# a test failed.
import sys


def run(module_name, only=None):
    mod = __import__(module_name)
    passed = failed = skipped = 0
    names = [only] if only else sorted(n for n in dir(mod) if n.startswith("test_"))
    for name in names:
        fn = getattr(mod, name)
        try:
            fn()
        except Exception as e:
            if type(e).__name__ == "Skipped":
                skipped += 1
                print("SKIP %s.%s: %s" % (module_name, name, e))
                continue
            failed += 1
            print("FAIL %s.%s" % (module_name, name))
            sys.print_exception(e)
        else:
            passed += 1
            print("PASS %s.%s" % (module_name, name))
    return passed, failed, skipped


def main():
    totals = [0, 0, 0]
    for arg in sys.argv[1:]:
        module_name, _, only = arg.partition(".")
        for i, n in enumerate(run(module_name, only)):
            totals[i] += n
    print("%d passed, %d failed, %d skipped" % tuple(totals))
    sys.exit(1 if totals[1] else 0)


main()
