"""A small service for proving the message path on the real broker and database: it sums
card spend per customer, publishes one PointsEarned per purchase, rejects purchases over
a limit (domain rejection) and fails on merchant "BOOM" (a handler bug)."""
