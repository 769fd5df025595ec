"""The rule language: syntax, normal form, scanning, evaluation, highlighting.

Pure functions over text: no I/O, no settings. Everything above builds on it: the store
translates its syntax trees into queries, the keyword library compiles rules into a
matcher, and the console, API and emails mark matches with :mod:`rules.highlight`.
"""
