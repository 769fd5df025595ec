"""Discovery: what the keyword library does not know yet.

Over the items of the watched regions it finds terms whose document frequency burst in
the last window against a baseline (:mod:`.terms`), near-duplicate clusters that grew
fast but matched no rule (:mod:`.clusters`), turns both into keyword suggestions with a
backtest preview (:mod:`.suggest`), and reports each rule's health (:mod:`.health`).
:mod:`.run` ties them into one report; accepting or dismissing a suggestion are
operations in :mod:`.operations`.
"""
