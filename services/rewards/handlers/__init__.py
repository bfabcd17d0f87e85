"""One module per input: load, decide (domain/), save (sql/), emit (the unit of work).

- members.py: loyalty.members.v1 -> the members projection (tier, closed).
- saga.py: loyalty.points.v1 -> points-paid redemptions settled (the saga's second half).
- redemptions.py: the partner API's POSTs and the app's requests.
- pruning.py: the periodic clean-up of nonces, codes and answered keys.
- timeouts.py: the job rejecting points-paid redemptions pending too long (`timed_out`).
"""
