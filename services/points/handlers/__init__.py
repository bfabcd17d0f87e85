"""One module per input (consumed topic or job): load (sql/), decide (domain/), save
(sql/), emit (the unit of work). A consumer handler runs inside its batch's one
transaction (runtime.consumer)."""
