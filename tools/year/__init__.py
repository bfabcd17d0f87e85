"""A simulated year of messages (issue 16): a few sample members drawn from the simulator's
population and spending model live a year through the real services (accounts, points,
rewards, notifications) on the real broker and database, with the notifications clock moved
through the year; what the provider sandbox received is printed per member, with the
checks that hold over all of it (none at night, none twice, no marketing without consent).

    cast.py     the sample members and their year (assets, card spend, redemptions, a salon,
                a stop reply)
    world.py    the four services and the sandbox in this process, under private names
    run.py      the year, tick by tick: inputs, settling, the jobs, the sender
    report.py   the messages per member, the counts and the checks, as text or Markdown
    programme.py  the programme's year for analytics (issue 18): a population with
                trajectories through the services and analytics, December's report and
                its screenshot

`python -m tools.year --help` (scripts/year-of-messages) runs it;
`python -m tools.year.programme --help` the programme's year.
"""
