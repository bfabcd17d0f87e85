"""Batch handlers, one per input topic: events in, pure rules (domain/), set-wise writes
(sql/), events out. Each runs inside its batch's one transaction (runtime.consumer)."""
