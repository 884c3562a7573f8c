"""Baseline for the scrub benchmark (issue 6): the same job with a Python
set. Reads the registry (one national Italian number per line) into a set of
integers, then streams the list (id;name;phone), normalises each phone with a
plain digit rule (generous to Python: no libphonenumber, no validity check),
and writes kept rows and rejected rows. Prints: rows, seconds.

    python3 scrub_baseline.py REGISTRY.txt LIST.csv CLEAN.csv REJECTS.csv
"""
import sys
import time

registry_path, list_path, clean_path, rejects_path = sys.argv[1:5]
started = time.time()
with open(registry_path, "rb") as f:
    registry = {int(b"39" + line.strip()) for line in f if line.strip()}


def normalise(phone):
    digits = "".join(c for c in phone if c.isdigit())
    if phone.lstrip().startswith("+"):
        return int(digits) if digits.startswith("39") else None
    if digits.startswith("0039"):
        return int(digits[2:])
    return int("39" + digits) if 6 <= len(digits) <= 11 else None


rows = 0
with open(list_path, encoding="utf-8") as src, open(clean_path, "w") as clean, open(
    rejects_path, "w"
) as rejects:
    header = src.readline()
    clean.write(header)
    rejects.write(header.rstrip("\n") + ";reason\n")
    for line in src:
        rows += 1
        phone = line.rstrip("\n").split(";")[2]
        number = normalise(phone)
        if number is None:
            rejects.write(line.rstrip("\n") + ";invalid_number\n")
        elif number in registry:
            rejects.write(line.rstrip("\n") + ";on_registry\n")
        else:
            clean.write(line)
print(rows, round(time.time() - started, 3))
