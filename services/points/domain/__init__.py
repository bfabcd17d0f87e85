"""Pure domain code: no I/O, no awaits, no runtime imports. The aggregates (MemberLedger,
Accrual, Refundable, DebitBook) record what they change for the SQL layer to write and
return what they decided for the handlers to publish."""
