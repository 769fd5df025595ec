"""Where and how bad: place recognition against China's administrative divisions and a
negative-first sentiment score, both with their evidence (pure: no storage, no network)."""
