"""Baseline for the lead-list import benchmark (issue 5): the same
normalisation in Python with the `phonenumbers` package (parse with region
IT, keep valid numbers, format E.164; lower-case e-mail), inserting into
SQLite in one transaction. Prints one line: rows, seconds, rows/s. Then
writes DB.e164 (one line per input row, empty when invalid), outside the
timing, for the benchmark's agreement check.

    pip install phonenumbers
    python3 import_baseline.py FILE.csv DB.sqlite
"""
import csv
import sqlite3
import sys
import time

import phonenumbers

source, database = sys.argv[1], sys.argv[2]
started = time.time()
con = sqlite3.connect(database)
con.execute("PRAGMA journal_mode=WAL")
con.execute("PRAGMA synchronous=FULL")
con.execute("CREATE TABLE leads (name TEXT, phone TEXT, email TEXT, iban TEXT)")
rows = []
rejected = 0
normalised = []
with open(source, newline="", encoding="utf-8-sig") as f:
    reader = csv.reader(f, delimiter=";")
    next(reader)
    for name, phone, email, iban in reader:
        try:
            number = phonenumbers.parse(phone, "IT")
        except phonenumbers.NumberParseException:
            rejected += 1
            normalised.append("")
            continue
        if not phonenumbers.is_valid_number(number):
            rejected += 1
            normalised.append("")
            continue
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        normalised.append(e164)
        rows.append((name.strip(), e164, email.strip().lower(), iban))
with con:
    con.executemany("INSERT INTO leads VALUES (?, ?, ?, ?)", rows)
elapsed = time.time() - started
total = len(rows) + rejected
print(f"{total} {elapsed:.3f} {total / elapsed:.0f}")
with open(database + ".e164", "w") as out:
    out.write("\n".join(normalised) + "\n")
