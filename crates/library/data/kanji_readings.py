#!/usr/bin/env python3
"""Builds kanji-readings.tsv: the on and kun readings of the kanji in everyday and name use.

Source: the Unicode Han Database (Unihan), fields kJapaneseOn and kJapaneseKun, for the
characters marked kJoyoKanji or kJinmeiyoKanji (the everyday-use and name-use lists, with the
traditional forms the name list admits). Debian ships it in the `unicode-data` package:

    apt-get install unicode-data
    python3 crates/library/data/kanji_readings.py > crates/library/data/kanji-readings.tsv

Unihan is © Unicode, Inc., distributed under the Unicode License v3 (permissive; the notice
is kept in the output's first line).
"""
import bz2
import sys

DIR = "/usr/share/unicode"


def fields(name):
    with bz2.open(f"{DIR}/{name}", "rt", encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            code, field, value = line.rstrip("\n").split("\t", 2)
            yield chr(int(code[2:], 16)), field, value


wanted = set()
for char, field, value in fields("Unihan_OtherMappings.txt.bz2"):
    if field in ("kJoyoKanji", "kJinmeiyoKanji"):
        wanted.add(char)
        for part in value.split():
            if ":" in part:
                wanted.add(chr(int(part.split(":")[1][2:], 16)))

on, kun = {}, {}
for char, field, value in fields("Unihan_Readings.txt.bz2"):
    if char in wanted and field == "kJapaneseOn":
        on[char] = value.lower().split()
    elif char in wanted and field == "kJapaneseKun":
        kun[char] = value.lower().split()

out = sys.stdout
out.write("# kanji\ton readings\tkun readings; from Unihan (c) Unicode, Inc., Unicode License v3\n")
for char in sorted(set(on) | set(kun)):
    out.write(f"{char}\t{' '.join(on.get(char, []))}\t{' '.join(kun.get(char, []))}\n")
