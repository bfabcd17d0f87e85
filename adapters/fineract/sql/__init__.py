"""The adapter's SQL, one module per group of tables (migrations/0001_fineract.sql)."""
