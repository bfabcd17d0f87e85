"""The fault suite (`scripts/chaos`, issue 13): the same seeded core-banking input run twice on
the real broker and database, each run in a world of its own (schemas, consumer groups,
topics and ports of its own), then the two end states compared.

    clean   no faults; the input in its natural order, each kind applied before the next
    chaos   kill -9 of every consumer service at random moments (restarted each time), an
            immediate stop of PostgreSQL and a kill -9 of the broker (both started again),
            the input delivered out of order across topics

Partner redemptions and lounge visits run in a second phase, once the input is applied, so
that their outcome depends on the final balances and tiers only; the kills go on during it.
Both runs happen one after the other on the same broker and database (the chaos run's
broker and database faults cannot touch the clean run).

    inputs.py       the seeded input, its natural phases and a disordered delivery
    delivery.py     publishing it to a world, and waiting until the world applied it all
    world.py        one world's processes (services, provider sandbox) and its cleanup
    kafka.py        offsets, lag and the event ids on a world's topics
    infra.py        the broker and database faults, through deploy/local/launcher.py
    faults.py       the fault plan and recovery times
    redemptions.py  partners, codes and redemptions, retried through faults
    state.py        a world's end state by business keys
    checks.py       the comparison and the checks of one world (exactly once, invariants,
                    reconciliation, provider sends)
    run.py          the two runs; report.py prints what happened
    sandbox.py      the provider sandbox, counting sends per message id
"""
